//! The `mysql_native_password` hash, computed by the client so that the
//! password itself never reaches the server (nor its general log).

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};

/// `*` and the upper-case hex of SHA1(SHA1(password)): what MySQL's
/// `PASSWORD()` returned and what `mysql.user` stores for such accounts.
pub fn native_hash(password: &str) -> String {
    let once = digest(&SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let twice = digest(&SHA1_FOR_LEGACY_USE_ONLY, once.as_ref());
    let mut out = String::with_capacity(41);
    out.push('*');
    for b in twice.as_ref() {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::native_hash;

    #[test]
    fn the_hash_is_mysqls() {
        // SELECT PASSWORD('password') on MySQL 5.7 / MariaDB.
        assert_eq!(native_hash("password"), "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
        assert_eq!(native_hash(""), "*BE1BDEC0AA74B4DCB079943E70528096CCA985F8");
    }
}
