//! Credentials that exist at apply time only: the tenant's database
//! password, supplied write-only or generated, and never printed.

/// What exists at apply time only and must never be in a plan or state.
#[derive(Debug, Default, Clone)]
pub struct ApplyInputs {
    /// A user-supplied database password (`db_password_wo`); generated when
    /// `None`.
    pub db_password: Option<DbPassword>,
}

/// A password that never prints: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct DbPassword(String);

impl DbPassword {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        DbPassword(password.into())
    }

    /// The password itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DbPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbPassword(<redacted>)")
    }
}

impl std::fmt::Display for DbPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A database password from the OS CSPRNG: 32 characters, letters and
/// digits only, so it survives every quoting layer unchanged.
pub fn generate_password() -> String {
    use rand::{Rng, TryRngCore};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
