//! The audit trail (SPEC §4): every create, update, suspend, resume and
//! delete writes one JSON record to the log group `/bbws/{env}/audit` —
//! operation, time, operator (the caller's AWS identity), tenant, parts
//! affected, outcome, error. Writing it never fails the operation itself:
//! a lost record is logged as a warning instead. The same text is the
//! detail of the operation's provisioning event ([`crate::events`]).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use crate::engine::Engine;
use crate::observed::ObservedTenant;
use crate::plan::{PartAction, TenantPlan};
use crate::spec::{TenantSpec, TenantStatus};

/// One audit record, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// `create`, `update`, `suspend`, `resume` or `delete`.
    pub operation: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// The caller's ARN (STS `GetCallerIdentity`).
    pub operator: String,
    /// The environment.
    pub environment: String,
    /// The tenant id.
    pub tenant: String,
    /// Parts the operation changed (or meant to), with their action.
    pub parts: Vec<String>,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The most a record takes as JSON text: far under CloudWatch Logs' and
/// EventBridge's 256 KB, so that the record and its event always fit.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The most of an error a record keeps.
const MAX_ERROR_CHARS: usize = 4096;

impl AuditRecord {
    fn size(&self) -> usize {
        serde_json::to_string(self).map_or(0, |s| s.len())
    }

    /// The record within [`MAX_RECORD_BYTES`]: a long error is cut, then
    /// parts beyond what fits are counted instead of listed.
    pub fn bounded(mut self) -> Self {
        if self.size() <= MAX_RECORD_BYTES {
            return self;
        }
        if let Some(e) = &mut self.error
            && e.chars().count() > MAX_ERROR_CHARS
        {
            *e = format!("{} … (cut)", e.chars().take(MAX_ERROR_CHARS).collect::<String>());
        }
        let total = self.parts.len();
        let mut kept = total;
        while self.size() > MAX_RECORD_BYTES && kept > 0 {
            // A quarter fewer each round: a few rounds even for many parts.
            kept -= (kept / 4).max(1);
            // Drops the count of the round before too.
            self.parts.truncate(kept);
            self.parts.push(format!("… and {} more", total - kept));
        }
        self
    }
}

/// What an apply of `plan` does to the tenant, as one word.
pub fn operation_of(spec: &TenantSpec, observed: &ObservedTenant) -> &'static str {
    if !observed.exists() {
        return "create";
    }
    match (observed.is_suspended(), spec.status) {
        (false, TenantStatus::Suspended) => "suspend",
        (true, TenantStatus::Active) => "resume",
        _ => "update",
    }
}

/// The changed parts of a plan, e.g. `service: update in place (desired_count)`.
pub fn parts_of(plan: &TenantPlan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.action != PartAction::NoChange)
        .map(|c| format!("{}: {}", c.part, c.action))
        .collect()
}

/// RFC 3339 UTC with microseconds (always six digits, so records sort as
/// text); times before 1970 read as 1970.
pub fn rfc3339(t: SystemTime) -> String {
    let t = t.max(UNIX_EPOCH);
    let micros = t.duration_since(UNIX_EPOCH).unwrap_or_default().subsec_micros();
    // Smithy's RFC 3339 omits a zero fraction and trims trailing zeros:
    // keep its date and time of day, and write the fraction in full.
    let formatted = DateTime::from(t).fmt(Format::DateTime).unwrap_or_default();
    let whole = formatted.trim_end_matches('Z');
    let whole = whole.split_once('.').map_or(whole, |(seconds, _)| seconds);
    format!("{whole}.{micros:06}Z")
}

impl Engine {
    /// Writes one audit record and puts its provisioning event; failures
    /// are logged, not returned.
    pub async fn audit(&self, operation: &str, tenant_id: &str, parts: Vec<String>, error: Option<String>) {
        self.audit_about(operation, tenant_id, parts, error, Vec::new()).await;
    }

    /// [`Self::audit`], the event naming `resources` (the tenant's ARNs).
    pub async fn audit_about(
        &self,
        operation: &str,
        tenant_id: &str,
        parts: Vec<String>,
        error: Option<String>,
        resources: Vec<String>,
    ) {
        let ports = self.ports();
        let operator = match ports.sts.caller_arn().await {
            Ok(arn) => arn,
            Err(e) => format!("unknown ({})", e.code),
        };
        let env = self.platform().environment;
        let now = SystemTime::now();
        let record = AuditRecord {
            operation: operation.to_owned(),
            time: rfc3339(now),
            operator,
            environment: env.as_str().to_owned(),
            tenant: tenant_id.to_owned(),
            parts,
            outcome: if error.is_none() { "succeeded" } else { "failed" }.to_owned(),
            error,
        }
        .bounded();
        let message = serde_json::to_string(&record).unwrap_or_default();
        let group = crate::naming::audit_log_group(env);
        let write = async {
            // A new tenant's first record opens its stream.
            let appended = if operation == "create" {
                ports.logs.append_event_to_new_stream(&group, tenant_id, &message).await
            } else {
                ports.logs.append_event(&group, tenant_id, &message).await
            };
            if let Err(e) = appended {
                tracing::warn!(%group, error = %e, "the audit record could not be written");
            }
        };
        tokio::join!(write, self.announce(&record, &message, now, resources));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_operation_leaves_one_record() {
        use crate::fake::FakeCloud;
        use crate::spec::TenantInput;
        use crate::{plan, plan_destroy};
        use std::sync::Arc;

        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Engine::new(platform.clone(), cloud.ports());
        let mut input = TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some("123456789012".into()),
            retain_data_on_destroy: Some(false),
            ..TenantInput::default()
        };
        let converge = |spec: TenantSpec| {
            let engine = &engine;
            async move {
                let o = engine.observe_tenant(&spec.tenant_id, &[]).await.expect("observe");
                engine.apply(&spec, &o, &plan(&spec, &o)).await.expect("apply")
            }
        };
        converge(input.resolve(platform.clone()).expect("valid")).await;
        // A no-change apply writes nothing.
        converge(input.resolve(platform.clone()).expect("valid")).await;
        input.desired_count = Some(3);
        converge(input.resolve(platform.clone()).expect("valid")).await;
        input.status = Some("suspended".into());
        converge(input.resolve(platform.clone()).expect("valid")).await;
        input.status = Some("active".into());
        let spec = input.resolve(platform.clone()).expect("valid");
        let after = converge(spec.clone()).await;
        engine
            .destroy(&spec, &after, &plan_destroy(&spec, &after))
            .await
            .expect("destroy");

        let state = cloud.state();
        let group = state.log_groups.get("/bbws/dev/audit").expect("audit log group");
        let records: Vec<AuditRecord> = group.streams["123456789012"]
            .iter()
            .map(|e| serde_json::from_str(&e.message).expect("one JSON record per event"))
            .collect();
        let ops: Vec<&str> = records.iter().map(|r| r.operation.as_str()).collect();
        assert_eq!(ops, ["create", "update", "suspend", "resume", "delete"]);
        for r in &records {
            assert_eq!(r.outcome, "succeeded");
            assert_eq!(r.tenant, "123456789012");
            assert!(r.operator.starts_with("arn:aws:"), "{}", r.operator);
            assert!(!r.parts.is_empty());
        }
        assert!(
            records[1].parts.iter().any(|p| p.contains("desired_count")),
            "{:?}",
            records[1].parts
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_000_000_123_456);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40.123456Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000Z"
        );
    }
}
