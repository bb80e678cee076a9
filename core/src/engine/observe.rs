//! Observation: what exists under a tenant's names, read with shared calls
//! for many tenants at once, each part found by name and checked for
//! ownership; and discovery of an environment's tenants.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::try_join_all;

use super::Engine;
use super::snapshot::{Scope, Stamp, latest_revisions};
use crate::error::{CoreError, PartOrPlatform};
use crate::naming::TenantNames;
use crate::observed::{ForeignPart, ObservedTenant, TenantKey, describe_owner, owned_by};
use crate::parts::*;
use crate::ports::{MysqlAdmin, PortErrorKind};

/// What one observation read, before it is split by tenant.
pub(super) struct Reads<'a> {
    pub(super) facts: &'a PlatformFacts,
    pub(super) services: &'a [ObservedService],
    pub(super) target_groups: &'a [ObservedTargetGroup],
    pub(super) rules: &'a [ObservedListenerRule],
    pub(super) records: &'a [ObservedDnsRecord],
    pub(super) access_points: &'a [ObservedAccessPoint],
    pub(super) log_groups: &'a [ObservedLogGroup],
    pub(super) databases: &'a [ObservedDatabase],
    pub(super) users: &'a [ObservedDatabaseUser],
}

/// The per-name reads of one observation (services, target groups, MySQL),
/// for the names it was asked to read.
#[derive(Default)]
pub(super) struct NameReads {
    pub(super) services: Vec<ObservedService>,
    pub(super) target_groups: Vec<ObservedTargetGroup>,
    pub(super) databases: Vec<ObservedDatabase>,
    pub(super) users: Vec<ObservedDatabaseUser>,
}

impl NameReads {
    /// What was read for `names` alone (a batch reads ahead for more).
    fn only(self, names: &[TenantNames]) -> NameReads {
        let wants = |name: &str, pick: fn(&TenantNames) -> &str| names.iter().any(|n| pick(n) == name);
        NameReads {
            services: self
                .services
                .into_iter()
                .filter(|s| wants(&s.name, |n| &n.service))
                .collect(),
            target_groups: (self.target_groups.into_iter())
                .filter(|t| wants(&t.name, |n| &n.target_group))
                .collect(),
            databases: (self.databases.into_iter())
                .filter(|d| wants(&d.name, |n| &n.database))
                .collect(),
            users: (self.users.into_iter())
                .filter(|u| wants(&u.name, |n| &n.database_user))
                .collect(),
        }
    }

    /// Both reads together.
    fn and(mut self, other: NameReads) -> NameReads {
        self.services.extend(other.services);
        self.target_groups.extend(other.target_groups);
        self.databases.extend(other.databases);
        self.users.extend(other.users);
        self
    }
}

/// The environment-wide reads of one observation, and what it found for
/// each asked tenant's task definition and secret.
struct SharedReads {
    rules: Arc<Vec<ObservedListenerRule>>,
    records: Arc<Vec<ObservedDnsRecord>>,
    access_points: Arc<Vec<ObservedAccessPoint>>,
    log_groups: Arc<Vec<ObservedLogGroup>>,
    task_definitions: Vec<Option<ObservedTaskDefinition>>,
    secrets: Vec<Option<ObservedSecret>>,
}

impl Engine {
    /// Observes one tenant, fresh: every part is read now, nothing comes
    /// from the snapshot (what plan and apply decide from). What it reads
    /// is recorded in the snapshot for a refresh to reuse.
    pub async fn observe_tenant(&self, tenant_id: &str, subdomains: &[String]) -> Result<ObservedTenant, CoreError> {
        let key = TenantKey {
            tenant_id: tenant_id.to_owned(),
            subdomains: subdomains.to_vec(),
            custom_domains: Vec::new(),
        };
        self.observe_key(&key).await
    }

    /// [`Self::observe_tenant`] by key: with the custom domains a rule of
    /// someone else's must not route.
    pub async fn observe_key(&self, key: &TenantKey) -> Result<ObservedTenant, CoreError> {
        let mut all = self.observe_with(std::slice::from_ref(key), false, None).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// [`Self::observe_tenant`] with the tenant's DNS records as given
    /// instead of read: the read-back after an apply that just left them
    /// so. Route53 allows five requests a second for the whole account, and
    /// a zone listing is the one read it cannot answer by name.
    pub(super) async fn observe_tenant_with_records(
        &self,
        tenant_id: &str,
        subdomains: &[String],
        records: Vec<ObservedDnsRecord>,
    ) -> Result<ObservedTenant, CoreError> {
        let key = TenantKey {
            tenant_id: tenant_id.to_owned(),
            subdomains: subdomains.to_vec(),
            custom_domains: Vec::new(),
        };
        let mut all = self
            .observe_with(std::slice::from_ref(&key), false, Some(Arc::new(records)))
            .await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Observes one tenant by id alone: the first read finds its rule by
    /// tags, which names its subdomain, whose DNS record a second read
    /// finds when the first did not.
    pub async fn observe_by_id(&self, tenant_id: &str) -> Result<ObservedTenant, CoreError> {
        let first = self.observe_tenant(tenant_id, &[]).await?;
        match first.routed_subdomain(&self.platform.domain) {
            Some(sub) if first.dns_records.is_empty() => self.observe_tenant(tenant_id, &[sub]).await,
            _ => Ok(first),
        }
    }

    /// Every tenant of the environment ([`Self::discover`]), observed in one
    /// batch; the rules name the subdomains, and a second batch finds the
    /// DNS records under them.
    pub async fn observe_all(&self) -> Result<Vec<ObservedTenant>, CoreError> {
        let ids = self.discover().await?;
        let keys: Vec<TenantKey> = ids
            .iter()
            .map(|id| TenantKey {
                tenant_id: id.clone(),
                subdomains: Vec::new(),
                custom_domains: Vec::new(),
            })
            .collect();
        let first = self.observe_batch(&keys).await?;
        let keys: Vec<TenantKey> = first
            .iter()
            .map(|o| TenantKey {
                tenant_id: o.tenant_id.clone(),
                subdomains: o.routed_subdomain(&self.platform.domain).into_iter().collect(),
                custom_domains: Vec::new(),
            })
            .collect();
        self.observe_batch(&keys).await
    }

    /// One batch of a refresh ([`crate::batch::Refresh`]): shared reads —
    /// one call per listener, zone, file system and log-group prefix,
    /// batched service and target group descriptions, one MySQL query,
    /// whatever the number of tenants — from the snapshot where it holds
    /// them. A batch of one shares them too once this process has listed
    /// the environment (a straggler of the refresh, or the plan of a fleet
    /// apply's next tenant), listing again when they have expired: the
    /// tenants planned after it share the new listings. Read tenant by
    /// tenant instead, every tenant of a fleet create planned more than
    /// the snapshot's TTL into the walk cost about eight reads. A process's
    /// first lone tenant reads as [`Self::observe_tenant`] does.
    pub(crate) async fn observe_batch(&self, keys: &[TenantKey]) -> Result<Vec<ObservedTenant>, CoreError> {
        let shared = keys.len() > 1 || self.has_listed();
        self.observe_with(keys, shared, None).await
    }

    /// `shared`: a batch of a refresh, which reads the snapshot; otherwise
    /// everything is read. Both record what they read.
    /// `records`: the DNS records, when the caller knows them.
    async fn observe_with(
        &self,
        keys: &[TenantKey],
        shared: bool,
        records: Option<Arc<Vec<ObservedDnsRecord>>>,
    ) -> Result<Vec<ObservedTenant>, CoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let records_known = records.is_some();
        let facts = self.facts().await?.clone();
        let names: Vec<TenantNames> = keys.iter().map(|k| self.names_of(k)).collect();
        let _reading = if shared { Some(self.reading.lock().await) } else { None };
        // Stamped before any read: a write that overtakes them bumps the
        // generation, and what they found is then not recorded.
        let ids: Arc<[String]> = names.iter().map(|n| n.id.clone()).collect();
        let stamp = self.snapshot().stamp_for(Scope::Tenants(ids));
        // The per-name reads; a batch of a refresh reads ahead.
        let (wanted, held) = if shared {
            self.names_to_read(keys, &names)
        } else {
            (names.clone(), NameReads::default())
        };
        let mysql = self.mysql().await?;
        let one = one_tenant_rules(keys, &names, &self.platform.domain, shared);
        let (read, listed) = futures::try_join!(
            self.read_names(&wanted, mysql.as_ref()),
            self.read_shared(&names, one.as_ref(), records, shared, &stamp)
        )
        .map_err(|e| self.cluster_hint(e))?;
        self.snapshot().record_names(&stamp, &wanted, &read);
        let read = read.only(&names).and(held);
        let reads = Reads {
            facts: &facts,
            services: &read.services,
            target_groups: &read.target_groups,
            rules: &listed.rules,
            records: &listed.records,
            access_points: &listed.access_points,
            log_groups: &listed.log_groups,
            databases: &read.databases,
            users: &read.users,
        };
        let mut observed: Vec<ObservedTenant> = keys
            .iter()
            .zip(&names)
            .zip(listed.task_definitions.into_iter().zip(listed.secrets))
            .map(|((key, n), (td, secret))| self.assemble(key, n, &reads, td, secret))
            .collect();
        if let (Some(tenant), [o], false) = (&one, observed.as_mut_slice(), records_known) {
            self.read_routed_record(tenant, o, &facts).await?;
        }
        self.read_moved_target_groups(keys, &names, &reads, &mut observed)
            .await?;
        self.read_scaling(&mut observed).await?;
        self.read_certificates(&mut observed).await?;
        self.read_alarms(&mut observed).await?;
        Ok(observed)
    }

    /// The alarms of every tenant whose service carries the alarms marker,
    /// in one `DescribeAlarms` per hundred names; the others have none. An
    /// alarm under a tenant's name without its owner line is someone
    /// else's: a conflict, never changed.
    async fn read_alarms(&self, observed: &mut [ObservedTenant]) -> Result<(), CoreError> {
        let env = self.platform.environment;
        let marked =
            |o: &ObservedTenant| (o.service.as_ref()).is_some_and(|s| s.tags.contains_key(crate::naming::TAG_ALARMS));
        let names_of = |o: &ObservedTenant| crate::naming::TenantNames::new(env, &o.tenant_id, &o.tenant_id, "").alarms;
        let names: Vec<String> = observed.iter().filter(|o| marked(o)).flat_map(names_of).collect();
        if names.is_empty() {
            return Ok(());
        }
        let found = (self.ports.alarms.describe_alarms(&names).await)
            .map_err(|e| CoreError::port(Part::Alarms, "DescribeAlarms", e))?;
        for o in observed.iter_mut().filter(|o| marked(o)) {
            let ours = names_of(o);
            let owner = crate::naming::alarm_owner_line(env, &o.tenant_id);
            for a in found.iter().filter(|a| ours.contains(&a.definition.name)) {
                if a.definition.description.starts_with(&owner) {
                    o.alarms.push(a.clone());
                } else {
                    o.foreign.push(ForeignPart {
                        part: Part::Alarms,
                        name: a.definition.name.clone(),
                        found: "an alarm bbws did not make for this tenant (its description lacks the owner line)"
                            .into(),
                        owner: None,
                    });
                }
            }
        }
        Ok(())
    }

    /// The certificates the service's markers name, and which pool
    /// listeners serve them, for each tenant whose service has a marker
    /// (concurrently); the others have none.
    async fn read_certificates(&self, observed: &mut [ObservedTenant]) -> Result<(), CoreError> {
        let reads = observed.iter().map(|o| async move {
            let tags = o.service.as_ref().map(|s| &s.tags);
            let marker = |key: &str| tags.and_then(|t| t.get(key)).cloned();
            let (current, superseded) = (
                marker(crate::naming::TAG_CERTIFICATE),
                marker(crate::naming::TAG_CERTIFICATE_SUPERSEDED),
            );
            if current.is_none() && superseded.is_none() {
                return Ok((None, None, Vec::new(), Vec::new()));
            }
            let certificate = match &current {
                Some(arn) => self
                    .ports
                    .certificates
                    .describe_certificate(arn)
                    .await
                    .map_err(|e| CoreError::port(Part::Certificate, "DescribeCertificate", e))?,
                None => None,
            };
            let missing = match &certificate {
                Some(c) => self.missing_validation_records(c).await?,
                None => Vec::new(),
            };
            let ours: Vec<&String> = current.iter().chain(&superseded).collect();
            let mut served = Vec::new();
            for listener in &self.platform.listener_arns {
                let on = (self.ports.elbv2.listener_certificates(listener).await)
                    .map_err(|e| CoreError::port(Part::Certificate, "DescribeListenerCertificates", e))?;
                served.extend(
                    on.into_iter()
                        .filter(|c| ours.contains(&c))
                        .map(|c| (listener.clone(), c)),
                );
            }
            Ok::<_, CoreError>((certificate, superseded, served, missing))
        });
        let found = futures::future::try_join_all(reads).await?;
        for (o, (certificate, superseded, served, missing)) in observed.iter_mut().zip(found) {
            o.certificate = certificate;
            o.superseded_certificate = superseded;
            o.served_certificates = served;
            o.validation_missing = missing;
        }
        Ok(())
    }

    /// The scaling of each tenant whose service carries the autoscaling
    /// marker (a scalable target has no tags of its own to list by), read
    /// concurrently; the others have none.
    async fn read_scaling(&self, observed: &mut [ObservedTenant]) -> Result<(), CoreError> {
        let reads = observed.iter().map(|o| async move {
            let Some(s) = o
                .service
                .as_ref()
                .filter(|s| s.tags.contains_key(crate::naming::TAG_AUTOSCALING))
            else {
                return Ok(None);
            };
            let resource_id = crate::naming::scaling_resource_id(&s.cluster, &s.name);
            self.ports
                .scaling
                .describe_scaling(&resource_id)
                .await
                .map_err(|e| CoreError::port(Part::Scaling, "DescribeScalableTargets", e))
        });
        let found = futures::future::try_join_all(reads).await?;
        for (o, scaling) in observed.iter_mut().zip(found) {
            o.scaling = scaling;
        }
        Ok(())
    }

    /// A tenant that moved listeners uses its other target group name,
    /// which the read by its first name did not find: read now, for those
    /// tenants only (one call for all of them), and their observations
    /// assembled again.
    async fn read_moved_target_groups(
        &self,
        keys: &[TenantKey],
        names: &[TenantNames],
        reads: &Reads<'_>,
        observed: &mut [ObservedTenant],
    ) -> Result<(), CoreError> {
        let unread: Vec<String> = observed
            .iter()
            .zip(names)
            .filter_map(|(o, n)| unread_target_group(o, n))
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        let more = self
            .ports
            .elbv2
            .describe_target_groups(&unread)
            .await
            .map_err(|e| CoreError::port(Part::TargetGroup, "DescribeTargetGroups", e))?;
        let mut groups = reads.target_groups.to_vec();
        groups.extend(more);
        let with_more = Reads {
            target_groups: &groups,
            ..*reads
        };
        for ((o, key), n) in observed.iter_mut().zip(keys).zip(names) {
            if unread_target_group(o, n).is_some() {
                let records = std::mem::take(&mut o.dns_records);
                let td = o.task_definition.take();
                let secret = o.secret.take();
                *o = self.assemble(key, n, &with_more, td, secret);
                o.dns_records = records;
            }
        }
        Ok(())
    }

    /// One tenant's records were read at its names; its rule may route one
    /// more (a rename a killed run left half-done), whose alias is the
    /// tenant's too.
    async fn read_routed_record(
        &self,
        tenant: &TenantRules,
        o: &mut ObservedTenant,
        facts: &PlatformFacts,
    ) -> Result<(), CoreError> {
        let domain = &self.platform.domain;
        let Some(routed) = o.routed_subdomain(domain).map(|s| crate::naming::fqdn(&s, domain)) else {
            return Ok(());
        };
        if tenant.hosts.contains(&routed) {
            return Ok(());
        }
        let more = self.read_records_named(std::slice::from_ref(&routed)).await?;
        o.dns_records
            .extend(more.iter().filter(|r| points_at(&r.target, facts)).cloned());
        Ok(())
    }

    /// The names of a key's parts, under its current (first) subdomain.
    pub(super) fn names_of(&self, key: &TenantKey) -> TenantNames {
        let p = &self.platform;
        let sub = key.subdomains.first().cloned().unwrap_or_else(|| key.tenant_id.clone());
        TenantNames::new(p.environment, &key.tenant_id, &sub, &p.domain)
    }

    /// DescribeServices, DescribeTargetGroups and the MySQL query for
    /// `wanted`: what cannot be listed environment-wide.
    async fn read_names(&self, wanted: &[TenantNames], mysql: &dyn MysqlAdmin) -> Result<NameReads, CoreError> {
        let p = &self.platform;
        let service_names: Vec<String> = wanted.iter().map(|n| n.service.clone()).collect();
        let tg_names: Vec<String> = wanted.iter().map(|n| n.target_group.clone()).collect();
        let databases: Vec<String> = wanted.iter().map(|n| n.database.clone()).collect();
        let users: Vec<String> = wanted.iter().map(|n| n.database_user.clone()).collect();
        let part_err = |part: Part, op: &'static str| move |e| CoreError::port(part, op, e);
        let (services, target_groups, (databases, users)) = futures::try_join!(
            async {
                if service_names.is_empty() {
                    return Ok(Vec::new());
                }
                self.ports
                    .ecs
                    .describe_services(&p.cluster, &service_names)
                    .await
                    .map_err(part_err(Part::Service, "DescribeServices"))
            },
            async {
                if tg_names.is_empty() {
                    return Ok(Vec::new());
                }
                self.ports
                    .elbv2
                    .describe_target_groups(&tg_names)
                    .await
                    .map_err(part_err(Part::TargetGroup, "DescribeTargetGroups"))
            },
            async {
                if databases.is_empty() && users.is_empty() {
                    return Ok((Vec::new(), Vec::new()));
                }
                mysql
                    .observe(&databases, &users)
                    .await
                    .map_err(part_err(Part::Database, "observe"))
            },
        )?;
        Ok(NameReads {
            services,
            target_groups,
            databases,
            users,
        })
    }

    /// The listings (rules, records, access points, log groups) and each
    /// tenant's task definition and secret: listed for a batch of a
    /// refresh, read by name for one tenant.
    async fn read_shared(
        &self,
        names: &[TenantNames],
        one: Option<&TenantRules>,
        known_records: Option<Arc<Vec<ObservedDnsRecord>>>,
        shared: bool,
        stamp: &Stamp,
    ) -> Result<SharedReads, CoreError> {
        let records = async {
            match (known_records, one) {
                (Some(r), _) => Ok(r),
                // One tenant's: read at its names, not the whole zone.
                (None, Some(tenant)) => self.read_records_named(&tenant.hosts).await,
                (None, None) => self.read_records(shared, stamp).await,
            }
        };
        let rules = async {
            match one {
                Some(tenant) => self.read_tenant_rules(tenant).await,
                None => self.read_rules(shared, stamp).await,
            }
        };
        let (rules, records, access_points, log_groups, task_definitions, secrets) = futures::try_join!(
            rules,
            records,
            self.read_access_points(shared, stamp),
            self.read_log_groups(names, shared, stamp),
            self.read_task_definitions(names, shared, stamp),
            self.read_secrets(names, shared, stamp),
        )?;
        Ok(SharedReads {
            rules,
            records,
            access_points,
            log_groups,
            task_definitions,
            secrets,
        })
    }

    pub(super) async fn read_rules(
        &self,
        shared: bool,
        stamp: &Stamp,
    ) -> Result<Arc<Vec<ObservedListenerRule>>, CoreError> {
        let fetch = async {
            let rules = self
                .ports
                .elbv2
                .describe_pool_rules(&self.platform.listener_arns)
                .await?;
            self.snapshot().learn_rule_tags(&rules);
            Ok(rules)
        };
        self.listing(shared, stamp, |s| &mut s.rules, fetch)
            .await
            .map_err(|e| self.rules_error(e))
    }

    /// The pool's rules for one tenant's observation: only the rules it may
    /// hold carry tags, so the listing is not recorded in the snapshot
    /// (whose rules a refresh reads for every tenant).
    async fn read_tenant_rules(&self, tenant: &TenantRules) -> Result<Arc<Vec<ObservedListenerRule>>, CoreError> {
        self.ports
            .elbv2
            .describe_pool_tenant_rules(&self.platform.listener_arns, tenant)
            .await
            .map(Arc::new)
            .map_err(|e| self.rules_error(e))
    }

    /// A failed DescribeRules; a missing listener names the setting.
    pub(super) fn rules_error(&self, e: crate::ports::PortError) -> CoreError {
        let p = &self.platform;
        match e.kind {
            PortErrorKind::NotFound => CoreError::Platform {
                setting: if p.listener_arns.len() > 1 {
                    "listener_arns"
                } else {
                    "listener_arn"
                },
                message: format!("a listener of {:?} was not found: {e}", p.listener_arns),
            },
            _ => CoreError::port(Part::ListenerRule, "DescribeRules", e),
        }
    }

    async fn read_records(&self, shared: bool, stamp: &Stamp) -> Result<Arc<Vec<ObservedDnsRecord>>, CoreError> {
        let fetch = self.ports.route53.list_records(&self.platform.hosted_zone_id);
        self.listing(shared, stamp, |s| &mut s.records, fetch)
            .await
            .map_err(|e| self.records_error(e))
    }

    /// The records under `names` only (not recorded in the snapshot, whose
    /// records are the whole zone's).
    async fn read_records_named(&self, names: &[String]) -> Result<Arc<Vec<ObservedDnsRecord>>, CoreError> {
        self.ports
            .route53
            .records_named(&self.platform.hosted_zone_id, names)
            .await
            .map(Arc::new)
            .map_err(|e| self.records_error(e))
    }

    /// A failed record read; a missing zone names the setting.
    fn records_error(&self, e: crate::ports::PortError) -> CoreError {
        let p = &self.platform;
        match e.kind {
            PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                setting: "hosted_zone_id",
                message: format!(
                    "hosted zone {:?} was not found ({e}); set hosted_zone_id to the Route53 zone of {}",
                    p.hosted_zone_id, p.domain
                ),
            },
            _ => CoreError::port(PartOrPlatform::Platform, "ListResourceRecordSets", e),
        }
    }

    async fn read_access_points(
        &self,
        shared: bool,
        stamp: &Stamp,
    ) -> Result<Arc<Vec<ObservedAccessPoint>>, CoreError> {
        let p = &self.platform;
        let fetch = self.ports.efs.describe_access_points(&p.efs_file_system_id);
        self.listing(shared, stamp, |s| &mut s.access_points, fetch)
            .await
            .map_err(|e| match e.kind {
                PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                    setting: "efs_file_system_id",
                    message: format!(
                        "EFS file system {:?} was not found ({e}); set efs_file_system_id to the environment's WordPress file system (fs-…)",
                        p.efs_file_system_id
                    ),
                },
                _ => CoreError::port(Part::AccessPoint, "DescribeAccessPoints", e),
            })
    }

    /// One tenant's log group (by its name as a prefix), or every group of
    /// the environment.
    async fn read_log_groups(
        &self,
        names: &[TenantNames],
        shared: bool,
        stamp: &Stamp,
    ) -> Result<Arc<Vec<ObservedLogGroup>>, CoreError> {
        let env = self.platform.environment;
        let logs_err = |e| CoreError::port(Part::LogGroup, "DescribeLogGroups", e);
        let own = names.first().filter(|_| !shared);
        let Some(n) = own else {
            let prefix = format!("/ecs/{env}-");
            let fetch = self.ports.logs.describe_log_groups(&prefix);
            return self
                .listing(shared, stamp, |s| &mut s.log_groups, fetch)
                .await
                .map_err(logs_err);
        };
        let groups = self
            .ports
            .logs
            .describe_log_groups(&n.log_group)
            .await
            .map_err(logs_err)?;
        let own = groups.iter().find(|g| g.name == n.log_group).cloned();
        self.snapshot()
            .record(stamp.clone(), |s| &mut s.log_group, &n.log_group, own);
        Ok(Arc::new(groups))
    }

    /// Each tenant's latest revision: described by family for one tenant;
    /// for many, one listing of the environment's ACTIVE revisions, and
    /// only revisions not seen before are described.
    async fn read_task_definitions(
        &self,
        names: &[TenantNames],
        shared: bool,
        stamp: &Stamp,
    ) -> Result<Vec<Option<ObservedTaskDefinition>>, CoreError> {
        let describe_err = |e| CoreError::port(Part::TaskDefinition, "DescribeTaskDefinition", e);
        if !shared {
            return try_join_all(names.iter().map(|n| async move {
                let latest = self.ports.ecs.latest_task_definition(&n.task_family).await?;
                let family = &n.task_family;
                self.snapshot()
                    .record(stamp.clone(), |s| &mut s.latest_revision, family, latest.clone());
                Ok(latest)
            }))
            .await
            .map_err(describe_err);
        }
        let prefix = format!("{}-", self.platform.environment);
        let fetch = self.ports.ecs.list_task_definitions_by_prefix(&prefix);
        let arns = self
            .listing(shared, stamp, |s| &mut s.revision_arns, fetch)
            .await
            .map_err(|e| CoreError::port(Part::TaskDefinition, "ListTaskDefinitions", e))?;
        let latest = latest_revisions(&arns);
        try_join_all(names.iter().map(|n| async {
            match latest.get(n.task_family.as_str()) {
                None => Ok(None),
                Some(arn) => self.revision(arn).await,
            }
        }))
        .await
        .map_err(describe_err)
    }

    /// Each tenant's secret: described for one tenant; for many, one
    /// listing of the environment's secrets.
    async fn read_secrets(
        &self,
        names: &[TenantNames],
        shared: bool,
        stamp: &Stamp,
    ) -> Result<Vec<Option<ObservedSecret>>, CoreError> {
        if !shared {
            return try_join_all(names.iter().map(|n| async move {
                let secret = self.ports.secrets.describe_secret(&n.secret).await?;
                self.snapshot()
                    .record(stamp.clone(), |s| &mut s.secret, &n.secret, secret.clone());
                Ok(secret)
            }))
            .await
            .map_err(|e| CoreError::port(Part::Secret, "DescribeSecret", e));
        }
        let prefix = format!("{}-", self.platform.environment);
        let fetch = self.ports.secrets.list_secrets(&prefix);
        let listed = self
            .listing(shared, stamp, |s| &mut s.secrets, fetch)
            .await
            .map_err(|e| CoreError::port(Part::Secret, "ListSecrets", e))?;
        Ok(names
            .iter()
            .map(|n| listed.iter().find(|s| s.name == n.secret).cloned())
            .collect())
    }

    /// One tenant's observation out of what a batch read, each part found
    /// by name and checked for ownership.
    pub(super) fn assemble(
        &self,
        key: &TenantKey,
        n: &TenantNames,
        reads: &Reads<'_>,
        td: Option<ObservedTaskDefinition>,
        secret: Option<ObservedSecret>,
    ) -> ObservedTenant {
        let tid = key.tenant_id.as_str();
        let mut o = ObservedTenant {
            tenant_id: tid.to_owned(),
            facts: Some(reads.facts.clone()),
            ..Default::default()
        };
        let mut owners = Ownership {
            tenant_id: tid,
            environment: self.platform.environment,
            foreign: Vec::new(),
        };
        o.service = reads
            .services
            .iter()
            .find(|s| s.name == n.service)
            .filter(|s| owners.adopt(Part::Service, &s.name, &s.tags))
            .cloned();
        (o.target_group, o.leftover_target_groups) = owners.target_groups(reads.target_groups, n, o.service.as_ref());
        if let Some(t) = &td {
            self.know_revision(t.clone());
        }
        o.task_definition = td.filter(|t| owners.adopt(Part::TaskDefinition, &t.family, &t.tags));
        o.secret = secret.filter(|s| owners.adopt(Part::Secret, &s.name, &s.tags));
        o.log_group = reads
            .log_groups
            .iter()
            .find(|l| l.name == n.log_group)
            .filter(|l| owners.adopt(Part::LogGroup, &l.name, &l.tags))
            .cloned();
        o.access_point = owners.access_point(reads.access_points, n);
        (o.listener_rule, o.leftover_rules) = owners.listener_rules(reads.rules, n, o.target_group.as_ref());
        owners.custom_domains_taken(reads.rules, &key.custom_domains);
        o.database = reads.databases.iter().find(|d| d.name == n.database).cloned();
        o.database_user = reads.users.iter().find(|u| u.name == n.database_user).cloned();
        self.find_dns_records(&mut o, &mut owners, key, n, reads);
        o.foreign = owners.foreign;
        o
    }

    /// DNS: records under any name the tenant used that point at the
    /// platform's load balancer.
    fn find_dns_records(
        &self,
        o: &mut ObservedTenant,
        owners: &mut Ownership<'_>,
        key: &TenantKey,
        n: &TenantNames,
        reads: &Reads<'_>,
    ) {
        let domain = &self.platform.domain;
        let mut candidates: HashSet<String> = key.subdomains.iter().map(|s| crate::naming::fqdn(s, domain)).collect();
        candidates.insert(n.fqdn.clone());
        if let Some(sub) = o.routed_subdomain(domain) {
            candidates.insert(crate::naming::fqdn(&sub, domain));
        }
        for r in reads.records.iter().filter(|r| candidates.contains(&r.name)) {
            if points_at(&r.target, reads.facts) {
                o.dns_records.push(r.clone());
            } else if r.name == n.fqdn {
                owners.foreign.push(ForeignPart {
                    part: Part::DnsRecord,
                    name: r.name.clone(),
                    found: describe_record(&r.target),
                    owner: None,
                });
            }
        }
    }

    /// The ids of every tenant of this environment, found by ownership tags
    /// on the pool listeners' rules and on the log groups under `/ecs/{env}-`
    /// (two reads, whatever the number of tenants), sorted.
    pub async fn discover(&self) -> Result<Vec<String>, CoreError> {
        let p = &self.platform;
        let env = p.environment;
        let (rules, groups) = futures::try_join!(
            async {
                self.ports
                    .elbv2
                    .describe_pool_rules(&p.listener_arns)
                    .await
                    .map_err(|e| CoreError::port(Part::ListenerRule, "DescribeRules", e))
            },
            async {
                self.ports
                    .logs
                    .describe_log_groups(&format!("/ecs/{env}-"))
                    .await
                    .map_err(|e| CoreError::port(Part::LogGroup, "DescribeLogGroups", e))
            },
        )?;
        let ours = |tags: &Tags| {
            (tags.get(crate::naming::TAG_ENVIRONMENT).map(String::as_str) == Some(env.as_str()))
                .then(|| tags.get(crate::naming::TAG_TENANT).cloned())
                .flatten()
                .filter(|id| crate::validate::is_tenant_id(id))
        };
        let mut ids: Vec<String> = rules
            .iter()
            .filter_map(|r| ours(&r.tags))
            .chain(groups.iter().filter_map(|g| ours(&g.tags)))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn cluster_hint(&self, e: CoreError) -> CoreError {
        match &e {
            CoreError::Port {
                part: PartOrPlatform::Part(Part::Service),
                source,
                ..
            } if source.code.contains("ClusterNotFound") => CoreError::Platform {
                setting: "cluster",
                message: format!(
                    "ECS cluster {:?} was not found ({source}); set cluster to the environment's cluster (default \"{{env}}-cluster\")",
                    self.platform.cluster
                ),
            },
            _ => e,
        }
    }
}

/// Ownership checks of one tenant's observation, and the parts found under
/// its names that belong to someone else.
struct Ownership<'a> {
    tenant_id: &'a str,
    environment: crate::spec::Environment,
    foreign: Vec<ForeignPart>,
}

impl Ownership<'_> {
    fn owns(&self, tags: &Tags) -> bool {
        owned_by(tags, self.tenant_id, self.environment)
    }

    /// Whether a part under our name is ours; if not, it is recorded as
    /// foreign.
    fn adopt(&mut self, part: Part, name: &str, tags: &Tags) -> bool {
        if self.owns(tags) {
            return true;
        }
        self.foreign.push(ForeignPart {
            part,
            name: name.to_owned(),
            found: describe_owner(tags),
            owner: owner_of(tags),
        });
        false
    }

    /// Access points have no unique name: ours carry our tags. One with our
    /// Name tag but other tags is someone else's.
    fn access_point(&mut self, aps: &[ObservedAccessPoint], n: &TenantNames) -> Option<ObservedAccessPoint> {
        let ours = aps
            .iter()
            .find(|a| a.name == n.access_point && self.owns(&a.tags))
            .cloned();
        if ours.is_none()
            && let Some(a) = aps.iter().find(|a| a.name == n.access_point)
        {
            self.adopt(Part::AccessPoint, &a.id, &a.tags);
        }
        ours
    }

    /// The tenant's target groups under its two names: the one its service
    /// uses (else the first name's, else the other), and the rest (a move
    /// a run did not finish).
    fn target_groups(
        &mut self,
        groups: &[ObservedTargetGroup],
        n: &TenantNames,
        service: Option<&ObservedService>,
    ) -> (Option<ObservedTargetGroup>, Vec<ObservedTargetGroup>) {
        let mut ours: Vec<ObservedTargetGroup> = Vec::new();
        for t in groups.iter().filter(|t| n.is_target_group(&t.name)) {
            if !ours.iter().any(|o| o.arn == t.arn) && self.adopt(Part::TargetGroup, &t.name, &t.tags) {
                ours.push(t.clone());
            }
        }
        let in_use = |t: &ObservedTargetGroup| service.is_some_and(|s| s.target_group_arns.contains(&t.arn));
        let pick = (ours.iter().position(in_use)).or_else(|| ours.iter().position(|t| t.name == n.target_group));
        split_off(ours, pick)
    }

    /// Listener rules: ours by tags — the one forwarding to the tenant's
    /// target group (else the first), and the rest (a move a run did not
    /// finish); a rule routing our host that is not ours means the
    /// subdomain is taken.
    fn listener_rules(
        &mut self,
        rules: &[ObservedListenerRule],
        n: &TenantNames,
        target_group: Option<&ObservedTargetGroup>,
    ) -> (Option<ObservedListenerRule>, Vec<ObservedListenerRule>) {
        let mut ours: Vec<ObservedListenerRule> = Vec::new();
        for r in rules.iter().filter(|r| self.owns(&r.tags)) {
            if !ours.iter().any(|o| o.arn == r.arn) {
                ours.push(r.clone());
            }
        }
        let forwards_to_it = |r: &ObservedListenerRule| matches!((&r.action, target_group), (Some(RuleAction::Forward(arn)), Some(t)) if *arn == t.arn);
        let pick = ours.iter().position(forwards_to_it);
        let ours = split_off(ours, pick);
        if let Some(r) = rules.iter().find(|r| r.hosts.contains(&n.fqdn) && !self.owns(&r.tags)) {
            self.foreign.push(ForeignPart {
                part: Part::ListenerRule,
                name: format!("host {} (rule priority {})", n.fqdn, r.priority),
                found: describe_owner(&r.tags),
                owner: owner_of(&r.tags),
            });
        }
        ours
    }
}

impl Ownership<'_> {
    /// A rule of someone else's that routes one of the custom domains the
    /// tenant is to route: the domain is taken.
    fn custom_domains_taken(&mut self, rules: &[ObservedListenerRule], domains: &[String]) {
        for d in domains {
            let routes = |r: &&ObservedListenerRule| r.hosts.iter().any(|h| h.eq_ignore_ascii_case(d));
            if let Some(r) = rules.iter().filter(routes).find(|r| !self.owns(&r.tags)) {
                self.foreign.push(ForeignPart {
                    part: Part::ListenerRule,
                    name: format!("custom domain {d} (rule priority {})", r.priority),
                    found: describe_owner(&r.tags),
                    owner: owner_of(&r.tags),
                });
            }
        }
    }
}

/// The part at `pick` (else the first) and the others: the tenant's part
/// and what a move a run did not finish left.
fn split_off<T>(mut parts: Vec<T>, pick: Option<usize>) -> (Option<T>, Vec<T>) {
    if parts.is_empty() {
        return (None, parts);
    }
    let part = parts.remove(pick.unwrap_or(0));
    (Some(part), parts)
}

fn owner_of(tags: &Tags) -> Option<String> {
    tags.get(crate::naming::TAG_TENANT).cloned()
}

/// Someone else's record as a person reads it.
fn describe_record(target: &RecordTarget) -> String {
    match target {
        RecordTarget::Alias { dns_name, .. } => {
            format!("an A alias record to {dns_name}, not the platform's load balancer")
        }
        RecordTarget::Cname(v) => format!("a CNAME record to {v}, not the platform's load balancer"),
        RecordTarget::Other { record_type, values } => {
            format!(
                "a {record_type} record ({}) that bbws did not create",
                values.join(", ")
            )
        }
    }
}

/// Whether a record points at a load balancer of the pool.
fn points_at(target: &RecordTarget, facts: &PlatformFacts) -> bool {
    let norm = |s: &str| {
        s.trim_end_matches('.')
            .trim_start_matches("dualstack.")
            .to_ascii_lowercase()
    };
    let is_pool_lb = |name: &str| {
        let name = norm(name);
        facts.listeners.iter().any(|l| norm(&l.load_balancer_dns_name) == name)
    };
    match target {
        RecordTarget::Alias { dns_name, .. } => is_pool_lb(dns_name),
        RecordTarget::Cname(v) => is_pool_lb(v),
        RecordTarget::Other { .. } => false,
    }
}

/// The tenant's target group name that its service or one of its rules
/// uses but that this observation did not read (the other name, after a
/// move).
pub(super) fn unread_target_group(o: &ObservedTenant, n: &TenantNames) -> Option<String> {
    let read = |name: &str| (o.target_group.iter().chain(&o.leftover_target_groups)).any(|t| t.name == name);
    let forwards = (o.listener_rule.iter().chain(&o.leftover_rules)).filter_map(|r| match &r.action {
        Some(RuleAction::Forward(arn)) => Some(arn),
        _ => None,
    });
    let used = o
        .service
        .iter()
        .flat_map(|s| s.target_group_arns.iter())
        .chain(forwards);
    used.filter_map(|arn| target_group_name(arn))
        .find(|name| n.is_target_group(name) && !read(name))
        .map(str::to_owned)
}

/// The rules one tenant may hold, when one tenant of known subdomains is
/// read outside a refresh; `None` otherwise (a refresh lists every rule with
/// its tags once, and a tenant found by id alone is found by its rule's tags).
fn one_tenant_rules(keys: &[TenantKey], names: &[TenantNames], domain: &str, shared: bool) -> Option<TenantRules> {
    match (keys, names) {
        ([key], [n]) if !shared && !key.subdomains.is_empty() => Some(TenantRules {
            hosts: (key.subdomains.iter().map(|s| crate::naming::fqdn(s, domain)))
                .chain(key.custom_domains.iter().cloned())
                .collect(),
            target_groups: vec![n.target_group.clone(), n.target_group_alternate.clone()],
        }),
        _ => None,
    }
}
