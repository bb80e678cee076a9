//! RSA-OAEP (SHA-1, MGF1-SHA-1, no label) encryption with a server's
//! public key: what `caching_sha2_password` full authentication asks of a
//! client without TLS (the server decrypts with OpenSSL's
//! `RSA_PKCS1_OAEP_PADDING`). Encryption with a public key only: no secret
//! of ours goes through this arithmetic, so it need not be constant-time.

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY as SHA1, digest};

/// An RSA public key: modulus and exponent, little-endian 32-bit limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    n: Vec<u32>,
    e: Vec<u32>,
    /// Modulus length in bytes.
    k: usize,
}

const HASH_LEN: usize = 20;

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY`
    /// (PKCS #1), as MySQL sends them.
    pub fn from_pem(pem: &[u8]) -> Result<PublicKey, String> {
        use base64::Engine as _;
        let text = std::str::from_utf8(pem).map_err(|_| "the server's RSA key is not PEM text".to_owned())?;
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("the server's RSA key is not base64: {e}"))?;
        Self::from_der(&der).ok_or_else(|| "the server's RSA key is not an RSA public key".to_owned())
    }

    fn from_der(der: &[u8]) -> Option<PublicKey> {
        let (tag, outer, _) = der_next(der)?;
        if tag != 0x30 {
            return None;
        }
        let (tag, first, rest) = der_next(outer)?;
        let rsa_key = match tag {
            // PKCS #1: SEQUENCE { n, e }
            0x02 => outer,
            // SPKI: SEQUENCE { AlgorithmIdentifier, BIT STRING { PKCS #1 } }
            0x30 => {
                const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
                let (oid_tag, oid, _) = der_next(first)?;
                if oid_tag != 0x06 || oid != RSA_ENCRYPTION {
                    return None;
                }
                let (bits_tag, bits, _) = der_next(rest)?;
                let (&unused, key) = bits.split_first()?;
                if bits_tag != 0x03 || unused != 0 {
                    return None;
                }
                let (tag, inner, _) = der_next(key)?;
                if tag != 0x30 {
                    return None;
                }
                inner
            }
            _ => return None,
        };
        let (tag, n, rest) = der_next(rsa_key)?;
        let (tag_e, e, _) = der_next(rest)?;
        if tag != 0x02 || tag_e != 0x02 {
            return None;
        }
        let n = trim_zeros(n);
        let k = n.len();
        if k < 2 * HASH_LEN + 2 + 1 {
            return None;
        }
        Some(PublicKey {
            n: limbs(n),
            e: limbs(trim_zeros(e)),
            k,
        })
    }

    /// `message` encrypted: `k` bytes, big-endian.
    pub fn encrypt_oaep_sha1(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let k = self.k;
        if message.len() > k - 2 * HASH_LEN - 2 {
            return Err("the password is too long for the server's RSA key".to_owned());
        }
        // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS || 0x01 || M
        let mut db = Vec::with_capacity(k - HASH_LEN - 1);
        db.extend_from_slice(digest(&SHA1, b"").as_ref());
        db.resize(k - message.len() - HASH_LEN - 2, 0);
        db.push(1);
        db.extend_from_slice(message);
        let seed: [u8; HASH_LEN] = rand::random();
        xor_into(&mut db, &mgf1(&seed, k - HASH_LEN - 1));
        let mut masked_seed = seed.to_vec();
        xor_into(&mut masked_seed, &mgf1(&db, HASH_LEN));
        let mut em = Vec::with_capacity(k);
        em.push(0);
        em.extend_from_slice(&masked_seed);
        em.extend_from_slice(&db);
        let c = mod_pow(&limbs(&em), &self.e, &self.n);
        Ok(to_be_bytes(&c, k))
    }
}

/// `(tag, content, rest)` of the DER element at the start of `der`.
fn der_next(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn trim_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, tail @ ..] = bytes {
        bytes = tail;
    }
    bytes
}

fn xor_into(target: &mut [u8], mask: &[u8]) {
    for (t, m) in target.iter_mut().zip(mask) {
        *t ^= m;
    }
}

fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + HASH_LEN);
    let mut counter = 0u32;
    while out.len() < len {
        out.extend_from_slice(digest(&SHA1, &[seed, &counter.to_be_bytes()].concat()).as_ref());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Big-endian bytes to little-endian limbs.
fn limbs(bytes: &[u8]) -> Vec<u32> {
    let mut out: Vec<u32> = bytes
        .rchunks(4)
        .map(|c| c.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
        .collect();
    normalize(&mut out);
    out
}

fn to_be_bytes(x: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, limb) in x.iter().enumerate() {
        for (j, b) in limb.to_le_bytes().iter().enumerate() {
            let at = i * 4 + j;
            if at < len {
                out[len - 1 - at] = *b;
            }
        }
    }
    out
}

fn normalize(x: &mut Vec<u32>) {
    while x.last() == Some(&0) {
        x.pop();
    }
}

fn ge(a: &[u32], b: &[u32]) -> bool {
    if a.len() != b.len() {
        return a.len() > b.len();
    }
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x > y;
        }
    }
    true
}

/// `a -= b`, for `a >= b`.
fn sub_in_place(a: &mut Vec<u32>, b: &[u32]) {
    let mut borrow = 0i64;
    for (i, limb) in a.iter_mut().enumerate() {
        let d = i64::from(*limb) - i64::from(b.get(i).copied().unwrap_or(0)) - borrow;
        borrow = i64::from(d < 0);
        *limb = (d + (borrow << 32)) as u32;
    }
    normalize(a);
}

/// `a * b mod n`, by schoolbook product and bitwise reduction.
fn mul_mod(a: &[u32], b: &[u32], n: &[u32]) -> Vec<u32> {
    let mut product = vec![0u64; a.len() + b.len() + 1];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let t = product[i + j] + u64::from(x) * u64::from(y) + carry;
            product[i + j] = t & 0xFFFF_FFFF;
            carry = t >> 32;
        }
        let mut at = i + b.len();
        while carry > 0 {
            let t = product[at] + carry;
            product[at] = t & 0xFFFF_FFFF;
            carry = t >> 32;
            at += 1;
        }
    }
    let mut r: Vec<u32> = Vec::with_capacity(n.len() + 1);
    for limb in product.iter().rev() {
        for bit in (0..32).rev() {
            // r = 2r + bit
            let mut carry = ((limb >> bit) & 1) as u32;
            for l in r.iter_mut() {
                let next = *l >> 31;
                *l = *l << 1 | carry;
                carry = next;
            }
            if carry != 0 {
                r.push(carry);
            }
            if ge(&r, n) {
                sub_in_place(&mut r, n);
            }
        }
    }
    r
}

fn mod_pow(base: &[u32], exponent: &[u32], n: &[u32]) -> Vec<u32> {
    let mut result = vec![1u32];
    for limb in exponent.iter().rev() {
        for bit in (0..32).rev() {
            result = mul_mod(&result, &result, n);
            if (limb >> bit) & 1 == 1 {
                result = mul_mod(&result, base, n);
            }
        }
    }
    normalize(&mut result);
    result
}

#[cfg(test)]
mod tests {
    use super::super::unhex;
    use super::*;

    const PUBLIC: &str = include_str!("../../testdata/mysql-rsa-1024.pub.pem");

    fn private_exponent() -> Vec<u32> {
        limbs(&unhex(include_str!("../../testdata/mysql-rsa-1024.d.hex").trim()))
    }

    /// RFC 8017's OAEP decoding, for the test's side of the exchange.
    fn oaep_decode(em: &[u8]) -> Option<Vec<u8>> {
        let (&zero, rest) = em.split_first()?;
        let (masked_seed, masked_db) = rest.split_at(HASH_LEN);
        let mut seed = masked_seed.to_vec();
        xor_into(&mut seed, &mgf1(masked_db, HASH_LEN));
        let mut db = masked_db.to_vec();
        let mask = mgf1(&seed, db.len());
        xor_into(&mut db, &mask);
        if zero != 0 || db[..HASH_LEN] != *digest(&SHA1, b"").as_ref() {
            return None;
        }
        let one = HASH_LEN + db[HASH_LEN..].iter().position(|&b| b != 0)?;
        (db[one] == 1).then(|| db[one + 1..].to_vec())
    }

    #[test]
    fn the_private_key_recovers_what_was_encrypted() {
        let key = PublicKey::from_pem(PUBLIC.as_bytes()).expect("a PEM public key");
        assert_eq!(key.k, 128);
        let d = private_exponent();
        let message = b"s3cret password\0";
        let a = key.encrypt_oaep_sha1(message).expect("fits");
        let b = key.encrypt_oaep_sha1(message).expect("fits");
        assert_eq!(a.len(), 128);
        assert_ne!(a, b, "a random seed each time");
        for c in [a, b] {
            let em = to_be_bytes(&mod_pow(&limbs(&c), &d, &key.n), key.k);
            assert_eq!(oaep_decode(&em).as_deref(), Some(&message[..]));
        }
        assert!(key.encrypt_oaep_sha1(&[b'x'; 87]).is_err(), "longer than k - 42");
    }

    #[test]
    fn arithmetic_agrees_with_small_numbers() {
        // 4^13 mod 497 = 445; (2^32 + 5) * 7 mod 1_000_003
        assert_eq!(mod_pow(&[4], &[13], &[497]), vec![445]);
        let big = (((1u64 << 32) + 5) * 7 % 1_000_003) as u32;
        assert_eq!(mul_mod(&[5, 1], &[7], &[1_000_003]), vec![big]);
        assert_eq!(limbs(&[1, 0, 0, 0, 2]), vec![2, 1]);
        assert_eq!(to_be_bytes(&[2, 1], 6), vec![0, 1, 0, 0, 0, 2]);
    }

    #[test]
    fn keys_that_are_not_rsa_public_keys_are_refused() {
        assert!(PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err());
        assert!(PublicKey::from_pem(b"not base64 !!").is_err());
        // PKCS #1 form of the same key: the SPKI's inner sequence.
        let spki = PublicKey::from_pem(PUBLIC.as_bytes()).expect("spki");
        use base64::Engine as _;
        let body: String = PUBLIC.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(body).expect("base64");
        let (_, outer, _) = der_next(&der).expect("sequence");
        let (_, _, rest) = der_next(outer).expect("algorithm");
        let (_, bits, _) = der_next(rest).expect("bit string");
        assert_eq!(PublicKey::from_der(&bits[1..]), Some(spki));
    }
}
