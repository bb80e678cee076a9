//! Placement of tenants on the listener pool (SPEC §8 `listener_arns`):
//! pure, from one shared observation of each listener's load.
//!
//! An ALB holds at most 100 target groups (a hard limit) and by default
//! 100 rules per listener; one tenant is one target group and one rule. A
//! new tenant goes on a listener with the most free slots (the engine picks
//! among ties at random); a tenant that exists stays where its rule is.

use crate::parts::{ListenerFacts, ObservedListenerRule};
use crate::spec::{Environment, Platform};

/// The listener a tenant is planned on when its configuration names none:
/// the one `recorded` for it (its state), while that is still in the pool.
/// A tenant placed by load stays where it was placed: a rule that went
/// missing (drift, a killed run) is made again on that listener, not on
/// whichever has room now. `asked` (a pin) always wins.
pub fn kept_listener(platform: &Platform, asked: Option<String>, recorded: Option<&str>) -> Option<String> {
    asked.or_else(|| {
        recorded
            .filter(|arn| platform.listener_arns.iter().any(|l| l == arn))
            .map(str::to_owned)
    })
}

/// Rules one listener may hold besides its default rule (AWS's default quota).
pub const MAX_RULES_PER_LISTENER: u32 = 100;
/// Target groups one ALB may be attached to (a hard AWS limit).
pub const MAX_TARGET_GROUPS_PER_LOAD_BALANCER: u32 = 100;
/// Certificates one ALB may serve besides its default one (AWS's default
/// quota): one per tenant with custom domains.
pub const MAX_CERTIFICATES_PER_LOAD_BALANCER: u32 = 25;

/// What one listener of the pool holds, from one observation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerLoad {
    /// The listener.
    pub listener_arn: String,
    /// Its load balancer.
    pub load_balancer_arn: String,
    /// The load balancer's DNS name.
    pub load_balancer_dns_name: String,
    /// Tenant ids of this environment with a rule on it, sorted.
    pub tenants: Vec<String>,
    /// Rules on it, the default rule left out (anyone's).
    pub rules: u32,
    /// Target groups its load balancer is attached to (anyone's).
    pub target_groups: u32,
    /// Certificates it serves by SNI (anyone's), when the tenant being
    /// placed needs one (it has custom domains); `None`: not counted.
    pub certificates: Option<u32>,
}

impl ListenerLoad {
    /// The load of `listener` from its rules and its load balancer's
    /// target group count.
    pub fn of(
        listener: &ListenerFacts,
        rules: &[ObservedListenerRule],
        target_groups: u32,
        environment: Environment,
    ) -> Self {
        let on: Vec<&ObservedListenerRule> = rules
            .iter()
            .filter(|r| r.listener_arn == listener.listener_arn)
            .collect();
        let mut tenants: Vec<String> = on
            .iter()
            .filter(|r| r.tags.get(crate::naming::TAG_ENVIRONMENT).map(String::as_str) == Some(environment.as_str()))
            .filter_map(|r| r.tags.get(crate::naming::TAG_TENANT).cloned())
            .collect();
        tenants.sort();
        tenants.dedup();
        ListenerLoad {
            listener_arn: listener.listener_arn.clone(),
            load_balancer_arn: listener.load_balancer_arn.clone(),
            load_balancer_dns_name: listener.load_balancer_dns_name.clone(),
            tenants,
            rules: u32::try_from(on.len()).unwrap_or(u32::MAX),
            target_groups,
            certificates: None,
        }
    }

    /// Certificates it may serve yet (AWS: 25 per load balancer, its
    /// default one aside); unlimited when not counted.
    pub fn certificates_left(&self) -> u32 {
        self.certificates
            .map_or(u32::MAX, |n| MAX_CERTIFICATES_PER_LOAD_BALANCER.saturating_sub(n))
    }

    /// Rules left on the listener.
    pub fn rules_left(&self) -> u32 {
        MAX_RULES_PER_LISTENER.saturating_sub(self.rules)
    }

    /// Target groups left on its load balancer.
    pub fn target_groups_left(&self) -> u32 {
        MAX_TARGET_GROUPS_PER_LOAD_BALANCER.saturating_sub(self.target_groups)
    }

    /// How many more tenants fit: the least of what AWS leaves and what
    /// `max_tenants_per_listener` leaves.
    pub fn free(&self, cap: Option<u32>) -> u32 {
        let tenants = u32::try_from(self.tenants.len()).unwrap_or(u32::MAX);
        let capped = cap.map_or(u32::MAX, |c| c.saturating_sub(tenants));
        (self.rules_left().min(self.target_groups_left()))
            .min(self.certificates_left())
            .min(capped)
    }
}

/// The new tenants one process plans: a Terraform walk plans every
/// resource in one process, so each plan-time check counts the others
/// that are not placed yet, and 150 new tenants are judged together.
#[derive(Debug, Default)]
pub struct PlacementClaims(std::sync::Mutex<std::collections::BTreeSet<String>>);

impl PlacementClaims {
    /// Claims a slot for `tenant_id`; returns how many new tenants want one
    /// now — the claimed ones the pool does not show yet (`placed`: the
    /// tenant ids on its listeners), this one included.
    pub fn claim(&self, tenant_id: &str, placed: &[&str]) -> u32 {
        let mut claimed = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        claimed.insert(tenant_id.to_owned());
        claimed.retain(|id| !placed.contains(&id.as_str()));
        u32::try_from(claimed.len()).unwrap_or(u32::MAX)
    }
}

/// The pool has no room for the tenants a plan creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFull {
    /// Listeners in the pool.
    pub listeners: usize,
    /// Free slots over the whole pool.
    pub free: u32,
    /// New tenants asking for a slot (this one included).
    pub wanted: u32,
    /// Tenants one more listener holds at most.
    pub per_listener: u32,
}

impl PoolFull {
    /// Listeners to add to `listener_arns` for every wanted tenant to fit.
    pub fn more_needed(&self) -> u32 {
        self.wanted.saturating_sub(self.free).div_ceil(self.per_listener.max(1))
    }
}

impl std::fmt::Display for PoolFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the listener pool is full: listener_arns has {} listener(s) with {} free slot(s) left, and {} new tenant(s) \
             need one; {} more listener(s) needed in listener_arns (one per load balancer, at most {} tenants each)",
            self.listeners,
            self.free,
            self.wanted,
            self.more_needed(),
            self.per_listener
        )
    }
}

/// Tenants one listener holds at most, whatever else is on it.
pub fn per_listener(cap: Option<u32>) -> u32 {
    let aws = MAX_RULES_PER_LISTENER.min(MAX_TARGET_GROUPS_PER_LOAD_BALANCER);
    cap.map_or(aws, |c| c.min(aws))
}

/// The first listener with the most free slots; `PoolFull` when no
/// listener has one.
pub fn place(pool: &[ListenerLoad], cap: Option<u32>) -> Result<&ListenerLoad, PoolFull> {
    Ok(best(pool, cap)?[0])
}

/// Every listener with the most free slots, in the pool's order (never
/// empty). Two pipelines creating at once from the same read would both
/// take the first; picking among these at random spreads them.
pub fn best(pool: &[ListenerLoad], cap: Option<u32>) -> Result<Vec<&ListenerLoad>, PoolFull> {
    room(pool, cap, 1)?;
    let most = pool.iter().map(|l| l.free(cap)).max().unwrap_or(0);
    let tied: Vec<&ListenerLoad> = pool.iter().filter(|l| l.free(cap) == most).collect();
    if most == 0 || tied.is_empty() {
        return Err(full(pool, cap, 1));
    }
    Ok(tied)
}

/// Counts the tenants this process placed (`placed`: tenant id → listener)
/// that a read does not show yet: each takes a tenant slot, a rule and a
/// target group of its listener's load balancer.
pub fn count_placed(pool: &mut [ListenerLoad], placed: &std::collections::BTreeMap<String, String>) {
    for (tenant, listener) in placed {
        if let Some(l) = pool
            .iter_mut()
            .find(|l| &l.listener_arn == listener && !l.tenants.contains(tenant))
        {
            l.tenants.push(tenant.clone());
            l.tenants.sort();
            l.rules = l.rules.saturating_add(1);
            l.target_groups = l.target_groups.saturating_add(1);
        }
    }
}

/// Whether `wanted` new tenants fit into the pool together.
pub fn room(pool: &[ListenerLoad], cap: Option<u32>, wanted: u32) -> Result<(), PoolFull> {
    let free: u32 = pool.iter().map(|l| l.free(cap)).sum();
    if free >= wanted {
        Ok(())
    } else {
        Err(full(pool, cap, wanted))
    }
}

fn full(pool: &[ListenerLoad], cap: Option<u32>, wanted: u32) -> PoolFull {
    PoolFull {
        listeners: pool.len(),
        free: pool.iter().map(|l| l.free(cap)).sum(),
        wanted,
        per_listener: per_listener(cap),
    }
}

/// Whether a listener is over what it may hold: more tenants than the cap,
/// or more rules or target groups than AWS allows (what a concurrent
/// creator finds after its create, and backs off from).
pub fn overfilled(load: &ListenerLoad, cap: Option<u32>) -> bool {
    let tenants = u32::try_from(load.tenants.len()).unwrap_or(u32::MAX);
    cap.is_some_and(|c| tenants > c)
        || load.rules > MAX_RULES_PER_LISTENER
        || load.target_groups > MAX_TARGET_GROUPS_PER_LOAD_BALANCER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_keeps_its_recorded_listener_while_the_pool_has_it() {
        let platform = Platform {
            listener_arns: vec!["l1".into(), "l2".into()],
            ..Platform::default()
        };
        assert_eq!(kept_listener(&platform, None, Some("l2")).as_deref(), Some("l2"));
        assert_eq!(
            kept_listener(&platform, Some("l1".into()), Some("l2")).as_deref(),
            Some("l1")
        );
        // A listener taken out of the pool is not kept: placed again.
        assert_eq!(kept_listener(&platform, None, Some("gone")), None);
        assert_eq!(kept_listener(&platform, None, None), None);
    }

    fn load(arn: &str, tenants: usize, rules: u32, target_groups: u32) -> ListenerLoad {
        ListenerLoad {
            listener_arn: arn.into(),
            tenants: (0..tenants).map(|i| format!("{i:012}")).collect(),
            rules,
            target_groups,
            ..ListenerLoad::default()
        }
    }

    #[test]
    fn a_new_tenant_goes_where_most_is_free_ties_to_the_first() {
        // (tenants, rules, target groups) per listener, cap, the one chosen
        type Case = (&'static [(usize, u32, u32)], Option<u32>, &'static str);
        let table: &[Case] = &[
            (&[(0, 0, 0), (0, 0, 0)], None, "l0"),
            (&[(1, 1, 1), (0, 0, 0)], None, "l1"),
            (&[(1, 1, 1), (1, 1, 1)], Some(2), "l0"),
            // rules of others count against AWS's limit, not the cap
            (&[(0, 99, 0), (5, 5, 5)], None, "l1"),
            // target groups of the ALB count too
            (&[(0, 0, 99), (5, 5, 5)], None, "l1"),
            // the cap binds before AWS's limits
            (&[(2, 2, 2), (1, 50, 50)], Some(2), "l1"),
        ];
        for (loads, cap, want) in table {
            let pool: Vec<ListenerLoad> = loads
                .iter()
                .enumerate()
                .map(|(i, (t, r, g))| load(&format!("l{i}"), *t, *r, *g))
                .collect();
            let got = place(&pool, *cap).expect("room").listener_arn.clone();
            assert_eq!(&got, want, "{loads:?} cap {cap:?}");
        }
    }

    #[test]
    fn the_tied_best_are_every_listener_with_the_most_free_slots() {
        let pool = vec![load("l0", 1, 1, 1), load("l1", 0, 0, 0), load("l2", 0, 0, 0)];
        let tied: Vec<&str> = best(&pool, Some(2))
            .expect("room")
            .iter()
            .map(|l| l.listener_arn.as_str())
            .collect();
        assert_eq!(tied, ["l1", "l2"]);
        assert!(best(&[load("l0", 2, 2, 2)], Some(2)).is_err());
    }

    #[test]
    fn certificates_count_only_for_a_tenant_that_needs_one() {
        let mut many_certs = load("l1", 10, 10, 10);
        let few_certs = load("l2", 50, 50, 50);
        // A tenant without custom domains: certificates are not counted.
        assert_eq!(
            place(&[many_certs.clone(), few_certs.clone()], None).map(|l| l.listener_arn.as_str()),
            Ok("l1")
        );
        // One with custom domains: l1 serves 25 already, l2 none.
        many_certs.certificates = Some(25);
        let counted = [
            many_certs,
            ListenerLoad {
                certificates: Some(0),
                ..few_certs
            },
        ];
        assert_eq!(counted[0].free(None), 0);
        assert_eq!(counted[1].free(None), 25);
        assert_eq!(place(&counted, None).map(|l| l.listener_arn.as_str()), Ok("l2"));
    }

    #[test]
    fn a_full_pool_refuses_and_counts_the_listeners_needed() {
        let pool = vec![load("l0", 2, 2, 2), load("l1", 2, 2, 2)];
        let full = place(&pool, Some(2)).expect_err("full");
        assert_eq!((full.free, full.wanted, full.more_needed()), (0, 1, 1));
        assert!(
            full.to_string().contains("1 more listener(s) needed in listener_arns"),
            "{full}"
        );
        // 150 tenants on two empty ALBs fit; 250 need a third listener
        let empty = vec![load("l0", 0, 0, 0), load("l1", 0, 0, 0)];
        assert!(room(&empty, None, 150).is_ok());
        let short = room(&empty, None, 250).expect_err("short");
        assert_eq!(short.more_needed(), 1);
        let short = room(&empty, Some(10), 45).expect_err("short");
        assert_eq!((short.free, short.more_needed()), (20, 3));
    }

    #[test]
    fn tenants_placed_by_this_process_count_until_a_read_shows_them() {
        // Four created at once from reads of two empty listeners, cap 2:
        // each placement counts the ones before it, so two go on each.
        let read = vec![load("l0", 0, 0, 0), load("l1", 0, 0, 0)];
        let mut placed = std::collections::BTreeMap::new();
        for t in ["t0", "t1", "t2", "t3"] {
            let mut pool = read.clone();
            count_placed(&mut pool, &placed);
            let l = place(&pool, Some(2)).expect("room").listener_arn.clone();
            placed.insert(t.to_owned(), l);
        }
        let on = |l: &str| placed.values().filter(|v| *v == l).count();
        assert_eq!((on("l0"), on("l1")), (2, 2), "{placed:?}");
        let mut pool = read.clone();
        count_placed(&mut pool, &placed);
        assert!(place(&pool, Some(2)).is_err(), "a fifth does not fit");
        // Once a read shows a placed tenant's rule, it is not counted twice.
        let mut seen = vec![load("l0", 0, 0, 0), load("l1", 0, 0, 0)];
        seen[0].tenants = vec!["t0".into()];
        seen[0].rules = 1;
        seen[0].target_groups = 1;
        let only_t0: std::collections::BTreeMap<String, String> = [("t0".to_owned(), "l0".to_owned())].into();
        count_placed(&mut seen, &only_t0);
        assert_eq!((seen[0].tenants.len(), seen[0].rules, seen[0].target_groups), (1, 1, 1));
    }

    #[test]
    fn aws_limits_fill_a_listener_without_a_cap() {
        let pool = vec![load("l0", 100, 100, 100)];
        assert!(place(&pool, None).is_err());
        assert!(overfilled(&load("l0", 3, 3, 3), Some(2)));
        assert!(!overfilled(&load("l0", 2, 2, 2), Some(2)));
        assert!(overfilled(&load("l0", 0, 101, 0), None));
    }
}
