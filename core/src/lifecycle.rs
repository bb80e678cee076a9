//! Lifecycle policy of a planned change, for any front end (the Terraform
//! provider, tools embedding the engine): when a tenant found under our
//! names is adopted or refused, and when a change replaces the tenant.
//!
//! Pure, like [`crate::plan()`]: what it needs is the spec, the observation,
//! the plan, and what the caller's own record (e.g. Terraform state) says.

use std::time::SystemTime;

use crate::lease::Lease;
use crate::observed::{ForeignPart, ObservedTenant, TenantOutputs};
use crate::parts::Part;
use crate::plan::{PartAction, TenantPlan};
use crate::spec::TenantSpec;

/// What the caller's record holds of the tenant before this change.
#[derive(Debug, Clone, Copy, Default)]
pub struct Prior<'a> {
    /// Whether the record holds the tenant (Terraform: a non-null prior
    /// state).
    pub in_record: bool,
    /// The tenant id recorded.
    pub tenant_id: Option<&'a str>,
    /// The resource id recorded (`{environment}-{tenant_id}`).
    pub id: Option<&'a str>,
    /// The tenant this change replaces, when the record no longer holds it
    /// (the second planning of a replacement, from a null prior).
    pub replacing: Option<&'a str>,
    /// The time creation leases are judged at; `None`: now.
    pub now: Option<SystemTime>,
    /// Whether the caller refreshed this tenant from its record moments
    /// ago, although the record no longer holds it for this change
    /// (Terraform plans the replacement of a tainted object with a null
    /// prior and no private data, right after refreshing it).
    pub refreshed: bool,
}

/// What a change is to be planned from, decided before planning
/// ([`basis`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The tenant in the record, as observed.
    Observed,
    /// Found without a record: another run's live creation lease is
    /// waited out first (`Engine::wait_out_lease`), then [`decide`] judges
    /// whose the tenant is.
    Unrecorded,
    /// The tenant is rebuilt: its old object is destroyed first, so the
    /// new one is planned from nothing ([`rebuilt`]), not from the parts
    /// about to go.
    Rebuild,
}

/// What the plan of `spec` is made from, given the caller's record: a
/// tenant the record no longer holds but this very change replaces (the
/// second planning of a forced replacement names it in
/// [`Prior::replacing`]; a tainted one was [`Prior::refreshed`]) is rebuilt.
pub fn basis(spec: &TenantSpec, prior: &Prior<'_>) -> Basis {
    if prior.in_record {
        Basis::Observed
    } else if prior.replacing == Some(spec.tenant_id.as_str()) || prior.refreshed {
        Basis::Rebuild
    } else {
        Basis::Unrecorded
    }
}

/// The observation a [`Basis::Rebuild`] plans from: no part, only the
/// platform's facts.
pub fn rebuilt(observed: &ObservedTenant) -> ObservedTenant {
    ObservedTenant {
        tenant_id: observed.tenant_id.clone(),
        facts: observed.facts.clone(),
        ..ObservedTenant::default()
    }
}

/// Whether an apply without a record must first wait out a creation lease
/// (another run's lease appeared since the plan), then
/// [`refuse_live_lease`].
pub fn waits_out_lease(prior: &Prior<'_>, observed: &ObservedTenant) -> bool {
    !prior.in_record && observed.lease().is_some()
}

/// Refuses a tenant another run is creating: its lease is live at `now`
/// (after waiting it out, it was renewed). Two runs must not build one
/// tenant.
pub fn refuse_live_lease(observed: &ObservedTenant, now: SystemTime) -> Result<(), Refusal> {
    match observed.lease() {
        Some(lease) if lease.is_live(now) => Err(Refusal::BeingCreated(lease)),
        _ => Ok(()),
    }
}

/// An attribute whose change replaces the whole tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacedBy {
    /// `tenant_id` changed.
    TenantId,
    /// `id` changed.
    Id,
}

impl ReplacedBy {
    /// The attribute's name.
    pub fn attribute(self) -> &'static str {
        match self {
            ReplacedBy::TenantId => "tenant_id",
            ReplacedBy::Id => "id",
        }
    }
}

/// A planned change the policy allows.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The plan, without conflicts with the tenant being replaced.
    pub plan: TenantPlan,
    /// The tenant this change replaces (deleted first), if any.
    pub replacing: Option<String>,
    /// What forces a replacement of the tenant.
    pub replaced_by: Vec<ReplacedBy>,
    /// What a later planning of this change is told in
    /// [`Prior::replacing`] (Terraform plans a replacement twice, the
    /// second time with no prior): the other tenant replaced, or the one
    /// recorded (a tainted tenant is replaced by itself).
    pub replaces_next: Option<String>,
}

impl Decision {
    /// Whether the change destroys the tenant in the record first: then the
    /// destroy guards judge what the record holds.
    pub fn destroys_recorded(&self) -> bool {
        !self.replaced_by.is_empty()
    }
}

/// Why the policy refuses a planned change.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Parts under the tenant's names belong to someone else.
    Conflicts(Vec<ForeignPart>),
    /// The whole tenant exists but not in the caller's record: made
    /// elsewhere (another configuration, a lost state). Import it instead.
    ExistsElsewhere,
    /// Another run is creating the tenant now (its creation lease is live
    /// and was renewed while this one waited).
    BeingCreated(Lease),
}

impl Refusal {
    /// The attribute (SPEC §7) a refusal other than [`Refusal::Conflicts`]
    /// is about: the tenant id, which another record or run holds.
    pub fn attribute(&self) -> &'static str {
        ReplacedBy::TenantId.attribute()
    }
}

/// The attribute (SPEC §7) a conflict on `part` is about: a host (rule,
/// record) is the subdomain's, every other name the tenant id's.
pub fn conflict_attribute(part: Part) -> &'static str {
    match part {
        Part::ListenerRule | Part::DnsRecord => "subdomain",
        _ => ReplacedBy::TenantId.attribute(),
    }
}

/// Decides whether `plan` (of `spec` against `observed`) may go ahead.
///
/// A replacement is planned twice: with the prior record, then for the new
/// object with no prior and [`Prior::replacing`]. Either way the tenant being
/// replaced is deleted first, so what it owns (its subdomain) is not a
/// conflict. A whole tenant that exists but is not in the record was made
/// elsewhere: taking it over silently would let two records fight over it.
/// An interrupted run leaves a partial tenant (no service yet), which is
/// adopted; a complete one whose creation lease expired was left by a run
/// killed before its state was saved, and is adopted too ([`crate::lease`]).
pub fn decide(
    spec: &TenantSpec,
    observed: &ObservedTenant,
    plan: TenantPlan,
    prior: Prior<'_>,
) -> Result<Decision, Refusal> {
    let replacing = prior
        .tenant_id
        .or(prior.replacing)
        .filter(|id| *id != spec.tenant_id)
        .map(str::to_owned);
    let plan = match &replacing {
        Some(old) => plan.without_conflicts_owned_by(old),
        None => plan,
    };
    if !plan.conflicts.is_empty() {
        return Err(Refusal::Conflicts(plan.conflicts));
    }
    if !prior.in_record && replacing.is_none() {
        // Someone's create is running: two runs must not build one tenant.
        refuse_live_lease(observed, prior.now.unwrap_or_else(SystemTime::now))?;
        // An expired lease: its run died before its state was saved, and
        // the tenant is ours to finish; without one, a whole tenant was
        // made elsewhere.
        if observed.lease().is_none() && observed.is_complete_elsewhere() {
            return Err(Refusal::ExistsElsewhere);
        }
    }
    let mut replaced_by = Vec::new();
    if prior.in_record {
        if prior.tenant_id != Some(spec.tenant_id.as_str()) {
            replaced_by.push(ReplacedBy::TenantId);
        }
        let id = plan.planned_outputs(spec, observed).outputs.id;
        if prior.id != Some(id.as_str()) {
            replaced_by.push(ReplacedBy::Id);
        }
    }
    let replaces_next = replacing.clone().or_else(|| prior.tenant_id.map(str::to_owned));
    Ok(Decision {
        plan,
        replacing,
        replaced_by,
        replaces_next,
    })
}

/// The parts that `plan` (made at apply time, from a fresh observation)
/// would replace or delete although the plan the user approved kept them:
/// `shown` holds that plan's computed outputs, `None` where it showed
/// "known after apply". Terraform re-plans at apply without showing the
/// result, so without this check a part that drifted between plan and apply
/// would be destroyed unseen. A part whose identity the approved plan did not
/// show (created there, or replaced there too) is not flagged.
pub fn unplanned_destruction(plan: &TenantPlan, shown: &TenantOutputs) -> Vec<(Part, PartAction)> {
    plan.changes
        .iter()
        .filter(|c| matches!(c.action, PartAction::Replace(_) | PartAction::Delete))
        .filter(|c| shown_identity(c.part, shown).is_some())
        .map(|c| (c.part, c.action.clone()))
        .collect()
}

/// The computed output naming a part's current instance, for the parts a
/// plan can replace by themselves; `None` for parts identified by name
/// alone.
fn shown_identity(part: Part, shown: &TenantOutputs) -> Option<&str> {
    match part {
        Part::Service => shown.service_arn.as_deref(),
        Part::TargetGroup => shown.target_group_arn.as_deref(),
        Part::AccessPoint => shown.access_point_id.as_deref(),
        Part::ListenerRule => shown.listener_rule_arn.as_deref(),
        Part::Secret => shown.db_secret_arn.as_deref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::ForeignPart;
    use crate::parts::Part;
    use crate::plan::tests::{converged, spec};

    fn taken_subdomain(owner: &str) -> ForeignPart {
        ForeignPart {
            part: Part::ListenerRule,
            name: "host acme.wpdev.example.io (rule priority 7)".into(),
            found: format!("bbws:tenant={owner}"),
            owner: Some(owner.into()),
        }
    }

    #[test]
    fn a_whole_tenant_not_in_the_record_is_refused_and_a_partial_one_adopted() {
        let s = spec();
        let whole = converged();
        let refused = decide(&s, &whole, crate::plan(&s, &whole), Prior::default());
        assert!(matches!(refused, Err(Refusal::ExistsElsewhere)), "{refused:?}");

        let mut partial = converged();
        partial.service = None;
        let adopted = decide(&s, &partial, crate::plan(&s, &partial), Prior::default()).expect("adopted");
        assert!(adopted.replaced_by.is_empty() && adopted.replacing.is_none());

        let in_record = Prior {
            in_record: true,
            tenant_id: Some("123456789012"),
            id: Some("dev-123456789012"),
            replacing: None,
            now: None,
            refreshed: false,
        };
        let kept = decide(&s, &whole, crate::plan(&s, &whole), in_record).expect("in the record");
        assert!(kept.replaced_by.is_empty(), "{:?}", kept.replaced_by);
    }

    #[test]
    fn a_changed_tenant_id_replaces_and_frees_what_the_old_tenant_owns() {
        let s = spec();
        let mut observed = converged();
        observed.foreign.push(taken_subdomain("999999999999"));
        let prior = Prior {
            in_record: true,
            tenant_id: Some("999999999999"),
            id: Some("dev-999999999999"),
            replacing: None,
            now: None,
            refreshed: false,
        };
        let d = decide(&s, &observed, crate::plan(&s, &observed), prior).expect("replacement");
        assert_eq!(d.replacing.as_deref(), Some("999999999999"));
        assert_eq!(d.replaced_by, [ReplacedBy::TenantId, ReplacedBy::Id]);
        assert!(d.plan.conflicts.is_empty());

        // The second planning of the replacement: no prior, the marker.
        let second = Prior {
            replacing: Some("999999999999"),
            ..Prior::default()
        };
        let d = decide(&s, &observed, crate::plan(&s, &observed), second).expect("replacement");
        assert!(d.replaced_by.is_empty() && d.plan.conflicts.is_empty());
    }

    #[test]
    fn someone_elses_part_is_a_conflict() {
        let s = spec();
        let mut observed = converged();
        observed.service = None;
        observed.foreign.push(taken_subdomain("999999999999"));
        let refused = decide(&s, &observed, crate::plan(&s, &observed), Prior::default());
        assert!(
            matches!(&refused, Err(Refusal::Conflicts(c)) if c.len() == 1),
            "{refused:?}"
        );
    }

    #[test]
    fn a_replacement_the_approved_plan_did_not_show_is_flagged() {
        let s = spec();
        let mut drifted = converged();
        if let Some(tg) = drifted.target_group.as_mut() {
            tg.port = 8080;
        }
        let at_apply = crate::plan(&s, &drifted);
        // The approved plan saw a converged tenant: every identity known.
        let shown = crate::plan(&s, &converged()).planned_outputs(&s, &converged()).outputs;
        let flagged = unplanned_destruction(&at_apply, &shown);
        let parts: Vec<Part> = flagged.iter().map(|(p, _)| *p).collect();
        assert!(parts.contains(&Part::TargetGroup), "{flagged:?}");

        // Approved with the drift already seen: the target group showed as
        // known after apply, so nothing is new.
        let seen = at_apply.planned_outputs(&s, &drifted).outputs;
        assert!(unplanned_destruction(&at_apply, &seen).is_empty());
    }

    #[test]
    fn what_a_plan_is_made_from_follows_the_record() {
        let s = spec();
        let other = "999999999999";
        // (in record, replacing, refreshed) → basis
        let table: [(bool, Option<&str>, bool, Basis); 7] = [
            (true, None, false, Basis::Observed),
            // A refresh noted the tenant, but the record still holds it.
            (true, None, true, Basis::Observed),
            (false, None, false, Basis::Unrecorded),
            // The second planning of another tenant's replacement.
            (false, Some(other), false, Basis::Unrecorded),
            // The second planning of this tenant's forced replacement.
            (false, Some("123456789012"), false, Basis::Rebuild),
            // A tainted tenant: planned with a null prior after its refresh.
            (false, None, true, Basis::Rebuild),
            (false, Some(other), true, Basis::Rebuild),
        ];
        for (in_record, replacing, refreshed, want) in table {
            let prior = Prior {
                in_record,
                replacing,
                refreshed,
                ..Prior::default()
            };
            assert_eq!(basis(&s, &prior), want, "{prior:?}");
        }
    }

    #[test]
    fn a_rebuilt_tenant_is_planned_from_nothing_and_not_refused() {
        let s = spec();
        let whole = converged();
        let prior = Prior {
            refreshed: true,
            ..Prior::default()
        };
        assert_eq!(basis(&s, &prior), Basis::Rebuild);
        let nothing = rebuilt(&whole);
        assert!(!nothing.exists() && nothing.facts == whole.facts);
        let d = decide(&s, &nothing, crate::plan(&s, &nothing), prior).expect("a rebuild is not refused");
        assert!(d.replaced_by.is_empty() && d.replacing.is_none() && !d.destroys_recorded());
        // Planned from what is there, the same tenant would be refused.
        assert!(matches!(
            decide(&s, &whole, crate::plan(&s, &whole), Prior::default()),
            Err(Refusal::ExistsElsewhere)
        ));
    }

    #[test]
    fn the_second_planning_is_told_which_tenant_is_replaced() {
        let s = spec();
        let whole = converged();
        let recorded = |tenant_id| Prior {
            in_record: true,
            tenant_id: Some(tenant_id),
            id: Some("dev-123456789012"),
            ..Prior::default()
        };
        // In the record: a tainted replacement of itself names itself.
        let same = decide(&s, &whole, crate::plan(&s, &whole), recorded("123456789012")).expect("kept");
        assert_eq!(same.replaces_next.as_deref(), Some("123456789012"));
        assert!(!same.destroys_recorded());
        // Another tenant id: the old one is named, and destroyed first.
        let other = decide(&s, &whole, crate::plan(&s, &whole), recorded("999999999999")).expect("replaced");
        assert_eq!(other.replaces_next.as_deref(), Some("999999999999"));
        assert!(other.destroys_recorded());
        // A create: nothing to name.
        let mut partial = converged();
        partial.service = None;
        let created = decide(&s, &partial, crate::plan(&s, &partial), Prior::default()).expect("adopted");
        assert_eq!(created.replaces_next, None);
    }

    #[test]
    fn an_apply_without_a_record_waits_out_a_lease_and_refuses_a_live_one() {
        let now = SystemTime::now();
        let mut whole = converged();
        let unrecorded = Prior::default();
        let recorded = Prior {
            in_record: true,
            ..Prior::default()
        };
        assert!(!waits_out_lease(&unrecorded, &whole), "no lease");
        leased(&mut whole, &Lease::new("run-a", now));
        assert!(waits_out_lease(&unrecorded, &whole));
        assert!(!waits_out_lease(&recorded, &whole), "the record's own tenant");
        assert!(matches!(refuse_live_lease(&whole, now), Err(Refusal::BeingCreated(l)) if l.holder == "run-a"));
        assert!(refuse_live_lease(&whole, now + crate::lease::TTL).is_ok(), "expired");
    }

    #[test]
    fn refusals_name_the_attribute_they_are_about() {
        assert_eq!(conflict_attribute(Part::ListenerRule), "subdomain");
        assert_eq!(conflict_attribute(Part::DnsRecord), "subdomain");
        assert_eq!(conflict_attribute(Part::Secret), "tenant_id");
        assert_eq!(Refusal::ExistsElsewhere.attribute(), "tenant_id");
    }

    fn leased(observed: &mut ObservedTenant, lease: &Lease) {
        if let Some(secret) = observed.secret.as_mut() {
            let (k, v) = lease.tag();
            secret.tags.insert(k, v);
        }
    }

    #[test]
    fn a_complete_tenant_whose_lease_expired_is_adopted_and_a_live_one_refused() {
        let s = spec();
        let now = SystemTime::now();
        let at = |t| Prior {
            now: Some(t),
            ..Prior::default()
        };
        let mut whole = converged();
        leased(&mut whole, &Lease::new("run-a", now));
        let refused = decide(&s, &whole, crate::plan(&s, &whole), at(now));
        assert!(
            matches!(&refused, Err(Refusal::BeingCreated(l)) if l.holder == "run-a"),
            "{refused:?}"
        );
        let later = now + crate::lease::TTL;
        let adopted = decide(&s, &whole, crate::plan(&s, &whole), at(later));
        assert!(adopted.is_ok(), "{adopted:?}");

        // A partial tenant with a live lease: another run is building it.
        let mut partial = converged();
        partial.service = None;
        leased(&mut partial, &Lease::new("run-b", now));
        let refused = decide(&s, &partial, crate::plan(&s, &partial), at(now));
        assert!(matches!(refused, Err(Refusal::BeingCreated(_))), "{refused:?}");
    }
}

/// The subdomains claimed by the tenants planned in one process (one
/// Terraform walk plans every resource of the configuration in one
/// provider process): two tenants of one configuration with one subdomain
/// are refused at plan, before either has a listener rule to see.
#[derive(Debug, Default)]
pub struct SubdomainClaims {
    claims: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl SubdomainClaims {
    /// Claims the spec's subdomain for its tenant. The same tenant may
    /// claim it again (Terraform plans a resource more than once); another
    /// tenant's claim is a violation of `subdomain` naming that tenant.
    pub fn claim(&self, spec: &TenantSpec) -> Result<(), crate::validate::Violation> {
        let mut claims = self.claims.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let sub = spec.subdomain.to_ascii_lowercase();
        match claims.get(&sub) {
            Some(owner) if owner != &spec.tenant_id => Err(crate::validate::Violation::new(
                &["subdomain"],
                "subdomain_taken",
                format!(
                    "subdomain {sub:?} ({}) is also the subdomain of tenant {owner} in this configuration; each tenant needs its own",
                    spec.names().fqdn
                ),
            )),
            _ => {
                // A tenant that changed subdomain within the walk gives its
                // old claim up.
                claims.retain(|_, owner| owner != &spec.tenant_id);
                claims.insert(sub, spec.tenant_id.clone());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod claim_tests {
    use super::*;

    #[test]
    fn one_subdomain_serves_one_tenant_of_a_configuration() {
        let claims = SubdomainClaims::default();
        let a = crate::plan::tests::spec();
        let mut b = a.clone();
        b.tenant_id = "210987654321".into();
        assert!(claims.claim(&a).is_ok());
        assert!(claims.claim(&a).is_ok(), "the same tenant again");
        let v = claims.claim(&b).expect_err("another tenant");
        assert_eq!(v.attribute, vec!["subdomain".to_owned()]);
        assert!(v.message.contains(&a.tenant_id), "{}", v.message);
        b.subdomain = "other".into();
        assert!(claims.claim(&b).is_ok(), "another subdomain is free");
    }
}
