//! The RPC handlers: decode each object into its model once
//! ([`TenantModel`], `config`), call core (plan, `lifecycle::basis` and
//! `decide`, apply), encode the model and diagnostics. No lifecycle
//! decision is made here: handlers hand core the facts (what the state
//! holds, what this process refreshed, the private replacement marker).

use std::sync::Arc;

use bbws_core::approval::{self, TenantChange};
use bbws_core::lifecycle::{self, Basis, Decision, Prior};
use bbws_core::validate::Violation;
use bbws_core::{Engine, Platform, TenantSpec, aws};
use magma_protocol::tfplugin6 as tf;
use tokio::sync::RwLock;

use crate::config::{self, ProviderConfig, ProviderModel};
use crate::configured::Configured;
use crate::diag::{Diags, attribute_path, core_error_diag, error, refusal_diags, violation_diags, warning};
use crate::model::TfString;
use crate::protocol::value::{self, Value};
use crate::tenant::{self, KnownOutputs, TenantIdentity, TenantModel, attr};

/// The provider's state across RPCs.
#[derive(Default)]
pub struct BbwsServer {
    configured: Arc<RwLock<Option<Arc<Configured>>>>,
}

/// What the provider must do after Terraform shut it down: kept apart from
/// the server, which the plugin machinery consumes.
pub struct AfterShutdown {
    configured: Arc<RwLock<Option<Arc<Configured>>>>,
}

impl AfterShutdown {
    /// Releases the creation leases of the tenants this process created:
    /// Terraform closes a provider once every resource using it is done, so
    /// their state is about to be saved (see `bbws_core::lease`).
    pub async fn run(self) {
        if let Some(c) = self.configured.read().await.as_ref() {
            c.engine.release_finished_leases().await;
        }
    }
}

fn dynamic(m: Option<&TenantModel>) -> Option<tf::DynamicValue> {
    Some(TenantModel::encode(m))
}

fn decode_tenant(v: Option<&tf::DynamicValue>) -> Result<Option<TenantModel>, tf::Diagnostic> {
    TenantModel::decode(v).map_err(|e| error("Could not decode a value from Terraform", e.to_string(), None))
}

fn decode(v: Option<&tf::DynamicValue>) -> Result<Value, tf::Diagnostic> {
    match v {
        None => Ok(Value::Null),
        Some(d) => value::decode(d).map_err(|e| error("Could not decode a value from Terraform", e.to_string(), None)),
    }
}

impl BbwsServer {
    pub(crate) async fn configured(&self) -> Result<Arc<Configured>, tf::Diagnostic> {
        self.configured.read().await.clone().ok_or_else(|| {
            error(
                "The bbws provider is not configured",
                "Terraform did not configure the provider before using it; this is a bug in the caller.",
                None,
            )
        })
    }

    /// The work left for after Terraform shuts the provider down.
    pub fn after_shutdown(&self) -> AfterShutdown {
        AfterShutdown {
            configured: self.configured.clone(),
        }
    }

    /// `StopProvider`: asks the engine's runs to stop (see [`Engine::stop`]).
    pub async fn stop(&self) {
        if let Some(c) = self.configured.read().await.as_ref() {
            tracing::info!("Terraform asked the provider to stop; no further step starts");
            c.engine.stop();
        }
    }

    /// `GetProviderSchema`.
    pub fn provider_schema(&self) -> tf::get_provider_schema::Response {
        tf::get_provider_schema::Response {
            provider: Some(config::schema()),
            resource_schemas: [(tenant::TYPE_NAME.to_owned(), tenant::schema())].into_iter().collect(),
            data_source_schemas: [
                (
                    crate::data_sources::TENANT.to_owned(),
                    crate::data_sources::tenant_schema(),
                ),
                (
                    crate::data_sources::TENANTS.to_owned(),
                    crate::data_sources::tenants_schema(),
                ),
                (
                    crate::platform_data::PLATFORM.to_owned(),
                    crate::platform_data::schema(),
                ),
            ]
            .into_iter()
            .collect(),
            list_resource_schemas: [(tenant::TYPE_NAME.to_owned(), crate::list_tenant::schema())]
                .into_iter()
                .collect(),
            ephemeral_resource_schemas: [(
                crate::ephemeral::TENANT_CREDENTIALS.to_owned(),
                crate::ephemeral::schema(),
            )]
            .into_iter()
            .collect(),
            action_schemas: crate::actions::ALL
                .iter()
                .map(|&t| {
                    let schema = Some(crate::actions::schema(t));
                    (t.to_owned(), tf::ActionSchema { schema })
                })
                .collect(),
            functions: crate::functions::definitions(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }
    }

    /// `ValidateProviderConfig`: only what is known can be checked.
    pub fn validate_provider_config(&self, config: Option<&tf::DynamicValue>) -> Diags {
        let v = match decode(config) {
            Ok(v) => v,
            Err(d) => return vec![d],
        };
        let m = ProviderModel::from_value(&v);
        if !m.identifies_platform() {
            return Vec::new();
        }
        match config::decode(&m) {
            Ok(c) => config::warnings(&c.platform)
                .into_iter()
                .map(|(summary, detail)| warning(summary, detail))
                .collect(),
            Err(violations) => violation_diags(&violations, ""),
        }
    }

    /// `ConfigureProvider`: decodes the block and builds the engine. No AWS
    /// call happens until a resource needs one, unless `allowed_account_ids`
    /// or `assume_role` is set: then STS is asked who the caller is first.
    pub async fn configure(&self, config: Option<&tf::DynamicValue>) -> Diags {
        let v = match decode(config) {
            Ok(v) => v,
            Err(d) => return vec![d],
        };
        if !v.is_known_deep() {
            return vec![error(
                "The provider configuration has values that are not known yet",
                "bbws needs every provider setting before it can plan tenants. Set them from values known at plan time (variables, data sources), not from resources created in the same run.",
                None,
            )];
        }
        let ProviderConfig {
            platform,
            aws: settings,
        } = match config::decode(&ProviderModel::from_value(&v)) {
            Ok(c) => c,
            Err(violations) => return violation_diags(&violations, ""),
        };
        let ports = aws::connect(&settings).await;
        if let Err(d) = config::verify_identity(&settings, &ports).await {
            return vec![d];
        }
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), ports));
        let observer = Arc::new(bbws_core::batch::Refresh::new(
            engine.clone(),
            bbws_core::batch::Refresh::DEFAULT_WINDOW,
        ));
        *self.configured.write().await = Some(Arc::new(Configured {
            platform,
            engine,
            observer,
            in_state: Default::default(),
            subdomains: Default::default(),
            placements: Default::default(),
        }));
        Vec::new()
    }

    /// `ValidateResourceConfig`: every SPEC §5 rule that the config alone
    /// decides, with attribute paths. Unknown values are skipped.
    pub fn validate_tenant_config(&self, config: Option<&tf::DynamicValue>) -> Diags {
        let m = match decode_tenant(config) {
            Ok(m) => m.unwrap_or_default(),
            Err(d) => return vec![d],
        };
        let mut input = tenant::input_from(&m);
        // Unknown attributes read as unset; only known ones are judged.
        if m.name.is_unknown() {
            input.name = "unknown".into();
        }
        if m.contact_email.is_unknown() {
            input.contact_email = "unknown@example.com".into();
        }
        let platform = Platform {
            domain: "example.com".into(),
            ..Platform::default()
        };
        let mut violations: Vec<Violation> = bbws_core::validate::validate_input(&input, &platform)
            .into_iter()
            // Name lengths and the listener pool are the provider block's; judged at plan.
            .filter(|v| v.rule != "name_length" && v.rule != "pool_member")
            .collect();
        if let Some(pw) = m.db_password_wo.as_str() {
            violations.extend(bbws_core::validate::validate_db_password(pw));
        }
        if !m.db_password_wo.is_null() && m.db_password_wo_version.is_null() {
            violations.push(Violation::new(
                &[attr::DB_PASSWORD_WO_VERSION],
                "required_with",
                "db_password_wo_version is required with db_password_wo: Terraform never stores a write-only value, so only a new version can tell bbws to rotate it (start with 1)",
            ));
        }
        violation_diags(&violations, "")
    }

    /// `ReadResource`: observe, report drift in `parts`; a tenant with no
    /// part left is gone. Returns the new state and the private state to
    /// keep (the revision observed, handed to the engine on the next read).
    pub async fn read_tenant(
        &self,
        state: Option<&tf::DynamicValue>,
        private: &[u8],
    ) -> (Option<tf::DynamicValue>, Diags, Vec<u8>) {
        let prior = match decode_tenant(state) {
            Ok(Some(m)) => m,
            Ok(None) => return (state.cloned(), Vec::new(), private.to_vec()),
            Err(d) => return (state.cloned(), vec![d], private.to_vec()),
        };
        let c = match self.configured().await {
            Ok(c) => c,
            Err(d) => return (state.cloned(), vec![d], private.to_vec()),
        };
        if let Some(revision) = tenant::known_revision(private) {
            c.engine.know_revision(revision);
        }
        if let Some(id) = prior.tenant_id.as_str() {
            c.note_in_state(id);
        }
        match self.read_observed(&c, &prior).await {
            Ok((state, observed)) => {
                // The state holds this tenant: its creation is confirmed.
                c.engine.confirm_recorded(&observed).await;
                (dynamic(state.as_ref()), Vec::new(), tenant::private_of(&observed))
            }
            Err(d) => (state.cloned(), vec![d], private.to_vec()),
        }
    }

    /// What a refresh of `prior` finds (`None`: gone), or `prior` itself
    /// when it cannot be read.
    async fn read_or_keep(&self, c: &Configured, prior: &TenantModel) -> Option<TenantModel> {
        match self.read_observed(c, prior).await {
            Ok((state, _)) => state,
            Err(_) => Some(prior.clone()),
        }
    }

    /// The state a refresh finds (`None`: the tenant is gone), and what it
    /// observed.
    async fn read_observed(
        &self,
        c: &Configured,
        prior: &TenantModel,
    ) -> Result<(Option<TenantModel>, bbws_core::ObservedTenant), tf::Diagnostic> {
        if prior.name.is_null() {
            return self.read_imported(c, prior).await;
        }
        let spec = spec_from_state(prior, c.platform.clone())?;
        let previous = tenant::recorded_subdomains(Some(prior));
        let observed = c
            .observer
            .observe(key_of(&spec, &previous))
            .await
            .map_err(|e| core_error_diag(&e))?;
        let plan = bbws_core::plan(&spec, &observed);
        if !observed.exists() {
            return Ok((None, observed));
        }
        let recorded = |v: &TfString| v.as_str().map(str::to_owned);
        let outputs = observed
            .outputs(&spec.names())
            .or_recorded_listener(recorded(&prior.listener_arn), recorded(&prior.load_balancer_dns_name));
        let state = tenant::state_value(
            prior,
            &spec,
            &outputs,
            &KnownOutputs::ALL,
            tenant::parts_of(Some(&plan), &spec),
        );
        Ok((Some(state), observed))
    }

    /// The first read after an import: only the tenant id is known; every
    /// attribute comes from the parts (and the settings in the secret).
    async fn read_imported(
        &self,
        c: &Configured,
        prior: &TenantModel,
    ) -> Result<(Option<TenantModel>, bbws_core::ObservedTenant), tf::Diagnostic> {
        let tenant_id = prior.tenant_id.as_str().unwrap_or_default().to_owned();
        let observed = c
            .engine
            .observe_tenant(&tenant_id, &[])
            .await
            .map_err(|e| core_error_diag(&e))?;
        if !observed.exists() {
            return Ok((None, observed));
        }
        Ok((Some(tenant::state_of_observed(&c.platform, &observed)?), observed))
    }

    /// The identity of a state, when its tenant id is known.
    pub fn identity_of(&self, platform: &Platform, state: &TenantModel) -> Option<tf::ResourceIdentityData> {
        state
            .tenant_id
            .as_str()
            .map(|id| tenant::identity(platform.environment.as_str(), id))
    }

    /// The platform, once configured.
    pub async fn platform(&self) -> Option<Arc<Platform>> {
        self.configured.read().await.as_ref().map(|c| c.platform.clone())
    }

    /// `PlanResourceChange`.
    pub async fn plan_tenant(&self, req: &tf::plan_resource_change::Request) -> tf::plan_resource_change::Response {
        let mut resp = tf::plan_resource_change::Response::default();
        match self.plan_inner(req).await {
            Ok(Planned {
                state,
                replace,
                private,
                warnings,
            }) => {
                resp.planned_state = dynamic(state.as_ref());
                resp.requires_replace = replace.iter().map(|a| attribute_path(&[(*a).to_owned()])).collect();
                resp.planned_private = private;
                resp.diagnostics = warnings;
            }
            Err(diags) => {
                resp.diagnostics = diags;
                resp.planned_state = req.proposed_new_state.clone();
            }
        }
        resp
    }

    async fn plan_inner(&self, req: &tf::plan_resource_change::Request) -> Result<Planned, Diags> {
        let prior = decode_tenant(req.prior_state.as_ref()).map_err(|d| vec![d])?;
        let proposed = decode_tenant(req.proposed_new_state.as_ref()).map_err(|d| vec![d])?;
        let config = decode_tenant(req.config.as_ref())
            .map_err(|d| vec![d])?
            .unwrap_or_default();
        let c = self.configured().await.map_err(|d| vec![d])?;

        if proposed.is_none() {
            // Destroy: the guards speak at plan time, not half-way through.
            let spec = spec_from_state(&prior.unwrap_or_default(), c.platform.clone()).map_err(|d| vec![d])?;
            spec.check_destroy().map_err(|e| vec![core_error_diag(&e)])?;
            let deletion = TenantChange {
                prior: Some(&spec),
                planned: None,
                replaces: false,
                changes_parts: true,
            };
            return Ok(Planned::destroy(approval_warnings(&c, &deletion)));
        }
        if tenant::has_unknown_inputs(&config) {
            return Ok(Planned::of(Some(tenant::unknown_plan(&config))));
        }
        let platform_violations = config::validate_for_tenants(&c.platform);
        if !platform_violations.is_empty() {
            return Err(violation_diags(&platform_violations, "Provider setting: "));
        }
        let spec = planned_spec(&c, &config, prior.as_ref())?;
        let (decision, observed) = self.decide(&c, &spec, prior.as_ref(), &req.prior_private).await?;
        if decision.destroys_recorded() {
            // A replacement destroys the tenant in the state first: the same
            // guards as a destroy, judged on what the state holds.
            let old = spec_from_state(&prior.clone().unwrap_or_default(), c.platform.clone()).map_err(|d| vec![d])?;
            old.check_destroy().map_err(|e| vec![core_error_diag(&e)])?;
        }
        let planned_outputs = decision.plan.planned_outputs(&spec, &observed).outputs;
        let replace: Vec<&'static str> = decision.replaced_by.iter().map(|r| r.attribute()).collect();
        let known = KnownOutputs::from_planned(&planned_outputs);
        // Terraform hands this back to the second planning of a replacement.
        let private = tenant::replacing_private(decision.replaces_next.as_deref());
        let planned = tenant::state_value(&config, &spec, &planned_outputs, &known, tenant::parts_of(None, &spec));
        let recorded = prior.as_ref().and_then(|p| spec_from_state(p, c.platform.clone()).ok());
        let change = TenantChange {
            prior: recorded.as_ref(),
            planned: Some(&spec),
            replaces: !replace.is_empty(),
            changes_parts: !decision.plan.is_empty(),
        };
        Ok(Planned {
            state: Some(planned),
            replace,
            private,
            warnings: approval_warnings(&c, &change),
        })
    }

    /// Observes the tenant a plan is for and lets core's lifecycle policy
    /// decide, from what the state holds and this process saw: what the plan
    /// is made from ([`lifecycle::basis`]), and whether it may go ahead.
    async fn decide(
        &self,
        c: &Configured,
        spec: &TenantSpec,
        prior: Option<&TenantModel>,
        prior_private: &[u8],
    ) -> Result<(Decision, bbws_core::ObservedTenant), Diags> {
        let previous = tenant::recorded_subdomains(prior);
        // The refresh just observed this tenant (in a batch): reuse it.
        let key = key_of(spec, &previous);
        let observed = c
            .observer
            .observe(key.clone())
            .await
            .map_err(|e| vec![core_error_diag(&e)])?;
        let facts = Prior {
            in_record: prior.is_some(),
            tenant_id: prior.and_then(|p| p.tenant_id.as_str()),
            id: prior.and_then(|p| p.id.as_str()),
            replacing: tenant::replacing_of(prior_private),
            now: None,
            refreshed: c.is_in_state(&spec.tenant_id),
        };
        let basis = lifecycle::basis(spec, &facts);
        let observed = match basis {
            Basis::Unrecorded => c
                .engine
                .wait_out_lease(&key, observed)
                .await
                .map_err(|e| vec![core_error_diag(&e)])?,
            Basis::Observed | Basis::Rebuild => observed,
        };
        // The apply walk plans each resource again right before applying
        // it: an apply follows a plan that changes something, and starts
        // from what that plan observed (as observed, not as rebuilt). A
        // plan that changes nothing keeps nothing.
        if basis == Basis::Rebuild {
            let (decision, rebuilt) = self.decided(c, spec, lifecycle::rebuilt(&observed), facts).await?;
            if !decision.plan.is_empty() {
                c.engine.keep_for_apply(&key, observed);
            }
            return Ok((decision, rebuilt));
        }
        let (decision, observed) = self.decided(c, spec, observed, facts).await?;
        if !decision.plan.is_empty() {
            c.engine.keep_for_apply(&key, observed.clone());
        }
        Ok((decision, observed))
    }

    /// The decision on `observed`, once the plan's basis is settled.
    async fn decided(
        &self,
        c: &Configured,
        spec: &TenantSpec,
        observed: bbws_core::ObservedTenant,
        facts: Prior<'_>,
    ) -> Result<(Decision, bbws_core::ObservedTenant), Diags> {
        // A new tenant needs a slot in the listener pool (with the others
        // this walk plans); a pinned one, a slot on its listener.
        c.engine
            .check_room(spec, &observed, &c.placements)
            .await
            .map_err(|e| vec![core_error_diag(&e)])?;
        c.engine
            .check_alarm_topic()
            .await
            .map_err(|e| vec![core_error_diag(&e)])?;
        let plan = bbws_core::plan(spec, &observed);
        let decision = lifecycle::decide(spec, &observed, plan, facts).map_err(|r| refusal_diags(spec, &r))?;
        Ok((decision, observed))
    }

    /// `ApplyResourceChange`.
    pub async fn apply_tenant(&self, req: &tf::apply_resource_change::Request) -> tf::apply_resource_change::Response {
        let mut resp = tf::apply_resource_change::Response::default();
        let result = self.apply_inner(req).await;
        match result {
            Ok((new_state, diags, private)) => {
                resp.new_state = dynamic(new_state.as_ref());
                resp.diagnostics = diags;
                resp.private = private;
            }
            Err((new_state, diags)) => {
                resp.new_state = dynamic(new_state.as_ref());
                resp.diagnostics = diags;
            }
        }
        resp
    }

    async fn apply_inner(&self, req: &tf::apply_resource_change::Request) -> Applied {
        let prior = decode_tenant(req.prior_state.as_ref()).map_err(|d| (None, vec![d]))?;
        let planned = decode_tenant(req.planned_state.as_ref()).map_err(|d| (prior.clone(), vec![d]))?;
        let config = decode_tenant(req.config.as_ref())
            .map_err(|d| (prior.clone(), vec![d]))?
            .unwrap_or_default();
        let c = self.configured().await.map_err(|d| (prior.clone(), vec![d]))?;
        let Some(planned) = planned else {
            return self.destroy_tenant(&c, &prior.unwrap_or_default()).await;
        };

        let mut input = tenant::input_from(&config);
        if input.tenant_id.is_none() {
            input.tenant_id = planned
                .tenant_id
                .as_str()
                .map(str::to_owned)
                .or_else(|| Some(derived_tenant_id(&c.platform, &input)));
        }
        // As planned: the plan showed the listener it kept.
        keep_placement(&mut input, Some(&planned), &c.platform);
        let spec: TenantSpec = input
            .resolve(c.platform.clone())
            .map_err(|v| (prior.clone(), violation_diags(&v, "")))?;
        let previous = tenant::recorded_subdomains(prior.as_ref());
        // What the plan just before this apply observed, when it is still so.
        let mut observed = c
            .engine
            .observe_for_apply(&key_of(&spec, &previous))
            .await
            .map_err(|e| (prior.clone(), vec![core_error_diag(&e)]))?;
        let mut plan = bbws_core::plan(&spec, &observed);
        let facts = Prior {
            in_record: prior.is_some(),
            ..Prior::default()
        };
        if lifecycle::waits_out_lease(&facts, &observed) {
            // Another run's creation lease appeared since the plan: wait it
            // out, and leave the tenant alone if that run is alive.
            let key = key_of(&spec, &previous);
            observed = c
                .engine
                .wait_out_lease(&key, observed)
                .await
                .map_err(|e| (None, vec![core_error_diag(&e)]))?;
            lifecycle::refuse_live_lease(&observed, std::time::SystemTime::now())
                .map_err(|r| (None, refusal_diags(&spec, &r)))?;
            plan = bbws_core::plan(&spec, &observed);
        }
        let unplanned = lifecycle::unplanned_destruction(&plan, &tenant::shown_outputs(&planned));
        if !unplanned.is_empty() {
            return Err((prior, vec![changed_since_plan(&spec, &unplanned)]));
        }
        self.converge(&c, &spec, &config, prior.as_ref(), &observed, &plan)
            .await
    }

    /// Lets the engine carry out `plan`; the new state is what exists after,
    /// also when it fails.
    async fn converge(
        &self,
        c: &Configured,
        spec: &TenantSpec,
        config: &TenantModel,
        prior: Option<&TenantModel>,
        observed: &bbws_core::ObservedTenant,
        plan: &bbws_core::TenantPlan,
    ) -> Applied {
        let inputs = bbws_core::ApplyInputs {
            db_password: tenant::db_password(config),
        };
        match c.engine.apply_with(spec, observed, plan, &inputs).await {
            Ok(after) => {
                let after_plan = bbws_core::plan(spec, &after);
                if !after_plan.is_empty() {
                    // The apply did what was planned, yet the read-back
                    // differs (e.g. a part changed meanwhile). The state
                    // reports the planned parts map, as Terraform requires of
                    // an apply; the next refresh shows the drift part by part
                    // and the next apply repairs it in place.
                    tracing::warn!(tenant = %spec.tenant_id, after = %after_plan, "applied, but the read-back still differs; the next refresh reports it");
                }
                let outputs = after.outputs(&spec.names());
                let state =
                    tenant::state_value(config, spec, &outputs, &KnownOutputs::ALL, tenant::parts_of(None, spec));
                Ok((Some(state), Vec::new(), tenant::private_of(&after)))
            }
            Err(e) => {
                let left = match prior {
                    // A create: no subdomain recorded to look under.
                    None => self.left_by_failed_create(c, spec, config, &[], &e).await,
                    Some(prior) => self.read_or_keep(c, prior).await,
                };
                Err((left, vec![core_error_diag(&e)]))
            }
        }
    }

    /// What a failed create leaves, as the new state: Terraform keeps it
    /// (tainted) and the next apply replaces it, instead of forgetting parts
    /// that exist. `None` when nothing is left, when the failure was a
    /// conflict (what exists is someone else's), or when it cannot be read.
    async fn left_by_failed_create(
        &self,
        c: &Configured,
        spec: &TenantSpec,
        config: &TenantModel,
        previous: &[String],
        error: &bbws_core::CoreError,
    ) -> Option<TenantModel> {
        if error.is_conflict() {
            return None;
        }
        let key = key_of(spec, previous);
        let observed = c.engine.observe_tenant(&key.tenant_id, &key.subdomains).await.ok()?;
        if !observed.exists() || !observed.foreign.is_empty() {
            return None;
        }
        let plan = bbws_core::plan(spec, &observed);
        let outputs = observed.outputs(&spec.names());
        Some(tenant::state_value(
            config,
            spec,
            &outputs,
            &KnownOutputs::ALL,
            tenant::parts_of(Some(&plan), spec),
        ))
    }

    /// `ApplyResourceChange` to null: destroy, and report what was kept.
    async fn destroy_tenant(&self, c: &Configured, prior: &TenantModel) -> Applied {
        let keep = || Some(prior.clone());
        let spec = spec_from_state(prior, c.platform.clone()).map_err(|d| (keep(), vec![d]))?;
        let previous: Vec<String> = vec![spec.subdomain.clone()];
        let observed = c
            .engine
            .observe_tenant(&spec.tenant_id, &previous)
            .await
            .map_err(|e| (keep(), vec![core_error_diag(&e)]))?;
        let plan = bbws_core::plan_destroy(&spec, &observed);
        match c.engine.destroy(&spec, &observed, &plan).await {
            Ok(report) => {
                let mut diags = Vec::new();
                if let Some(uri) = &report.backup {
                    diags.push(warning(
                        format!("Tenant {} backed up before its data was deleted", spec.tenant_id),
                        format!("backup_before_destroy: the database was dumped to {uri} before anything was deleted; bbws_tenant_restore loads it into a tenant."),
                    ));
                }
                if !report.retained.is_empty() {
                    // With retain_data_on_destroy = false only the EFS
                    // files remain: bbws never mounts the file system.
                    let how = if spec.retain_data_on_destroy {
                        "Set retain_data_on_destroy = false before destroying to remove tenant data."
                    } else {
                        "bbws does not mount the file system: remove the directory from a host or task that mounts it."
                    };
                    diags.push(warning(
                        format!("Tenant {} destroyed; some of its data was kept", spec.tenant_id),
                        format!("Kept:\n- {}\n\n{how}", report.retained.join("\n- ")),
                    ));
                }
                Ok((None, diags, Vec::new()))
            }
            Err(e) => {
                // Report truthfully what is left.
                let left = self.read_or_keep(c, prior).await;
                Err((left, vec![core_error_diag(&e)]))
            }
        }
    }

    /// `ImportResourceState`: by id (the tenant id) or by identity
    /// (`{environment, tenant_id}`, whose environment must be the provider's).
    pub async fn import_tenant(
        &self,
        id: &str,
        identity: Option<&tf::ResourceIdentityData>,
    ) -> Result<TenantModel, tf::Diagnostic> {
        let from_identity = match identity.and_then(|i| i.identity_data.as_ref()) {
            Some(d) => Some(TenantIdentity::from_value(&decode(Some(d))?)),
            None => None,
        };
        let id = match &from_identity {
            Some(identity) => {
                let env = identity.environment.as_str().unwrap_or_default();
                if let Some(platform) = self.platform().await
                    && env != platform.environment.as_str()
                {
                    return Err(error(
                        "Identity is from another environment",
                        format!(
                            "The identity names environment {env:?}, but this provider manages {:?}; import it with the provider configured for {env:?}.",
                            platform.environment.as_str()
                        ),
                        None,
                    ));
                }
                identity.tenant_id.as_str().unwrap_or_default().to_owned()
            }
            None => id.to_owned(),
        };
        if !bbws_core::validate::is_tenant_id(&id) {
            return Err(error(
                "Invalid import id",
                format!(
                    "The import id {id:?} must be the tenant's 12-digit id, e.g. terraform import bbws_tenant.acme 123456789012"
                ),
                None,
            ));
        }
        // Every attribute is present (null); the read that follows fills them.
        Ok(TenantModel {
            tenant_id: TfString::Known(id),
            ..TenantModel::default()
        })
    }
}

/// What an apply returns: the new state (`None`: gone), its diagnostics and
/// private state; or, when it fails, what is left and why.
type Applied = Result<(Option<TenantModel>, Diags, Vec<u8>), (Option<TenantModel>, Diags)>;

/// The spec a plan is for: the config's, with the tenant id the config
/// sets, the state records, or (neither) derived; its subdomain claimed.
fn planned_spec(c: &Configured, config: &TenantModel, prior: Option<&TenantModel>) -> Result<TenantSpec, Diags> {
    let mut input = tenant::input_from(config);
    if input.tenant_id.is_none() {
        input.tenant_id = prior.and_then(|p| p.tenant_id.as_str()).map(str::to_owned);
    }
    if input.tenant_id.is_none() {
        input.tenant_id = Some(derived_tenant_id(&c.platform, &input));
    }
    keep_placement(&mut input, prior, &c.platform);
    let spec = input.resolve(c.platform.clone()).map_err(|v| violation_diags(&v, ""))?;
    c.subdomains.claim(&spec).map_err(|v| violation_diags(&[v], ""))?;
    Ok(spec)
}

/// The listener of the state `recorded` (the prior state at plan, the
/// planned state at apply) where the configuration names none
/// ([`bbws_core::placement::kept_listener`]).
fn keep_placement(input: &mut bbws_core::TenantInput, recorded: Option<&TenantModel>, platform: &Platform) {
    let recorded = recorded.and_then(|r| r.listener_arn.as_str());
    input.listener_arn = bbws_core::placement::kept_listener(platform, input.listener_arn.take(), recorded);
}

/// The id of a tenant whose configuration sets none, decided at plan time
/// (so the plan shows it) and the same at apply and after a killed run.
fn derived_tenant_id(platform: &Platform, input: &bbws_core::TenantInput) -> String {
    bbws_core::naming::derive_tenant_id(
        platform.environment,
        &input.name,
        &input.contact_email,
        input.subdomain.as_deref(),
    )
}

/// The refusal of an apply whose fresh observation would destroy a part the
/// approved plan kept.
fn changed_since_plan(
    spec: &TenantSpec,
    unplanned: &[(bbws_core::Part, bbws_core::plan::PartAction)],
) -> tf::Diagnostic {
    let parts: Vec<String> = unplanned.iter().map(|(p, a)| format!("{p}: {a}")).collect();
    error(
        format!("Tenant {} changed since the plan; plan again", spec.tenant_id),
        format!(
            "Nothing was changed. Since the plan was made, the tenant's parts changed so that applying now would also do what the plan did not show:\n- {}\n\nRun terraform plan again and review the new plan.",
            parts.join("\n- ")
        ),
        None,
    )
}

/// What to observe of a tenant: its desired subdomain and the one in state.
fn key_of(spec: &TenantSpec, previous: &[String]) -> bbws_core::TenantKey {
    let mut subdomains = vec![spec.subdomain.clone()];
    subdomains.extend(previous.iter().filter(|s| **s != spec.subdomain).cloned());
    bbws_core::TenantKey {
        tenant_id: spec.tenant_id.clone(),
        subdomains,
        custom_domains: spec.custom_domains.clone(),
    }
}

/// A spec from a state (every attribute set), for read and destroy.
fn spec_from_state(state: &TenantModel, platform: Arc<Platform>) -> Result<TenantSpec, tf::Diagnostic> {
    let mut input = tenant::input_from(state);
    // The listener in a state is where the tenant was: a pool without it
    // since does not make the state invalid (the rule is observed).
    input.listener_arn = None;
    input.resolve(platform).map_err(|v| {
        error(
            "The tenant's state is not valid",
            v.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            None,
        )
    })
}

/// What the provider supports, for `GetMetadata` and the schema response.
pub fn capabilities() -> tf::ServerCapabilities {
    tf::ServerCapabilities {
        plan_destroy: true,
        // The schema is fixed for a binary: Terraform may reuse the copy it
        // fetched from the first plugin process of a command rather than
        // ask each later one (a plan starts three).
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

/// What a plan hands Terraform: the planned state, the attributes forcing
/// replacement, private data for Terraform to hand back, and warnings.
struct Planned {
    state: Option<TenantModel>,
    replace: Vec<&'static str>,
    private: Vec<u8>,
    warnings: Diags,
}

impl Planned {
    fn of(state: Option<TenantModel>) -> Planned {
        Planned {
            state,
            replace: Vec::new(),
            private: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn destroy(warnings: Diags) -> Planned {
        Planned {
            warnings,
            ..Planned::of(None)
        }
    }
}

/// The SOP §6.3 approval class of a change in sit and prod, as one
/// warning (core decides the class; none in dev or for a creation).
fn approval_warnings(c: &Configured, change: &TenantChange<'_>) -> Diags {
    approval::notice(c.platform.environment, change)
        .map(|n| warning(n.summary(), n.detail()))
        .into_iter()
        .collect()
}
