//! Route53: A-alias and CNAME records of hosted zones.

use async_trait::async_trait;

use super::*;

const CHANGE_BATCH: &str = "InvalidChangeBatch";

/// A DNS name as Route53 keeps it: lower case; here without the trailing dot.
fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A target as Route53 compares it.
fn norm_target(t: &RecordTarget) -> RecordTarget {
    match t {
        RecordTarget::Alias {
            dns_name,
            hosted_zone_id,
        } => RecordTarget::Alias {
            dns_name: norm(dns_name),
            hosted_zone_id: hosted_zone_id.trim_start_matches("/hostedzone/").to_owned(),
        },
        RecordTarget::Cname(v) => RecordTarget::Cname(norm(v)),
        other => other.clone(),
    }
}

fn record_type(t: &RecordTarget) -> String {
    t.record_type().to_owned()
}

fn zone_key(zone_id: &str) -> &str {
    zone_id.trim_start_matches("/hostedzone/")
}

impl FakeState {
    fn zone_mut(&mut self, zone_id: &str) -> PortResult<&mut FakeZone> {
        self.zones
            .get_mut(zone_key(zone_id))
            .ok_or_else(|| not_found("NoSuchHostedZone", format!("No hosted zone found with ID: {zone_id}")))
    }
}

#[async_trait]
impl Route53Api for Port {
    async fn list_records(&self, zone_id: &str) -> PortResult<Vec<ObservedDnsRecord>> {
        self.0
            .call("route53.ListResourceRecordSets", zone_id, |s| {
                let zone = s.zone_mut(zone_id)?;
                Ok(zone
                    .records
                    .iter()
                    .map(|((name, _), target)| ObservedDnsRecord {
                        zone_id: zone_id.to_owned(),
                        name: name.clone(),
                        target: target.clone(),
                    })
                    .collect())
            })
            .await
    }

    async fn public_zone_named(&self, name: &str) -> PortResult<Option<String>> {
        let wanted = name.trim_end_matches('.').to_ascii_lowercase();
        self.0
            .call("route53.ListHostedZonesByName", name, |s| {
                Ok(s.zones.values().find(|z| z.name == wanted).map(|z| z.id.clone()))
            })
            .await
    }

    async fn records_named(&self, zone_id: &str, names: &[String]) -> PortResult<Vec<ObservedDnsRecord>> {
        self.0
            .call("route53.ListResourceRecordSets", names.join(" "), |s| {
                let zone = s.zone_mut(zone_id)?;
                Ok(zone
                    .records
                    .iter()
                    .filter(|((name, _), _)| names.contains(name))
                    .map(|((name, _), target)| ObservedDnsRecord {
                        zone_id: zone_id.to_owned(),
                        name: name.clone(),
                        target: target.clone(),
                    })
                    .collect())
            })
            .await
    }

    async fn create_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        self.0
            .call(
                "route53.ChangeResourceRecordSets",
                format!("CREATE {}", spec.name),
                |s| write_record(s, spec, true),
            )
            .await
    }

    async fn create_records(&self, zone_id: &str, specs: &[DnsRecordSpec]) -> PortResult<()> {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        self.0
            .call(
                "route53.ChangeResourceRecordSets",
                format!("CREATE {}", names.join(" CREATE ")),
                |s| {
                    // All or none, as Route53 applies a batch: tried on a
                    // copy of the zone, kept only when every change holds.
                    let before = s.zones.clone();
                    for spec in specs {
                        let in_zone = zone_key(&spec.zone_id) == zone_key(zone_id);
                        let written = if in_zone {
                            write_record(s, spec, true)
                        } else {
                            Err(invalid(CHANGE_BATCH, format!("{} is not in zone {zone_id}", spec.name)))
                        };
                        if let Err(e) = written {
                            s.zones = before;
                            return Err(e);
                        }
                    }
                    Ok(())
                },
            )
            .await
    }

    async fn upsert_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        self.0
            .call(
                "route53.ChangeResourceRecordSets",
                format!("UPSERT {}", spec.name),
                |s| write_record(s, spec, false),
            )
            .await
    }

    async fn delete_record(&self, record: &ObservedDnsRecord) -> PortResult<()> {
        self.0
            .call("route53.ChangeResourceRecordSets", format!("DELETE {}", record.name), |s| {
                let name = norm(&record.name);
                let kind = record_type(&record.target);
                let zone = s.zone_mut(&record.zone_id)?;
                let key = (name.clone(), kind.clone());
                match zone.records.get(&key) {
                    None => Err(not_found(
                        CHANGE_BATCH,
                        format!("Tried to delete resource record set [name='{name}.', type='{kind}'] but it was not found"),
                    )),
                    Some(t) if norm_target(t) != norm_target(&record.target) => Err(invalid(
                        CHANGE_BATCH,
                        format!("Tried to delete resource record set [name='{name}.', type='{kind}'] but the values provided do not match the current values"),
                    )),
                    Some(_) => {
                        zone.records.remove(&key);
                        Ok(())
                    }
                }
            })
            .await
    }
}

/// CREATE (`create`: fails on a record of that name and type) or UPSERT,
/// with Route53's checks.
fn write_record(s: &mut FakeState, spec: &DnsRecordSpec, create: bool) -> PortResult<()> {
    let name = norm(&spec.name);
    let target = norm_target(&spec.target);
    let alias_ok = match &target {
        RecordTarget::Alias {
            dns_name,
            hosted_zone_id,
        } => s.load_balancers.values().any(|lb| {
            norm(lb.dns_name.trim_start_matches("dualstack.")) == dns_name.trim_start_matches("dualstack.")
                && &lb.canonical_hosted_zone_id == hosted_zone_id
        }),
        RecordTarget::Cname(v) => !v.is_empty(),
        // bbws never writes other records; tests put them in
        // the state directly.
        RecordTarget::Other { .. } => false,
    };
    let zone = s.zone_mut(&spec.zone_id)?;
    if name != zone.name && !name.ends_with(&format!(".{}", zone.name)) {
        return Err(invalid(
            CHANGE_BATCH,
            format!("RRSet with DNS name {name}. is not permitted in zone {}.", zone.name),
        ));
    }
    let kind = record_type(&target);
    // A CNAME shares its name with no other record; nothing
    // shares a name with a CNAME.
    if let Some((_, other)) = zone
        .records
        .keys()
        .find(|(n, t)| *n == name && *t != kind && (kind == "CNAME" || t == "CNAME"))
    {
        return Err(invalid(
            CHANGE_BATCH,
            format!(
                "RRSet of type {kind} with DNS name {name}. is not permitted because a conflicting RRSet of type {other} with the same DNS name already exists in zone {}.",
                zone.name
            ),
        ));
    }
    if create && zone.records.contains_key(&(name.clone(), kind.clone())) {
        return Err(exists(
            CHANGE_BATCH,
            format!("Tried to create resource record set [name='{name}.', type='{kind}'] but it already exists"),
        ));
    }
    if kind == "CNAME" && name == zone.name {
        return Err(invalid(
            CHANGE_BATCH,
            format!(
                "RRSet of type CNAME with DNS name {name}. is not permitted at apex in zone {}.",
                zone.name
            ),
        ));
    }
    if !alias_ok {
        return Err(invalid(
            CHANGE_BATCH,
            match &target {
                RecordTarget::Alias {
                    dns_name,
                    hosted_zone_id,
                } => format!(
                    "Tried to create an alias that targets {dns_name}., type A in zone {hosted_zone_id}, but the alias target name does not lie within the target zone"
                ),
                RecordTarget::Cname(_) => "CNAME value must not be empty".to_owned(),
                RecordTarget::Other { record_type, .. } => format!("bbws does not write {record_type} records"),
            },
        ));
    }
    zone.records.insert((name, kind), target);
    Ok(())
}
