//! Apply: one execution of a plan, stage by stage. Independent parts are
//! converged concurrently (stage 1), dependent ones in order (task
//! definition → listener rule ∥ DNS → service), and what was replaced is
//! removed last, once nothing uses it. Each part's work is one function.

use std::sync::Mutex;

use super::made::Made;
use super::rollback::Created;
use super::token::RunToken;
use super::{Engine, StepFailure, StepResult, fail, ignore_not_found};
use crate::credentials::{ApplyInputs, generate_password};
use crate::error::CoreError;
use crate::naming::TenantNames;
use crate::observed::ObservedTenant;
use crate::parts::*;
use crate::plan::{
    DatabaseUserField, ListenerRuleField, LogGroupField, PartAction, ScalingField, SecretField, ServiceField,
    TargetGroupField, TenantPlan, moves_in_place, needs_new_revision,
};
use crate::ports::{MysqlAdmin, MysqlUser, PasswordChange, PortErrorKind};
use crate::spec::{TenantSpec, TenantStatus};

impl Engine {
    /// Executes `plan` (from [`crate::plan()`] of `spec` and `observed`), then
    /// observes again and returns the truth. On failure, removes exactly the
    /// parts this run created and reports the step.
    pub async fn apply(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
    ) -> Result<ObservedTenant, CoreError> {
        self.apply_with(spec, observed, plan, &ApplyInputs::default()).await
    }

    /// [`Self::apply`] with inputs that exist at apply time only, such as a
    /// user-supplied database password.
    /// Every apply that changes something leaves an audit record.
    pub async fn apply_with(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        inputs: &ApplyInputs,
    ) -> Result<ObservedTenant, CoreError> {
        let operation = crate::audit::operation_of(spec, observed);
        self.apply_as(operation, spec, observed, plan, inputs).await
    }

    /// [`Self::apply_with`], audited as `operation` (an action's name).
    pub(super) async fn apply_as(
        &self,
        operation: &'static str,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        inputs: &ApplyInputs,
    ) -> Result<ObservedTenant, CoreError> {
        // A write of this tenant: bumped before (no refresh reuses what it
        // changes while it runs) and after (nor what a refresh read
        // meanwhile); the other tenants' reads stay usable.
        self.bump_generation_of(&spec.tenant_id);
        self.forget_revisions(&spec.names().task_family);
        self.forget_planned(&spec.tenant_id);
        let result = self.converge(spec, observed, plan, inputs).await;
        self.bump_generation_of(&spec.tenant_id);
        self.forget_planned(&spec.tenant_id);
        if !plan.is_empty() || result.is_err() {
            let error = result.as_ref().err().map(ToString::to_string);
            let resources = crate::events::resources_of(result.as_ref().unwrap_or(observed));
            self.audit_about(
                operation,
                &spec.tenant_id,
                crate::audit::parts_of(plan),
                error,
                resources,
            )
            .await;
        }
        result
    }

    async fn converge(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        inputs: &ApplyInputs,
    ) -> Result<ObservedTenant, CoreError> {
        if let Some(c) = plan.conflicts.first() {
            return Err(CoreError::NotOwned {
                part: c.part,
                name: c.name.clone(),
                tenant_id: spec.tenant_id.clone(),
                found: c.found.clone(),
            });
        }
        // A new tenant of a pool is placed now, from a fresh read of the
        // listeners' load (the plan showed "known after apply").
        let placed = self.place_new(spec, observed).await?.map(|arn| TenantSpec {
            listener_arn: Some(arn),
            ..spec.clone()
        });
        let spec = placed.as_ref().unwrap_or(spec);
        tracing::info!(tenant = %spec.tenant_id, changes = %plan.changes.iter().filter(|c| c.action != PartAction::NoChange).map(|c| format!("{}: {}", c.part, c.action)).collect::<Vec<_>>().join("; "), "applying");
        let run = Run {
            engine: self,
            spec,
            observed,
            plan,
            inputs,
            created: Mutex::new(Vec::new()),
            made: Mutex::new(Made::default()),
            rotation: Mutex::new(None),
            token: RunToken::new(),
        };
        let result = if run.holds_lease() {
            run.renew_lease().await;
            let result = tokio::select! {
                result = run.execute() => result,
                () = run.keep_lease() => unreachable!("keep_lease never returns"),
            };
            // A finished run leaves its lease: Terraform may yet lose the
            // state it is about to save (a remote backend saves every 20 s;
            // a kill before that forgets the tenant), so the tenant stays
            // adoptable until the caller says it is recorded
            // ([`Engine::release_finished_leases`], [`Engine::confirm_recorded`]).
            // After a failure the lease goes once the rollback is done.
            if result.is_ok() {
                run.leave_lease();
            }
            result
        } else {
            run.execute().await
        };
        let records = match result {
            Ok(records) => records,
            Err(failure) => {
                tracing::warn!(tenant = %spec.tenant_id, step = %failure.step, part = %failure.part, error = %failure.error, "apply failed; rolling back what this run created");
                let (rolled_back, rollback_errors) = run.rollback().await;
                run.release_lease().await;
                self.unplace(&spec.tenant_id);
                return Err(CoreError::Apply {
                    step: failure.step,
                    part: failure.part,
                    source: Box::new(failure.error),
                    rolled_back,
                    rollback_errors,
                });
            }
        };
        if let Some(after) = run.whole_create(records.clone()).await {
            return Ok(after);
        }
        let mut subdomains = vec![spec.subdomain.clone()];
        subdomains.extend(observed.routed_subdomain(&self.platform.domain));
        self.read_back(&spec.tenant_id, &subdomains, records).await
    }

    /// The observation after a converged apply. Everything is built by now,
    /// so a read that fails transiently is tried again rather than turning a
    /// finished apply into a failure whose state Terraform would forget.
    /// `records`: the DNS records the run left, which are not read again.
    async fn read_back(
        &self,
        tenant_id: &str,
        subdomains: &[String],
        records: Vec<ObservedDnsRecord>,
    ) -> Result<ObservedTenant, CoreError> {
        let mut delay = std::time::Duration::from_secs(1);
        let mut attempts_left = 3;
        loop {
            match self
                .observe_tenant_with_records(tenant_id, subdomains, records.clone())
                .await
            {
                Err(e) if e.is_retryable() && attempts_left > 0 => {
                    tracing::warn!(tenant = %tenant_id, error = %e, "read-back after apply failed; reading again");
                    attempts_left -= 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                result => return result,
            }
        }
    }
}

fn stopped(step: &str, part: Part) -> StepFailure {
    StepFailure {
        step: format!("stop before {step}"),
        part,
        error: CoreError::Stopped { step: step.to_owned() },
    }
}

/// One execution of a plan.
pub(super) struct Run<'a> {
    pub(super) engine: &'a Engine,
    pub(super) spec: &'a TenantSpec,
    pub(super) observed: &'a ObservedTenant,
    pub(super) plan: &'a TenantPlan,
    inputs: &'a ApplyInputs,
    pub(super) created: Mutex<Vec<Created>>,
    /// What its creates answered with ([`Made::whole_create`]).
    pub(super) made: Mutex<Made>,
    /// What a password change did: an old password left beside the new one
    /// is discarded once the service runs with the new one.
    rotation: Mutex<Option<PasswordChange>>,
    /// This run's token: the tag on what it creates, the seed of its
    /// idempotency tokens.
    pub(super) token: RunToken,
}

/// The listener rule the service stage attaches behind: its ARN and the
/// action it has now (`None`: not known).
pub(super) type RuleNow = (String, Option<RuleAction>);

impl Run<'_> {
    /// Notes what a create answered with.
    pub(super) fn made(&self, note: impl FnOnce(&mut Made)) {
        note(&mut self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// The tenant after a whole create, from the creates' answers and
    /// MySQL ([`Made::whole_create`]); `None`: read it back.
    async fn whole_create(&self, records: Vec<ObservedDnsRecord>) -> Option<ObservedTenant> {
        if !Made::is_whole_create(self.observed, self.plan) {
            return None;
        }
        let names = self.spec.names();
        let mysql = self.engine.mysql().await.ok()?;
        let (databases, users) = mysql
            .observe(
                std::slice::from_ref(&names.database),
                std::slice::from_ref(&names.database_user),
            )
            .await
            .ok()?;
        let database = (
            databases.into_iter().find(|d| d.name == names.database),
            users.into_iter().find(|u| u.name == names.database_user),
        );
        let mut after = {
            let made = self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            made.whole_create(self.observed, records, database)?
        };
        // The service moves on by itself (its first deployment starts
        // tasks): it alone is read again, as a read-back would.
        let found = self
            .ports()
            .ecs
            .describe_services(&self.spec.platform.cluster, std::slice::from_ref(&names.service))
            .await
            .ok()?;
        after.service = Some(found.into_iter().find(|s| s.name == names.service)?);
        Some(after)
    }

    pub(super) fn record(&self, c: Created) {
        if let Ok(mut v) = self.created.lock() {
            v.push(c);
        }
    }

    pub(super) fn action(&self, part: Part) -> &PartAction {
        self.plan.action(part)
    }

    pub(super) fn ports(&self) -> &crate::ports::Ports {
        &self.engine.ports
    }

    /// The service's ARN, for `part`'s markers on it: as observed, or (a
    /// service this run made) read; a missing service fails `part`'s step.
    pub(super) async fn service_arn(&self, part: Part) -> StepResult<String> {
        if let Some(s) = &self.observed.service {
            return Ok(s.arn.clone());
        }
        let svc_name = self.spec.names().service;
        let found = (self
            .ports()
            .ecs
            .describe_services(&self.spec.platform.cluster, &[svc_name])
            .await)
            .map_err(fail("update", Part::Service, "DescribeServices"))?;
        let gone = || StepFailure {
            step: format!("update {}", part.as_str()),
            part,
            error: CoreError::port(
                Part::Service,
                "DescribeServices",
                crate::ports::PortError::new(
                    PortErrorKind::NotFound,
                    "ServiceNotFoundException",
                    "the tenant's service is gone",
                ),
            ),
        };
        found.into_iter().next().map(|s| s.arn).ok_or_else(gone)
    }

    async fn execute(&self) -> StepResult<Vec<ObservedDnsRecord>> {
        let facts = self.engine.facts().await.map_err(|error| StepFailure {
            step: "read platform".into(),
            part: Part::Secret,
            error,
        })?;
        let mut desired = DesiredTenant::new(self.spec, facts, self.observed);
        let mysql = self.engine.mysql().await.map_err(|error| StepFailure {
            step: "connect".into(),
            part: Part::Database,
            error,
        })?;
        self.unless_stopping("the first stage", Part::Secret)?;
        self.restore_secret().await?;
        let (password, repair_secret) = self.password().await?;
        let credentials = DbCredentials {
            host: facts.database_host.clone(),
            port: facts.database_port,
            database: desired.names.database.clone(),
            username: desired.names.database_user.clone(),
            password: password.clone().unwrap_or_default(),
        };
        let login = Login {
            mysql: mysql.as_ref(),
            credentials: &credentials,
            new_password: password.is_some(),
            repair_secret,
        };
        let made = self.independent_stage(&desired, &login).await?;
        self.settings_after_rotation(made.secret.as_ref(), &desired).await?;
        made.wire_into(&mut desired);

        // Stage 2: the task definition.
        self.unless_stopping("task definition", Part::TaskDefinition)?;
        desired.service.task_definition_arn = self.task_definition_stage(&desired).await?;

        // Stage 3: routing and DNS, concurrently.
        self.unless_stopping("listener rule and DNS", Part::ListenerRule)?;
        let (rule, ()) =
            futures::future::try_join(self.listener_rule_stage(&desired), self.dns_stage(&desired)).await?;

        // Stage 4: the service.
        self.unless_stopping("service", Part::Service)?;
        let rule_arn = rule.as_ref().map(|(arn, _)| arn.clone());
        self.service_stage(&desired, rule).await?;
        self.unless_stopping("autoscaling", Part::Scaling)?;
        self.scaling_stage(&desired).await?;
        self.unless_stopping("certificate", Part::Certificate)?;
        self.certificate_stage(&desired).await?;
        self.unless_stopping("alarms", Part::Alarms)?;
        self.alarms_stage(&desired).await?;
        if self.spec.wait_for_steady_state && self.action(Part::Service).is_change() {
            tokio::select! {
                waited = self.wait_for_steady_state(&desired.service.task_definition_arn) => waited?,
                () = self.engine.stopped() => return Err(stopped("the end of the steady-state wait", Part::Service)),
            }
        }
        // A move points the name at the new load balancer once the service
        // runs behind it there: the old one serves until then.
        if self.moving() {
            self.unless_stopping("DNS of the move", Part::DnsRecord)?;
            self.write_dns(&desired).await?;
        }
        self.final_stage(&desired, mysql.as_ref(), rule_arn.as_deref()).await?;
        Ok(self.records_left(&desired))
    }

    /// The tenant's DNS records once the run has succeeded: the desired one
    /// when the run wrote it (created, updated, adopted: all leave it as
    /// desired), as observed when it had nothing to do; those under an old
    /// name the final stage removed.
    fn records_left(&self, desired: &DesiredTenant) -> Vec<ObservedDnsRecord> {
        if matches!(
            self.action(Part::DnsRecord),
            PartAction::Create | PartAction::Update(_) | PartAction::Replace(_)
        ) {
            let r = &desired.dns_record;
            vec![ObservedDnsRecord {
                zone_id: r.zone_id.clone(),
                name: r.name.clone(),
                target: r.target.clone(),
            }]
        } else {
            self.observed
                .dns_records
                .iter()
                .filter(|r| r.name == desired.dns_record.name)
                .cloned()
                .collect()
        }
    }

    /// Stage 1: the parts that depend on no other, concurrently — after a
    /// new secret, which goes first and alone: it is the tenant's claim.
    /// Two applies creating one tenant race for it, and the loser stops
    /// before it has made anything a winner could be using (a database the
    /// winner found and adopted, then dropped by the loser's rollback).
    async fn independent_stage(&self, desired: &DesiredTenant, login: &Login<'_>) -> StepResult<Independent> {
        let claimed = if self.action(Part::Secret) == &PartAction::Create {
            Some(self.secret_stage(desired, login.credentials).await?)
        } else {
            None
        };
        let (secret, (), access_point, (), target_group) = join5(
            async {
                match claimed {
                    Some(s) => Ok(s),
                    None => self.secret_stage(desired, login.credentials).await,
                }
            },
            self.database_stage(
                login.mysql,
                &desired.names,
                login.credentials,
                login.new_password,
                login.repair_secret,
            ),
            self.access_point_stage(desired),
            self.log_group_stage(desired),
            self.target_group_stage(desired),
        )
        .await?;
        Ok(Independent {
            secret,
            access_point,
            target_group,
        })
    }

    /// Stage 5: remove what was replaced, now that nothing uses it; after a
    /// rotation the tasks run with the new password, so the old one goes.
    async fn final_stage(&self, desired: &DesiredTenant, mysql: &dyn MysqlAdmin, rule: Option<&str>) -> StepResult<()> {
        self.unless_stopping("removing replaced parts", Part::Service)?;
        self.remove_replaced(desired).await?;
        self.remove_moved_from(&desired.service.target_group_arn, rule).await?;
        if self.rotation_left_old_password() {
            mysql
                .discard_old_password(&desired.names.database_user)
                .await
                .map_err(fail("rotate", Part::DatabaseUser, "ALTER USER DISCARD OLD PASSWORD"))?;
        }
        Ok(())
    }

    /// Fails the run before `step` when the engine was asked to stop.
    fn unless_stopping(&self, step: &str, part: Part) -> StepResult<()> {
        if self.engine.is_stopping() {
            return Err(stopped(step, part));
        }
        Ok(())
    }

    fn rotation_left_old_password(&self) -> bool {
        *self.rotation.lock().unwrap_or_else(std::sync::PoisonError::into_inner) == Some(PasswordChange::OldRetained)
    }

    fn note_rotation(&self, change: PasswordChange) {
        *self.rotation.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(change);
    }

    /// Whether this run gives the secret a new password version.
    fn rotates(&self) -> bool {
        self.plan.updates(SecretField::Password)
    }

    /// A secret pending deletion is restored before anything reads it.
    async fn restore_secret(&self) -> StepResult<()> {
        if let Some(s) = &self.observed.secret
            && self.plan.updates(SecretField::Restore)
        {
            self.ports().secrets.restore_secret(&s.arn).await.map_err(fail(
                "restore",
                Part::Secret,
                "RestoreSecret",
            ))?;
        }
        Ok(())
    }

    /// The password: the user's or a new one with a new secret or a
    /// rotation; else the secret's, when the user must be created. The flag
    /// says the secret holds no usable password and must be repaired with
    /// this one before the user is made: never a user whose password nobody
    /// knows.
    async fn password(&self) -> StepResult<(Option<String>, bool)> {
        let chosen = || {
            self.inputs
                .db_password
                .as_ref()
                .map_or_else(generate_password, |p| p.expose().to_owned())
        };
        if self.action(Part::Secret) == &PartAction::Create || self.rotates() {
            return Ok((Some(chosen()), false));
        }
        if self.action(Part::DatabaseUser) != &PartAction::Create {
            return Ok((None, false));
        }
        Ok(match self.secret_password().await? {
            Some(p) => (Some(p), false),
            None => (Some(generate_password()), true),
        })
    }

    /// The password the tenant's secret holds, if it holds one.
    async fn secret_password(&self) -> StepResult<Option<String>> {
        let arn = self.observed.secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let raw =
            self.ports()
                .secrets
                .get_secret_value(&arn)
                .await
                .map_err(fail("read", Part::Secret, "GetSecretValue"))?;
        Ok(serde_json::from_str::<DbCredentials>(&raw)
            .ok()
            .map(|c| c.password)
            .filter(|p| !p.is_empty()))
    }

    async fn secret_stage(
        &self,
        desired: &DesiredTenant,
        credentials: &DbCredentials,
    ) -> StepResult<Option<ObservedSecret>> {
        let secrets = &self.ports().secrets;
        let spec = &desired.secret;
        match self.action(Part::Secret) {
            PartAction::Create => {
                let value = serde_json::to_string(credentials).unwrap_or_default();
                // Born with this run's creation lease: the name is unique, so
                // a second run creating the same tenant fails right here.
                let mut spec = spec.clone();
                let (key, lease) = self.lease_tag();
                spec.tags.insert(key, lease);
                return self.create_secret(&spec, &value).await.map(Some);
            }
            PartAction::Update(_) => {}
            _ => return Ok(self.observed.secret.clone()),
        }
        let Some(s) = &self.observed.secret else {
            return Ok(None);
        };
        if self.plan.updates(SecretField::Tags) {
            secrets
                .tag_resource(&s.arn, &spec.tags)
                .await
                .map_err(fail("update", Part::Secret, "TagResource"))?;
            if let Some(keys) = stale(&spec.tags, &s.tags) {
                secrets
                    .untag_resource(&s.arn, &keys)
                    .await
                    .map_err(fail("update", Part::Secret, "UntagResource"))?;
            }
        }
        // A rotation's new password is written by the database stage, once
        // MySQL accepts it ([`Self::rotate_password`]).
        // After a rotation the settings (which record the password's
        // version) are written once MySQL has the new password too
        // ([`Self::settings_after_rotation`]), so a failure in between
        // rotates again.
        if self.plan.updates(SecretField::Settings) && !self.rotates() {
            secrets.set_description(&s.arn, &spec.description).await.map_err(fail(
                "update",
                Part::Secret,
                "UpdateSecret",
            ))?;
        }
        Ok(Some(s.clone()))
    }

    /// The settings a rotation held back, once MySQL has the new password.
    async fn settings_after_rotation(
        &self,
        secret: Option<&ObservedSecret>,
        desired: &DesiredTenant,
    ) -> StepResult<()> {
        if self.rotates()
            && self.plan.updates(SecretField::Settings)
            && let Some(s) = secret
        {
            self.ports()
                .secrets
                .set_description(&s.arn, &desired.secret.description)
                .await
                .map_err(fail("update", Part::Secret, "UpdateSecret"))?;
        }
        Ok(())
    }

    /// The database and its user: all of apply's MySQL work.
    async fn database_stage(
        &self,
        mysql: &dyn MysqlAdmin,
        names: &TenantNames,
        credentials: &DbCredentials,
        new_password: bool,
        repair_secret: bool,
    ) -> StepResult<()> {
        if self.action(Part::Database) == &PartAction::Create {
            match mysql.create_database(&names.database).await {
                Ok(()) => self.record(Created::Database(names.database.clone())),
                // Created meanwhile (another run of this tenant): found, not
                // created by this run, so never dropped by its rollback.
                Err(e) if e.kind == PortErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail("create", Part::Database, "CREATE DATABASE")(e)),
            }
        }
        let user = MysqlUser {
            name: &names.database_user,
            database: &names.database,
            max_connections: self.spec.db_max_connections,
        };
        match self.action(Part::DatabaseUser) {
            PartAction::Create => self.create_user(mysql, &user, credentials, repair_secret).await,
            PartAction::Update(_) => self.update_user(mysql, &user, credentials, new_password).await,
            _ => Ok(()),
        }
    }

    async fn create_user(
        &self,
        mysql: &dyn MysqlAdmin,
        user: &MysqlUser<'_>,
        credentials: &DbCredentials,
        repair_secret: bool,
    ) -> StepResult<()> {
        if let (true, Some(s)) = (repair_secret, &self.observed.secret) {
            let value = serde_json::to_string(credentials).unwrap_or_default();
            self.ports()
                .secrets
                .put_secret_value(&s.arn, &value)
                .await
                .map_err(fail("repair", Part::Secret, "PutSecretValue"))?;
        }
        match mysql.create_user(user, &credentials.password).await {
            Ok(()) => {}
            // Made meanwhile (another apply of this tenant): not this
            // run's, never dropped by its rollback.
            Err(e) if e.kind == PortErrorKind::AlreadyExists => {
                return Err(StepFailure {
                    step: "create database_user".into(),
                    part: Part::DatabaseUser,
                    error: CoreError::CreatedElsewhere {
                        part: Part::DatabaseUser,
                        name: user.name.to_owned(),
                        tenant_id: self.spec.tenant_id.clone(),
                        found: "a MySQL user another run created".into(),
                    },
                });
            }
            Err(e) => return Err(fail("create", Part::DatabaseUser, "CREATE USER")(e)),
        }
        self.record(Created::DatabaseUser(user.name.to_owned()));
        Ok(())
    }

    async fn update_user(
        &self,
        mysql: &dyn MysqlAdmin,
        user: &MysqlUser<'_>,
        credentials: &DbCredentials,
        new_password: bool,
    ) -> StepResult<()> {
        let password = self.plan.updates(DatabaseUserField::Password) && new_password;
        if password && self.action(Part::Secret) == &PartAction::Create {
            // A new secret (the old one is gone) is created with this
            // password by the secret stage.
            mysql
                .set_password(user, &credentials.password, false)
                .await
                .map_err(fail("update", Part::DatabaseUser, "ALTER USER"))?;
        } else if password {
            let change = self.rotate_password(mysql, user, credentials).await?;
            self.note_rotation(change);
        } else if self.plan.updates(DatabaseUserField::MaxConnections) {
            mysql
                .set_max_connections(user.name, user.max_connections)
                .await
                .map_err(fail("update", Part::DatabaseUser, "ALTER USER"))?;
        }
        if self.plan.updates(DatabaseUserField::DiscardOldPassword) {
            // Discarded once the service has restarted.
            self.note_rotation(PasswordChange::OldRetained);
        }
        if self.plan.updates(DatabaseUserField::Unlock) {
            mysql.set_locked(user.name, false).await.map_err(fail(
                "update",
                Part::DatabaseUser,
                "ALTER USER ACCOUNT UNLOCK",
            ))?;
        }
        Ok(())
    }

    /// Rotation that never locks the tenant out: MySQL takes the new
    /// password first (keeping the old one beside it where the server has
    /// dual passwords), then the secret; if the secret cannot be written,
    /// MySQL gets the old password back, so that the secret's password
    /// still logs in.
    async fn rotate_password(
        &self,
        mysql: &dyn MysqlAdmin,
        user: &MysqlUser<'_>,
        credentials: &DbCredentials,
    ) -> StepResult<PasswordChange> {
        let old = self.secret_password().await.ok().flatten();
        let change = mysql
            .set_password(user, &credentials.password, true)
            .await
            .map_err(fail("rotate", Part::DatabaseUser, "ALTER USER"))?;
        let arn = self.observed.secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let value = serde_json::to_string(credentials).unwrap_or_default();
        if let Err(e) = self.ports().secrets.put_secret_value(&arn, &value).await {
            // The write may have happened with its answer lost: MySQL goes
            // back only while the secret still holds the old password.
            let written = self.secret_password().await.ok().flatten().as_deref() == Some(credentials.password.as_str());
            if !written
                && let (PasswordChange::Replaced, Some(old)) = (change, &old)
                && let Err(undo) = mysql.set_password(user, old, false).await
            {
                tracing::error!(user = user.name, error = %undo, "could not give MySQL the old password back");
            }
            return Err(fail("rotate", Part::Secret, "PutSecretValue")(e));
        }
        Ok(change)
    }

    async fn access_point_stage(&self, desired: &DesiredTenant) -> StepResult<Option<ObservedAccessPoint>> {
        let efs = &self.ports().efs;
        match self.action(Part::AccessPoint) {
            PartAction::Create | PartAction::Replace(_) => {
                self.create_access_point(&desired.access_point).await.map(Some)
            }
            PartAction::Update(_) => {
                if let Some(a) = &self.observed.access_point {
                    efs.tag_resource(&a.id, &desired.access_point.tags).await.map_err(fail(
                        "update",
                        Part::AccessPoint,
                        "TagResource",
                    ))?;
                    if let Some(keys) = stale(&desired.access_point.tags, &a.tags) {
                        efs.untag_resource(&a.id, &keys).await.map_err(fail(
                            "update",
                            Part::AccessPoint,
                            "UntagResource",
                        ))?;
                    }
                }
                Ok(self.observed.access_point.clone())
            }
            _ => Ok(self.observed.access_point.clone()),
        }
    }

    async fn log_group_stage(&self, desired: &DesiredTenant) -> StepResult<()> {
        let logs = &self.ports().logs;
        let spec = &desired.log_group;
        match self.action(Part::LogGroup) {
            PartAction::Create => self.create_log_group(spec).await?,
            PartAction::Update(_) => {
                if self.plan.updates(LogGroupField::RetentionDays) {
                    logs.put_retention_policy(&spec.name, spec.retention_days)
                        .await
                        .map_err(fail("update", Part::LogGroup, "PutRetentionPolicy"))?;
                }
                if let (true, Some(l)) = (self.plan.updates(LogGroupField::Tags), &self.observed.log_group) {
                    logs.tag_log_group(&l.arn, &spec.tags).await.map_err(fail(
                        "update",
                        Part::LogGroup,
                        "TagResource",
                    ))?;
                    if let Some(keys) = stale(&spec.tags, &l.tags) {
                        logs.untag_log_group(&l.arn, &keys).await.map_err(fail(
                            "update",
                            Part::LogGroup,
                            "UntagResource",
                        ))?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn target_group_stage(&self, desired: &DesiredTenant) -> StepResult<Option<ObservedTargetGroup>> {
        match self.action(Part::TargetGroup) {
            PartAction::Create => self.create_target_group(&desired.target_group).await.map(Some),
            a if moves_in_place(a) => self.target_group_to_move_to(desired).await.map(Some),
            PartAction::Replace(_) => {
                self.remove_target_group_and_users().await?;
                self.create_target_group(&desired.target_group).await.map(Some)
            }
            PartAction::Update(_) => {
                let elbv2 = &self.ports().elbv2;
                if let Some(t) = &self.observed.target_group {
                    if self.plan.updates(TargetGroupField::HealthCheckPath) {
                        elbv2
                            .set_health_check_path(&t.arn, &desired.target_group.health_check_path)
                            .await
                            .map_err(fail("update", Part::TargetGroup, "ModifyTargetGroup"))?;
                    }
                    if self.plan.updates(TargetGroupField::Tags) {
                        elbv2.add_tags(&t.arn, &desired.target_group.tags).await.map_err(fail(
                            "update",
                            Part::TargetGroup,
                            "AddTags",
                        ))?;
                        if let Some(keys) = stale(&desired.target_group.tags, &t.tags) {
                            elbv2.remove_tags(&t.arn, &keys).await.map_err(fail(
                                "update",
                                Part::TargetGroup,
                                "RemoveTags",
                            ))?;
                        }
                    }
                }
                Ok(self.observed.target_group.clone())
            }
            _ => Ok(self.observed.target_group.clone()),
        }
    }

    /// The name is unique, so a replaced target group goes first — and with
    /// it the service and rule that use it.
    async fn remove_target_group_and_users(&self) -> StepResult<()> {
        let ports = self.ports();
        if let Some(s) = &self.observed.service {
            ignore_not_found(ports.ecs.delete_service(&s.cluster, &s.name).await).map_err(fail(
                "replace",
                Part::Service,
                "DeleteService",
            ))?;
        }
        if let Some(r) = &self.observed.listener_rule {
            ignore_not_found(ports.elbv2.delete_rule(&r.arn).await).map_err(fail(
                "replace",
                Part::ListenerRule,
                "DeleteRule",
            ))?;
        }
        if let Some(t) = &self.observed.target_group {
            self.engine.delete_target_group(&t.arn).await.map_err(fail(
                "replace",
                Part::TargetGroup,
                "DeleteTargetGroup",
            ))?;
        }
        Ok(())
    }

    /// A new revision when the plan says so, else the current one
    /// (re-tagged when only its tags differ). Returns the ARN the service
    /// is to run.
    async fn task_definition_stage(&self, desired: &DesiredTenant) -> StepResult<String> {
        let ecs = &self.ports().ecs;
        let action = self.action(Part::TaskDefinition);
        if needs_new_revision(action) {
            return self.register_task_definition(&desired.task_definition).await;
        }
        let current = self
            .observed
            .task_definition
            .as_ref()
            .map(|t| t.arn.clone())
            .unwrap_or_default();
        if action.is_change() {
            ecs.tag_resource(&current, &desired.task_definition.tags)
                .await
                .map_err(fail("update", Part::TaskDefinition, "TagResource"))?;
            let observed_tags = self.observed.task_definition.as_ref().map(|t| &t.tags);
            if let Some(keys) = observed_tags.and_then(|t| stale(&desired.task_definition.tags, t)) {
                ecs.untag_resource(&current, &keys).await.map_err(fail(
                    "update",
                    Part::TaskDefinition,
                    "UntagResource",
                ))?;
            }
        }
        Ok(current)
    }

    /// The listener rule; returns the rule the service stage attaches
    /// behind, if any.
    async fn listener_rule_stage(&self, desired: &DesiredTenant) -> StepResult<Option<RuleNow>> {
        // Replacing the target group deleted the rule that used it.
        let observed = self.observed.listener_rule.as_ref();
        let must_create = matches!(
            self.action(Part::ListenerRule),
            PartAction::Create | PartAction::Replace(_)
        ) || matches!(self.action(Part::TargetGroup), PartAction::Replace(_));
        if must_create {
            // ECS only places a service behind a target group that a
            // listener forwards to: a new rule forwards first, and a
            // suspended tenant's fixed response is set after stage 4.
            let mut forwarding = desired.listener_rule.clone();
            forwarding.action = RuleAction::Forward(desired.service.target_group_arn.clone());
            if let Some(r) = self.leftover_rule_on(&forwarding.listener_arn) {
                return self.reuse_leftover_rule(r, &forwarding).await;
            }
            let r = self.create_listener_rule(&forwarding).await?;
            self.engine
                .recheck_after_create(&r)
                .await
                .map_err(fail("create", Part::ListenerRule, "DescribeRules"))?;
            // A failed create's rollback removes the rule, and its claim.
            self.recheck_custom_domains(&forwarding, &r.arn).await.map_err(fail(
                "create",
                Part::ListenerRule,
                "DescribeRules",
            ))?;
            return Ok(Some((r.arn, r.action)));
        }
        if let (PartAction::Update(_), Some(r)) = (self.action(Part::ListenerRule), observed) {
            let elbv2 = &self.ports().elbv2;
            let rule = &desired.listener_rule;
            if self.plan.updates(ListenerRuleField::Host) || self.plan.updates(ListenerRuleField::Action) {
                elbv2
                    .modify_rule(&r.arn, &rule.hosts(), &rule.action)
                    .await
                    .map_err(fail("update", Part::ListenerRule, "ModifyRule"))?;
            }
            if self.plan.updates(ListenerRuleField::Host)
                && let Err(taken) = self.recheck_custom_domains(rule, &r.arn).await
            {
                // The claim is withdrawn: the rule routes what it did.
                elbv2.modify_rule(&r.arn, &r.hosts, &rule.action).await.map_err(fail(
                    "update",
                    Part::ListenerRule,
                    "ModifyRule",
                ))?;
                return Err(fail("update", Part::ListenerRule, "DescribeRules")(taken));
            }
            if self.plan.updates(ListenerRuleField::Tags) {
                elbv2
                    .add_tags(&r.arn, &rule.tags)
                    .await
                    .map_err(fail("update", Part::ListenerRule, "AddTags"))?;
                if let Some(keys) = stale(&rule.tags, &r.tags) {
                    elbv2
                        .remove_tags(&r.arn, &keys)
                        .await
                        .map_err(fail("update", Part::ListenerRule, "RemoveTags"))?;
                }
            }
        }
        Ok(observed.map(|r| (r.arn.clone(), r.action.clone())))
    }

    /// DNS: `UPSERT` only over the tenant's own record (an alias to the
    /// platform's load balancer, observed); otherwise `CREATE`, which never
    /// overwrites a record — one that appeared meanwhile is looked at
    /// again: the tenant's alias (another run of this tenant, or this
    /// run's answer lost) is adopted as found, anything else is someone
    /// else's.
    async fn dns_stage(&self, desired: &DesiredTenant) -> StepResult<()> {
        if self.moving() {
            return Ok(());
        }
        self.write_dns(desired).await
    }

    /// The DNS record as desired ([`Self::dns_stage`]).
    async fn write_dns(&self, desired: &DesiredTenant) -> StepResult<()> {
        let action = self.action(Part::DnsRecord);
        if !action.is_change() || action == &PartAction::Delete {
            return Ok(());
        }
        let record = &desired.dns_record;
        let route53 = &self.ports().route53;
        if self.observed.dns_record(&record.name).is_some() {
            return route53.upsert_record(record).await.map_err(fail(
                "update",
                Part::DnsRecord,
                "ChangeResourceRecordSets (UPSERT)",
            ));
        }
        let Err(e) = route53.create_record(record).await else {
            self.record(Created::DnsRecord(ObservedDnsRecord {
                zone_id: record.zone_id.clone(),
                name: record.name.clone(),
                target: record.target.clone(),
            }));
            return Ok(());
        };
        let now = route53
            .records_named(&record.zone_id, std::slice::from_ref(&record.name))
            .await
            .unwrap_or_default();
        let at_name: Vec<_> = now.iter().filter(|r| r.name == record.name).collect();
        if at_name.len() == 1 && at_name.iter().all(|r| same_target(&r.target, &record.target)) {
            tracing::info!(record = %record.name, error = %e, "the tenant's record exists (made meanwhile or with a lost answer): adopted");
            return Ok(());
        }
        match at_name.first() {
            Some(r) if !same_target(&r.target, &record.target) => Err(StepFailure {
                step: "create dns_record".into(),
                part: Part::DnsRecord,
                error: CoreError::NotOwned {
                    part: Part::DnsRecord,
                    name: record.name.clone(),
                    tenant_id: self.spec.tenant_id.clone(),
                    found: format!("a {} record that bbws did not create", r.target.record_type()),
                },
            }),
            _ => Err(fail("create", Part::DnsRecord, "ChangeResourceRecordSets (CREATE)")(e)),
        }
    }

    async fn service_stage(&self, desired: &DesiredTenant, rule: Option<RuleNow>) -> StepResult<()> {
        let ecs = &self.ports().ecs;
        let svc = &desired.service;
        let recreate_service = matches!(self.action(Part::TargetGroup), PartAction::Replace(_));
        let rule_now = match rule {
            // A modified rule now has the desired action.
            Some((arn, _)) if self.plan.updates(ListenerRuleField::Action) => {
                Some((arn, Some(desired.listener_rule.action.clone())))
            }
            r => r,
        };
        match self.action(Part::Service) {
            PartAction::Create => self.create_service_behind(desired, rule_now.as_ref()).await?,
            PartAction::Replace(_) => {
                if !recreate_service && let Some(s) = &self.observed.service {
                    ignore_not_found(ecs.delete_service(&s.cluster, &s.name).await).map_err(fail(
                        "replace",
                        Part::Service,
                        "DeleteService",
                    ))?;
                }
                self.create_service_behind(desired, rule_now.as_ref()).await?;
            }
            PartAction::Update(_) => {
                let deployment_fields = [
                    ServiceField::TaskDefinition,
                    ServiceField::DesiredCount,
                    ServiceField::CircuitBreaker,
                ];
                if self.plan.updates(ServiceField::TargetGroup) {
                    self.move_service(desired, rule_now.as_ref()).await?;
                }
                if deployment_fields.into_iter().any(|f| self.plan.updates(f)) {
                    ecs.update_service(&svc.cluster, &svc.name, &svc.task_definition_arn, svc.desired_count)
                        .await
                        .map_err(fail("update", Part::Service, "UpdateService"))?;
                }
                if self.plan.updates(ServiceField::Redeploy) {
                    ecs.redeploy_service(&svc.cluster, &svc.name).await.map_err(fail(
                        "update",
                        Part::Service,
                        "UpdateService(forceNewDeployment)",
                    ))?;
                }
                if let (true, Some(s)) = (self.plan.updates(ServiceField::Tags), &self.observed.service) {
                    ecs.tag_resource(&s.arn, &svc.tags)
                        .await
                        .map_err(fail("update", Part::Service, "TagResource"))?;
                    let mut keys = crate::plan::service_stale_tags(&svc.tags, &s.tags);
                    // Scaling being removed keeps its marker until the
                    // target is gone (the scaling stage removes it).
                    if self.action(Part::Scaling) == &PartAction::Delete {
                        keys.retain(|k| k != crate::naming::TAG_AUTOSCALING);
                    }
                    if !keys.is_empty() {
                        ecs.untag_resource(&s.arn, &keys).await.map_err(fail(
                            "update",
                            Part::Service,
                            "UntagResource",
                        ))?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The service's scalable target and policies: registered (or its
    /// range changed) and the policies put, or all of it removed. After
    /// the service stage, which tagged the service as scaled first.
    async fn scaling_stage(&self, desired: &DesiredTenant) -> StepResult<()> {
        let scaling = &self.ports().scaling;
        let action = self.action(Part::Scaling).clone();
        match (&action, &desired.scaling) {
            (PartAction::Delete, _) => {
                if let Some(o) = &self.observed.scaling {
                    ignore_not_found(scaling.deregister_target(&o.resource_id).await).map_err(fail(
                        "delete",
                        Part::Scaling,
                        "DeregisterScalableTarget",
                    ))?;
                }
                // The marker goes once the target is gone.
                if let Some(s) = &self.observed.service
                    && s.tags.contains_key(crate::naming::TAG_AUTOSCALING)
                {
                    let keys = [crate::naming::TAG_AUTOSCALING.to_owned()];
                    self.ports().ecs.untag_resource(&s.arn, &keys).await.map_err(fail(
                        "update",
                        Part::Service,
                        "UntagResource",
                    ))?;
                }
            }
            (PartAction::Create | PartAction::Update(_), Some(want)) => {
                let created = action == PartAction::Create;
                if created || self.plan.updates(ScalingField::Range) {
                    scaling
                        .register_target(&want.resource_id, want.min, want.max)
                        .await
                        .map_err(fail(
                            if created { "create" } else { "update" },
                            Part::Scaling,
                            "RegisterScalableTarget",
                        ))?;
                    if created {
                        self.record(Created::Scaling(want.resource_id.clone()));
                    }
                }
                if created || self.plan.updates(ScalingField::Policies) {
                    self.put_policies(want, desired).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Puts the desired policies and deletes the ones no longer wanted
    /// (the request-count one when `requests_per_target` is unset).
    async fn put_policies(&self, want: &ScalingSpec, desired: &DesiredTenant) -> StepResult<()> {
        let scaling = &self.ports().scaling;
        let policies = want.policies(&desired.listener_rule.listener_arn, &desired.service.target_group_arn);
        for p in &policies {
            scaling.put_policy(&want.resource_id, p).await.map_err(fail(
                "update",
                Part::Scaling,
                "PutScalingPolicy",
            ))?;
        }
        let held = self.observed.scaling.iter().flat_map(|o| &o.policies);
        for old in held.filter(|o| !policies.iter().any(|p| p.name == o.name)) {
            ignore_not_found(scaling.delete_policy(&want.resource_id, &old.name).await).map_err(fail(
                "update",
                Part::Scaling,
                "DeleteScalingPolicy",
            ))?;
        }
        Ok(())
    }

    /// Creates the service; the rule must forward to the target group while
    /// ECS attaches the service, then gets the desired action (the suspended
    /// page) back.
    async fn create_service_behind(&self, desired: &DesiredTenant, rule: Option<&RuleNow>) -> StepResult<()> {
        let ports = self.ports();
        let svc = &desired.service;
        let forward = RuleAction::Forward(svc.target_group_arn.clone());
        let host = desired.listener_rule.hosts();
        let needs_forward = rule.filter(|(_, action)| action.as_ref() != Some(&forward));
        if let Some((arn, _)) = needs_forward {
            ports.elbv2.modify_rule(arn, &host, &forward).await.map_err(fail(
                "update",
                Part::ListenerRule,
                "ModifyRule",
            ))?;
        }
        self.create_service(svc).await?;
        if let (Some((arn, _)), TenantStatus::Suspended) = (rule, self.spec.status) {
            ports
                .elbv2
                .modify_rule(arn, &host, &suspended_action())
                .await
                .map_err(fail("update", Part::ListenerRule, "ModifyRule"))?;
            self.made(|m| {
                if let Some(r) = m.listener_rule.as_mut().filter(|r| &r.arn == arn) {
                    r.action = Some(suspended_action());
                }
            });
        }
        Ok(())
    }

    /// A replaced access point and DNS records under previous names.
    async fn remove_replaced(&self, desired: &DesiredTenant) -> StepResult<()> {
        let ports = self.ports();
        if let (PartAction::Replace(_), Some(old)) = (self.action(Part::AccessPoint), &self.observed.access_point) {
            ignore_not_found(ports.efs.delete_access_point(&old.id).await).map_err(fail(
                "delete old",
                Part::AccessPoint,
                "DeleteAccessPoint",
            ))?;
        }
        let stale = self
            .observed
            .dns_records
            .iter()
            .filter(|r| r.name != desired.dns_record.name);
        for record in stale {
            ignore_not_found(ports.route53.delete_record(record).await).map_err(fail(
                "delete old",
                Part::DnsRecord,
                "ChangeResourceRecordSets",
            ))?;
        }
        Ok(())
    }
}

/// The user tags to remove from a part (`None`: none).
fn stale(desired: &Tags, observed: &Tags) -> Option<Vec<String>> {
    Some(crate::plan::stale_tags(desired, observed)).filter(|k| !k.is_empty())
}

/// Whether two record targets are the same as Route53 compares them.
fn same_target(a: &RecordTarget, b: &RecordTarget) -> bool {
    let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    match (a, b) {
        (RecordTarget::Alias { dns_name: d1, .. }, RecordTarget::Alias { dns_name: d2, .. }) => norm(d1) == norm(d2),
        (RecordTarget::Cname(x), RecordTarget::Cname(y)) => norm(x) == norm(y),
        _ => false,
    }
}

/// Awaits five steps concurrently, always to the end (so that everything a
/// step created is recorded before a rollback), then reports the first error.
async fn join5<A, B, C, D, E>(
    a: impl Future<Output = StepResult<A>>,
    b: impl Future<Output = StepResult<B>>,
    c: impl Future<Output = StepResult<C>>,
    d: impl Future<Output = StepResult<D>>,
    e: impl Future<Output = StepResult<E>>,
) -> StepResult<(A, B, C, D, E)> {
    let (a, b, c, d, e) = futures::join!(a, b, c, d, e);
    Ok((a?, b?, c?, d?, e?))
}

/// What the database stage logs in with and what it is to do with it.
struct Login<'a> {
    mysql: &'a dyn MysqlAdmin,
    credentials: &'a DbCredentials,
    /// The password is new (a new secret or a rotation).
    new_password: bool,
    /// The secret holds no usable password and is repaired with this one.
    repair_secret: bool,
}

/// What stage 1 made or found, which the later stages refer to.
struct Independent {
    secret: Option<ObservedSecret>,
    access_point: Option<ObservedAccessPoint>,
    target_group: Option<ObservedTargetGroup>,
}

impl Independent {
    /// Fills in the ARNs and ids the later parts refer to.
    fn wire_into(&self, desired: &mut DesiredTenant) {
        let secret_arn = self.secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let tg_arn = self.target_group.as_ref().map(|t| t.arn.clone()).unwrap_or_default();
        desired.task_definition.secrets = secret_refs(&secret_arn);
        desired.task_definition.access_point_id = self.access_point.as_ref().map(|a| a.id.clone()).unwrap_or_default();
        desired.service.target_group_arn = tg_arn.clone();
        if let RuleAction::Forward(arn) = &mut desired.listener_rule.action {
            *arn = tg_arn;
        }
    }
}
