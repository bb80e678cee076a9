//! Verifying Terraform's AutoMTLS handshake signature.
//!
//! go-plugin gives Terraform a fresh ECDSA P-521 key per run, and the client
//! proves it holds that key by signing the TLS handshake with
//! `ecdsa_secp521r1_sha512`. ring, the provider's one TLS crypto library,
//! verifies P-256 and P-384 only, so this one scheme is verified with
//! RustCrypto's `p521`; every other scheme stays ring's. Linking aws-lc for
//! it instead would add about 0.6 MB of code (and an entropy pool seeded on
//! first use) to every plugin process.

use p521::ecdsa::signature::Verifier as _;
use p521::ecdsa::{Signature, VerifyingKey};
use rustls::SignatureScheme;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id};

/// `ecdsa-with-SHA512` over a `secp521r1` public key, DER signatures.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        // `public_key` is the certificate's subjectPublicKey: a SEC1 point.
        let key = VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

/// The scheme ring lacks, for [`rustls::crypto::verify_tls13_signature`].
pub static P521_SHA512: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&EcdsaP521Sha512],
    mapping: &[(SignatureScheme::ECDSA_NISTP521_SHA512, &[&EcdsaP521Sha512])],
};

#[cfg(test)]
mod tests {
    use p521::ecdsa::SigningKey;
    use p521::ecdsa::signature::Signer as _;

    use super::*;

    fn key() -> SigningKey {
        let mut scalar = [3u8; 66];
        scalar[0] = 0;
        SigningKey::from_slice(&scalar).expect("a P-521 scalar")
    }

    #[test]
    fn accepts_the_keys_signature_and_nothing_else() {
        let key = key();
        let public = VerifyingKey::from(&key).to_encoded_point(false);
        let signature: Signature = key.sign(b"handshake transcript");
        let der = signature.to_der();
        let alg = P521_SHA512.all[0];
        assert!(
            alg.verify_signature(public.as_bytes(), b"handshake transcript", der.as_bytes())
                .is_ok()
        );
        assert!(
            alg.verify_signature(public.as_bytes(), b"another transcript", der.as_bytes())
                .is_err()
        );
        let mut bent = der.as_bytes().to_vec();
        let last = bent.len() - 1;
        bent[last] ^= 1;
        assert!(
            alg.verify_signature(public.as_bytes(), b"handshake transcript", &bent)
                .is_err()
        );
        assert!(
            alg.verify_signature(&[4, 1, 2], b"handshake transcript", der.as_bytes())
                .is_err()
        );
    }
}
