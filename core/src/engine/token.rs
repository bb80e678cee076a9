//! One random token per run (per [`super::Engine::apply`]), and the tokens
//! derived from it for each create.
//!
//! A create whose answer is lost must be safe to send again, and a part
//! found after a failed create must be told apart from one another run
//! made meanwhile. Both need something that is this run's alone:
//!
//! - APIs with an idempotency token get one derived per part and name
//!   ([`RunToken::client_token`]): ECS `CreateService` `clientToken` (at
//!   most 36 ASCII characters), EFS `CreateAccessPoint` `ClientToken` (at
//!   most 64), Secrets Manager `CreateSecret` `ClientRequestToken` (32 to
//!   64). A retry of the same request answers the part the first one made;
//!   a later run (a replacement) has another token, so it never gets an
//!   old part back.
//! - Every part a run creates carries the tag [`TAG_RUN`] with the run
//!   token ([`RunToken::as_str`]). A part found by name after a create
//!   failed (or that `CreateTargetGroup` answered because it existed)
//!   carrying this run's tag was created by this run — rollback removes
//!   it; with another run's tag it was not, and rollback leaves it.
//!
//! The token is 128 bits from the OS CSPRNG, as 32 lower-case hex digits
//! (a valid tag value and idempotency token everywhere).

use std::fmt;

use crate::naming::TAG_RUN;
use crate::parts::Tags;

/// This run's random token.
#[derive(Clone, PartialEq, Eq)]
pub struct RunToken(String);

impl RunToken {
    /// A fresh token from the OS CSPRNG.
    pub fn new() -> Self {
        use rand::TryRngCore;
        let mut bytes = [0u8; 16];
        // `OsRng` fails only where the OS has no randomness at all; the
        // thread RNG (itself seeded from the OS) is the fallback.
        if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
            use rand::RngCore;
            rand::rng().fill_bytes(&mut bytes);
        }
        RunToken(hex(&bytes))
    }

    /// The token itself: 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The idempotency token for creating `name` as `purpose` (e.g.
    /// `"ecs.CreateService"`): 32 hex digits of SHA-256 over the run token,
    /// the purpose and the name — within every API's length and charset
    /// limits, the same for a retry within this run, different in any
    /// other run.
    pub fn client_token(&self, purpose: &str, name: &str) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for piece in [self.0.as_str(), purpose, name] {
            ctx.update(piece.as_bytes());
            ctx.update(&[0]);
        }
        let digest = ctx.finish();
        hex(&digest.as_ref()[..16])
    }

    /// `tags` plus this run's [`TAG_RUN`] tag: the tags a part is created
    /// with.
    pub fn stamp(&self, tags: &Tags) -> Tags {
        let mut t = tags.clone();
        t.insert(TAG_RUN.into(), self.0.clone());
        t
    }

    /// Whether a part's tags say this run created it.
    pub fn made(&self, tags: &Tags) -> bool {
        tags.get(TAG_RUN).map(String::as_str) == Some(self.0.as_str())
    }
}

impl Default for RunToken {
    fn default() -> Self {
        Self::new()
    }
}

/// Not secret (it is a tag value), but kept short in logs.
impl fmt::Debug for RunToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunToken({})", &self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hex() {
        let a = RunToken::new();
        let b = RunToken::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn client_tokens_are_per_run_part_and_name_and_fit_every_api() {
        let a = RunToken::new();
        let b = RunToken::new();
        let t = a.client_token("ecs.CreateService", "dev-1-service");
        // ECS allows 36, Secrets Manager needs 32 to 64, EFS 1 to 64.
        assert_eq!(t.len(), 32);
        assert!(t.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(t, a.client_token("ecs.CreateService", "dev-1-service"));
        assert_ne!(t, a.client_token("efs.CreateAccessPoint", "dev-1-service"));
        assert_ne!(t, a.client_token("ecs.CreateService", "dev-2-service"));
        assert_ne!(t, b.client_token("ecs.CreateService", "dev-1-service"));
    }

    #[test]
    fn a_stamped_part_is_known_as_made_by_its_run_only() {
        let a = RunToken::new();
        let tags = a.stamp(&Tags::new());
        assert!(a.made(&tags));
        assert!(!RunToken::new().made(&tags));
        assert!(!a.made(&Tags::new()));
    }
}
