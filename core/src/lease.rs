//! The creation lease: how a tenant that a killed run built is told apart
//! from a tenant another Terraform state manages.
//!
//! Terraform saves a created resource only when the create returns. A run
//! killed before that leaves parts that no state holds, and they look just
//! like a tenant made by another configuration. So a run that creates a
//! tenant, or adopts one it finds without a record, holds a lease: the tag
//! [`TAG_LEASE`] on the tenant's secret, `{holder}@{expiry}`. It is written
//! with the secret (the secret's name is unique, so two runs cannot both
//! create it), renewed every [`RENEW_EVERY`] while the run works, and
//! removed when the run ends. Whoever finds a tenant that no record holds:
//!
//! - no lease: the tenant was finished by someone (complete: refused,
//!   import it) or never got a secret (partial: adopted);
//! - a live lease: a run is creating it now — wait for the lease to expire
//!   or be renewed; renewed means that run is alive: refused;
//! - an expired lease: its run died — adopted, the lease taken over.
//!
//! The expiry is read against this machine's clock; [`TTL`] is long enough
//! that clocks a few seconds apart do not matter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::naming::TAG_LEASE;
use crate::parts::Tags;

/// How long a lease lives without renewal.
pub const TTL: Duration = Duration::from_secs(20);
/// How often a running run renews its lease: half its life, which leaves
/// ten seconds for a renewal to land (Secrets Manager's writes allow 50 a
/// second). Every renewal is a write, one per tenant per interval of a
/// fleet create that waits its turn at ECS's one-a-second
/// RegisterTaskDefinition: at 5 s it was one per created tenant.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// A creation lease as found on a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run holding it (its run token).
    pub holder: String,
    /// When it expires unless renewed.
    pub expires: SystemTime,
}

impl Lease {
    /// A lease for `holder` from `now`.
    pub fn new(holder: &str, now: SystemTime) -> Lease {
        Lease {
            holder: holder.to_owned(),
            expires: now + TTL,
        }
    }

    /// The lease in `tags`, if any (a malformed one reads as expired, so
    /// that it cannot block a tenant forever).
    pub fn from_tags(tags: &Tags) -> Option<Lease> {
        let value = tags.get(TAG_LEASE)?;
        let (holder, expiry) = value.rsplit_once('@').unwrap_or((value, "0"));
        let secs = expiry.parse::<u64>().unwrap_or(0);
        Some(Lease {
            holder: holder.to_owned(),
            expires: UNIX_EPOCH + Duration::from_secs(secs),
        })
    }

    /// The tag that records it.
    pub fn tag(&self) -> (String, String) {
        let secs = self.expires.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        (TAG_LEASE.to_owned(), format!("{}@{secs}", self.holder))
    }

    /// Whether it still holds at `now`.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.expires > now
    }

    /// How long until it expires (zero when it has).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires.duration_since(now).unwrap_or_default()
    }

    /// The expiry as RFC 3339, for messages.
    pub fn expires_text(&self) -> String {
        aws_smithy_types::DateTime::from(self.expires)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_round_trips_through_its_tag_and_expires() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let lease = Lease::new("abc123", now);
        let tags: Tags = [lease.tag()].into_iter().collect();
        let read = Lease::from_tags(&tags).expect("lease");
        assert_eq!(read, lease);
        assert!(read.is_live(now) && read.is_live(now + TTL - Duration::from_secs(1)));
        assert!(!read.is_live(now + TTL));
        assert_eq!(read.remaining(now), TTL);
    }

    #[test]
    fn a_malformed_lease_reads_as_expired_and_no_tag_as_none() {
        let tags: Tags = [(TAG_LEASE.to_owned(), "garbage".to_owned())].into_iter().collect();
        let read = Lease::from_tags(&tags).expect("lease");
        assert!(!read.is_live(SystemTime::now()));
        assert_eq!(Lease::from_tags(&Tags::new()), None);
    }
}
