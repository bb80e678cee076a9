//! Provisioning events (SPEC §8, `events { bus_name }`): every audited
//! operation is also announced on an EventBridge bus, for billing and
//! operations to subscribe to — source `bbws`, one of seven detail-types,
//! the audit record as the detail. Best effort, like the record: an event
//! that cannot be put is logged as a warning and never fails the
//! operation. Without `events`, nothing is sent.

use std::time::{Duration, SystemTime};

use crate::audit::AuditRecord;
use crate::engine::Engine;
use crate::observed::ObservedTenant;
use crate::ports::BusEvent;

/// The `source` of every event bbws puts.
pub const SOURCE: &str = "bbws";

/// The detail-type of an operation without one of its own.
const UPDATED: &str = "Tenant Updated";

/// Operation (as the audit record names it) → detail-type: the one table.
/// Only the seven detail-types exist; the actions change a tenant in place,
/// so they are updates, told apart by the detail's `operation`.
pub const DETAIL_TYPES: [(&str, &str); 9] = [
    ("create", "Tenant Created"),
    ("update", UPDATED),
    ("suspend", "Tenant Suspended"),
    ("resume", "Tenant Resumed"),
    ("delete", "Tenant Deleted"),
    ("backup", "Tenant Backed Up"),
    ("restore", "Tenant Restored"),
    ("restart", UPDATED),
    ("rotate_credentials", UPDATED),
];

/// The detail-type announcing `operation`; an operation the table does not
/// name (none today) changed the tenant, so it is an update.
pub fn detail_type(operation: &str) -> &'static str {
    DETAIL_TYPES
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or(UPDATED, |(_, t)| t)
}

/// The ARNs an event is about: the tenant's service, where it has one.
pub fn resources_of(observed: &ObservedTenant) -> Vec<String> {
    observed.service.iter().map(|s| s.arn.clone()).collect()
}

/// How often a throttled or failed put is tried in all.
const ATTEMPTS: u32 = 3;

impl Engine {
    /// Puts the event announcing `record` (written as `detail`, the text
    /// the audit log got) on the platform's bus, if it has one; a failure
    /// is retried while retryable, then logged.
    pub(crate) async fn announce(&self, record: &AuditRecord, detail: &str, time: SystemTime, resources: Vec<String>) {
        let Some(settings) = &self.platform().events else {
            return;
        };
        let event = BusEvent {
            bus_name: settings.bus_name.clone(),
            source: SOURCE.to_owned(),
            detail_type: detail_type(&record.operation).to_owned(),
            detail: detail.to_owned(),
            resources,
            time,
        };
        let events = &self.ports().events;
        let mut attempt = 1;
        loop {
            match events.put_event(&event).await {
                Ok(()) => return,
                // PutEvents answers an entry's throttling with 200, so the
                // SDK's backoff never saw it: a short one here. A call the
                // SDK already retried (HTTP-level throttling, `attempts` > 1)
                // is not tried again: its backoff was the long one.
                Err(e) if e.is_retryable() && e.attempts <= 1 && attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::warn!(bus = %event.bus_name, detail_type = %event.detail_type, tenant = %record.tenant, error = %e, "the provisioning event could not be put");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
