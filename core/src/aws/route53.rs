//! Route53: the tenant's record.

use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::error::ProvideErrorMetadata;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::error::{Endpoint, build_error, on, sdk_error};
use crate::parts::*;
use crate::ports::{PortError, PortErrorKind, PortResult, Route53Api};

/// TTL of CNAME records.
const CNAME_TTL: i64 = 60;

/// [`Route53Api`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsRoute53 {
    client: Client,
    ep: Endpoint,
}

/// A DNS name as Route53 prints it (`\052` escapes, trailing dot, any case)
/// in the form the ports use.
fn normalise_name(name: &str) -> String {
    unescape(name).trim_end_matches('.').to_ascii_lowercase()
}

/// Decodes Route53's `\ooo` octal escapes (e.g. `\052` for `*`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = u32::from(b[i + 1] - b'0') * 64 + u32::from(b[i + 2] - b'0') * 8 + u32::from(b[i + 3] - b'0');
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The record as plain data: an A alias or a CNAME as such, any other
/// record (a plain A, an AAAA alias, a TXT…) as `Other`, so that a record
/// that is not the tenant's is seen whatever its type.
fn observe(zone_id: &str, r: &ResourceRecordSet) -> Option<ObservedDnsRecord> {
    let values = || -> Vec<String> {
        match r.alias_target() {
            Some(a) => vec![format!("alias to {}", a.dns_name().trim_end_matches('.'))],
            None => r.resource_records().iter().map(|v| v.value().to_string()).collect(),
        }
    };
    let target = match (r.r#type(), r.alias_target(), r.resource_records().first()) {
        (RrType::A, Some(a), _) => RecordTarget::Alias {
            dns_name: a.dns_name().trim_end_matches('.').to_ascii_lowercase(),
            hosted_zone_id: a.hosted_zone_id().to_string(),
        },
        (RrType::Cname, None, Some(v)) => RecordTarget::Cname(v.value().trim_end_matches('.').to_ascii_lowercase()),
        (t, ..) => RecordTarget::Other {
            record_type: t.as_str().to_string(),
            values: values(),
        },
    };
    Some(ObservedDnsRecord {
        zone_id: zone_id.to_string(),
        name: normalise_name(r.name()),
        target,
    })
}

fn same_target(a: &RecordTarget, b: &RecordTarget) -> bool {
    let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    match (a, b) {
        (
            RecordTarget::Alias {
                dns_name: d1,
                hosted_zone_id: z1,
            },
            RecordTarget::Alias {
                dns_name: d2,
                hosted_zone_id: z2,
            },
        ) => norm(d1) == norm(d2) && z1.trim_start_matches("/hostedzone/") == z2.trim_start_matches("/hostedzone/"),
        (RecordTarget::Cname(x), RecordTarget::Cname(y)) => norm(x) == norm(y),
        // Never deleted: bbws did not write it.
        _ => false,
    }
}

fn record_set(name: &str, target: &RecordTarget) -> Result<ResourceRecordSet, aws_sdk_route53::error::BuildError> {
    match target {
        RecordTarget::Alias {
            dns_name,
            hosted_zone_id,
        } => ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::A)
            .alias_target(
                AliasTarget::builder()
                    .dns_name(dns_name)
                    .hosted_zone_id(hosted_zone_id)
                    .evaluate_target_health(false)
                    .build()?,
            )
            .build(),
        RecordTarget::Cname(value) => ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(CNAME_TTL)
            .resource_records(ResourceRecord::builder().value(value).build()?)
            .build(),
        // Refused by the callers before a request is built.
        RecordTarget::Other { .. } => ResourceRecordSet::builder().build(),
    }
}

/// bbws writes only A aliases and CNAMEs.
fn writable(op: &str, target: &RecordTarget) -> PortResult<()> {
    match target {
        RecordTarget::Other { record_type, .. } => Err(PortError::new(
            PortErrorKind::InvalidInput,
            op,
            format!("bbws does not write {record_type} records"),
        )),
        _ => Ok(()),
    }
}

impl AwsRoute53 {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsRoute53 { client, ep }
    }

    async fn change(&self, op: &str, zone_id: &str, action: ChangeAction, set: ResourceRecordSet) -> PortResult<()> {
        let change = Change::builder()
            .action(action)
            .resource_record_set(set)
            .build()
            .map_err(|e| build_error(op, e))?;
        let batch = ChangeBatch::builder()
            .changes(change)
            .build()
            .map_err(|e| build_error(op, e))?;
        self.send_batch(op, zone_id, batch).await
    }

    /// One ChangeResourceRecordSets; "not found" and "already exists" in
    /// an `InvalidChangeBatch` are told apart.
    async fn send_batch(&self, op: &str, zone_id: &str, batch: ChangeBatch) -> PortResult<()> {
        match self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_string();
                let msg = e.message().unwrap_or_default().to_ascii_lowercase();
                let mut err = sdk_error(&self.ep, op, e);
                if code == "InvalidChangeBatch" && msg.contains("not found") {
                    err.kind = PortErrorKind::NotFound;
                } else if code == "InvalidChangeBatch" && msg.contains("already exists") {
                    err.kind = PortErrorKind::AlreadyExists;
                }
                Err(err)
            }
        }
    }

    /// Every record under exactly `name`: a listing that starts there and
    /// stops at the next name (records are sorted by name, then type).
    async fn records_at(&self, zone_id: &str, name: &str) -> PortResult<Vec<ObservedDnsRecord>> {
        let wanted = normalise_name(name);
        let mut out = Vec::new();
        let mut start: (String, Option<RrType>, Option<String>) = (name.to_owned(), None, None);
        loop {
            let r = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(&start.0)
                .set_start_record_type(start.1.take())
                .set_start_record_identifier(start.2.take())
                .max_items(8)
                .send()
                .await
                .map_err(on(&self.ep, "ListResourceRecordSets"))?;
            let sets = r.resource_record_sets();
            let at_name = sets.iter().take_while(|s| normalise_name(s.name()) == wanted);
            out.extend(at_name.filter_map(|s| observe(zone_id, s)));
            let past = sets.iter().any(|s| normalise_name(s.name()) != wanted);
            match (past, r.is_truncated(), r.next_record_name(), r.next_record_type()) {
                (false, true, Some(n), Some(t)) if normalise_name(n) == wanted => {
                    start = (
                        n.to_owned(),
                        Some(t.clone()),
                        r.next_record_identifier().map(str::to_owned),
                    );
                }
                _ => return Ok(out),
            }
        }
    }

    /// The current record set with exactly this name and type.
    async fn current(&self, zone_id: &str, name: &str, rr_type: RrType) -> PortResult<Option<ResourceRecordSet>> {
        let r = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(name)
            .start_record_type(rr_type.clone())
            .max_items(1)
            .send()
            .await
            .map_err(on(&self.ep, "ListResourceRecordSets"))?;
        Ok(r.resource_record_sets()
            .iter()
            .find(|s| *s.r#type() == rr_type && normalise_name(s.name()) == normalise_name(name))
            .cloned())
    }
}

#[async_trait]
impl Route53Api for AwsRoute53 {
    async fn list_records(&self, zone_id: &str) -> PortResult<Vec<ObservedDnsRecord>> {
        let mut out = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut req = self.client.list_resource_record_sets().hosted_zone_id(zone_id);
            if let Some((name, t, id)) = start.take() {
                req = req
                    .start_record_name(name)
                    .start_record_type(t)
                    .set_start_record_identifier(id);
            }
            let r = req.send().await.map_err(on(&self.ep, "ListResourceRecordSets"))?;
            out.extend(r.resource_record_sets().iter().filter_map(|s| observe(zone_id, s)));
            match (r.is_truncated(), r.next_record_name(), r.next_record_type()) {
                (true, Some(n), Some(t)) => {
                    start = Some((n.to_string(), t.clone(), r.next_record_identifier().map(str::to_string)));
                }
                _ => break,
            }
        }
        Ok(out)
    }

    async fn public_zone_named(&self, name: &str) -> PortResult<Option<String>> {
        let wanted = format!("{}.", normalise_name(name));
        // Zones come in name order from `wanted` on: a private and a public
        // zone of one name both come first, so a few are enough.
        let r = (self
            .client
            .list_hosted_zones_by_name()
            .dns_name(&wanted)
            .max_items(10)
            .send()
            .await)
            .map_err(on(&self.ep, "ListHostedZonesByName"))?;
        let public = r
            .hosted_zones()
            .iter()
            .find(|z| z.name().eq_ignore_ascii_case(&wanted) && !z.config().is_some_and(|c| c.private_zone()));
        Ok(public.map(|z| z.id().trim_start_matches("/hostedzone/").to_owned()))
    }

    async fn records_named(&self, zone_id: &str, names: &[String]) -> PortResult<Vec<ObservedDnsRecord>> {
        let mut unique: Vec<String> = names.iter().map(|n| normalise_name(n)).collect();
        unique.sort();
        unique.dedup();
        let reads = unique.iter().map(|name| self.records_at(zone_id, name));
        let found = futures::future::try_join_all(reads).await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        let op = "ChangeResourceRecordSets (CREATE)";
        writable(op, &spec.target)?;
        let set = record_set(&spec.name, &spec.target).map_err(|e| build_error(op, e))?;
        // AWS refuses a CREATE over a record of that name and type; moto
        // replaces it unless it journalled the same change: asked first, so
        // that nobody's record is overwritten on either.
        if self
            .current(&spec.zone_id, &spec.name, set.r#type().clone())
            .await?
            .is_some()
        {
            return Err(PortError::new(
                PortErrorKind::AlreadyExists,
                "InvalidChangeBatch",
                format!("{op}: a {} record {} already exists", set.r#type().as_str(), spec.name),
            ));
        }
        match self.change(op, &spec.zone_id, ChangeAction::Create, set.clone()).await {
            // moto answers "already exists" to a CREATE its change journal
            // saw before even once the record is gone (AWS never does):
            // with no record of that name and type there, UPSERT is the
            // same change.
            Err(e) if e.kind == PortErrorKind::AlreadyExists => {
                let rr_type = set.r#type().clone();
                match self.current(&spec.zone_id, &spec.name, rr_type).await? {
                    Some(_) => Err(e),
                    None => self.change(op, &spec.zone_id, ChangeAction::Upsert, set).await,
                }
            }
            other => other,
        }
    }

    async fn create_records(&self, zone_id: &str, specs: &[DnsRecordSpec]) -> PortResult<()> {
        let op = "ChangeResourceRecordSets (CREATE, batch)";
        if let [one] = specs {
            return self.create_record(one).await;
        }
        let mut changes = Vec::new();
        for spec in specs {
            writable(op, &spec.target)?;
            let set = record_set(&spec.name, &spec.target).map_err(|e| build_error(op, e))?;
            let change = Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(set)
                .build()
                .map_err(|e| build_error(op, e))?;
            changes.push(change);
        }
        // As for one record: AWS refuses the whole batch when one exists,
        // moto replaces it; one listing asks first for the batch.
        let existing = self.list_records(zone_id).await?;
        if let Some(spec) = specs.iter().find(|spec| {
            existing.iter().any(|r| {
                normalise_name(&r.name) == normalise_name(&spec.name)
                    && r.target.record_type() == spec.target.record_type()
            })
        }) {
            return Err(PortError::new(
                PortErrorKind::AlreadyExists,
                "InvalidChangeBatch",
                format!(
                    "{op}: a {} record {} already exists",
                    spec.target.record_type(),
                    spec.name
                ),
            ));
        }
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .build()
            .map_err(|e| build_error(op, e))?;
        self.send_batch(op, zone_id, batch).await
    }

    async fn upsert_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        let op = "ChangeResourceRecordSets (UPSERT)";
        writable(op, &spec.target)?;
        let set = record_set(&spec.name, &spec.target).map_err(|e| build_error(op, e))?;
        self.change(op, &spec.zone_id, ChangeAction::Upsert, set).await
    }

    async fn delete_record(&self, record: &ObservedDnsRecord) -> PortResult<()> {
        let op = "ChangeResourceRecordSets (DELETE)";
        writable(op, &record.target)?;
        let rr_type = match record.target {
            RecordTarget::Alias { .. } => RrType::A,
            _ => RrType::Cname,
        };
        // DELETE must repeat the record exactly (TTL, EvaluateTargetHealth…):
        // read the current set and delete it if it still points where it
        // was observed to point.
        let set = match self.current(&record.zone_id, &record.name, rr_type.clone()).await? {
            None => {
                return Err(PortError::new(
                    PortErrorKind::NotFound,
                    "InvalidChangeBatch",
                    format!("{op}: record {} ({}) not found", record.name, rr_type.as_str()),
                ));
            }
            Some(set) => set,
        };
        match observe(&record.zone_id, &set) {
            Some(now) if same_target(&now.target, &record.target) => {}
            now => {
                return Err(PortError::new(
                    PortErrorKind::InvalidInput,
                    "InvalidChangeBatch",
                    format!(
                        "{op}: record {} changed since it was observed (now {:?}); not deleted",
                        record.name,
                        now.map(|n| n.target)
                    ),
                ));
            }
        }
        self.change(op, &record.zone_id, ChangeAction::Delete, set).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalise_name("\\052.Example.COM."), "*.example.com");
        assert_eq!(normalise_name("acme.example.com."), "acme.example.com");
        assert_eq!(normalise_name("a\\\\b"), "a\\\\b");
        assert_eq!(normalise_name("x\\05"), "x\\05");
    }
}
