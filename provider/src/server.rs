//! The RPC handlers: decode values, call core, encode values and
//! diagnostics. No lifecycle decision is made here.

use std::sync::Arc;

use bbws_core::engine::observe_and_plan;
use bbws_core::lifecycle::{self, Prior};
use bbws_core::validate::Violation;
use bbws_core::{Engine, Platform, TenantSpec, aws};
use magma_protocol::tfplugin6 as tf;
use tokio::sync::RwLock;

use crate::config::{self, ProviderConfig};
use crate::configured::Configured;
use crate::diag::{Diags, attribute_path, core_error_diag, error, refusal_diags, violation_diags, warning};
use crate::protocol::value::{self, Value};
use crate::tenant::{self, KnownOutputs, attr};

/// The provider's state across RPCs.
#[derive(Default)]
pub struct BbwsServer {
    configured: RwLock<Option<Arc<Configured>>>,
}

fn dynamic(v: &Value) -> Option<tf::DynamicValue> {
    Some(value::encode(v))
}

fn decode(v: Option<&tf::DynamicValue>) -> Result<Value, tf::Diagnostic> {
    match v {
        None => Ok(Value::Null),
        Some(d) => value::decode(d).map_err(|e| error("Could not decode a value from Terraform", e.to_string(), None)),
    }
}

/// Private-data marker of a plan that replaces another tenant.
const REPLACING: &str = "bbws:replacing=";

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
            ]
            .into_iter()
            .collect(),
            list_resource_schemas: [(tenant::TYPE_NAME.to_owned(), crate::list_tenant::schema())]
                .into_iter()
                .collect(),
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
        if !v.get("environment").is_known_deep() || !v.get("domain").is_known_deep() {
            return Vec::new();
        }
        match config::decode(&v) {
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
        } = match config::decode(&v) {
            Ok(c) => c,
            Err(violations) => return violation_diags(&violations, ""),
        };
        let ports = aws::connect(&settings).await;
        if let Err(d) = config::verify_identity(&settings, &ports).await {
            return vec![d];
        }
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), ports));
        let observer = Arc::new(bbws_core::batch::BatchedObserver::new(
            engine.clone(),
            bbws_core::batch::BatchedObserver::DEFAULT_WINDOW,
        ));
        *self.configured.write().await = Some(Arc::new(Configured {
            platform,
            engine,
            observer,
            subdomains: Default::default(),
        }));
        Vec::new()
    }

    /// `ValidateResourceConfig`: every SPEC §5 rule that the config alone
    /// decides, with attribute paths. Unknown values are skipped.
    pub fn validate_tenant_config(&self, config: Option<&tf::DynamicValue>) -> Diags {
        let v = match decode(config) {
            Ok(v) => v,
            Err(d) => return vec![d],
        };
        let mut input = tenant::input_from(&v);
        // Unknown attributes read as unset; only known ones are judged.
        if !v.get(attr::NAME).is_known_deep() {
            input.name = "unknown".into();
        }
        if !v.get(attr::CONTACT_EMAIL).is_known_deep() {
            input.contact_email = "unknown@example.com".into();
        }
        let platform = Platform {
            domain: "example.com".into(),
            ..Platform::default()
        };
        let mut violations: Vec<Violation> = bbws_core::validate::validate_input(&input, &platform)
            .into_iter()
            // Name lengths depend on the provider's domain; judged at plan.
            .filter(|v| v.rule != "name_length")
            .collect();
        let wo = v.get(attr::DB_PASSWORD_WO);
        if let Some(pw) = wo.as_str() {
            violations.extend(bbws_core::validate::validate_db_password(pw));
        }
        if !wo.is_null() && v.get(attr::DB_PASSWORD_WO_VERSION).is_null() {
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
        let prior = match decode(state) {
            Ok(v) => v,
            Err(d) => return (state.cloned(), vec![d], private.to_vec()),
        };
        if prior.is_null() {
            return (state.cloned(), Vec::new(), private.to_vec());
        }
        let c = match self.configured().await {
            Ok(c) => c,
            Err(d) => return (state.cloned(), vec![d], private.to_vec()),
        };
        if let Some(revision) = tenant::known_revision(private) {
            c.engine.know_revision(revision);
        }
        match self.read_observed(&c, &prior).await {
            Ok((v, observed)) => (dynamic(&v), Vec::new(), tenant::private_of(&observed)),
            Err(d) => (state.cloned(), vec![d], private.to_vec()),
        }
    }

    async fn read_value(&self, c: &Configured, prior: &Value) -> Result<Value, tf::Diagnostic> {
        Ok(self.read_observed(c, prior).await?.0)
    }

    /// The state a refresh finds, and what it observed.
    async fn read_observed(
        &self,
        c: &Configured,
        prior: &Value,
    ) -> Result<(Value, bbws_core::ObservedTenant), tf::Diagnostic> {
        if prior.get(attr::NAME).is_null() {
            return self.read_imported(c, prior).await;
        }
        let spec = spec_from_state(prior, c.platform.clone())?;
        let previous = tenant::recorded_subdomains(prior);
        let observed = c
            .observer
            .observe(key_of(&spec, &previous))
            .await
            .map_err(|e| core_error_diag(&e))?;
        let plan = bbws_core::plan(&spec, &observed);
        if !observed.exists() {
            return Ok((Value::Null, observed));
        }
        let outputs = observed.outputs(&spec.names());
        let state = tenant::state_value(
            prior,
            &spec,
            &outputs,
            &KnownOutputs::ALL,
            tenant::parts_of(Some(&plan)),
        );
        Ok((state, observed))
    }

    /// The first read after an import: only the tenant id is known; every
    /// attribute comes from the parts (and the settings in the secret).
    async fn read_imported(
        &self,
        c: &Configured,
        prior: &Value,
    ) -> Result<(Value, bbws_core::ObservedTenant), tf::Diagnostic> {
        let tenant_id = prior.get(attr::TENANT_ID).as_str().unwrap_or_default().to_owned();
        let observed = c
            .engine
            .observe_one(&tenant_id, &[])
            .await
            .map_err(|e| core_error_diag(&e))?;
        if !observed.exists() {
            return Ok((Value::Null, observed));
        }
        Ok((tenant::state_of_observed(&c.platform, &observed)?, observed))
    }

    /// The identity of a state value, when its tenant id is known.
    pub fn identity_of(&self, platform: &Platform, state: &Value) -> Option<tf::ResourceIdentityData> {
        state
            .get(attr::TENANT_ID)
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
            Ok((planned, replace, private)) => {
                resp.planned_state = dynamic(&planned);
                resp.requires_replace = replace.iter().map(|a| attribute_path(&[(*a).to_owned()])).collect();
                resp.planned_private = private;
            }
            Err(diags) => {
                resp.diagnostics = diags;
                resp.planned_state = req.proposed_new_state.clone();
            }
        }
        resp
    }

    /// The planned state, the attributes forcing replacement, and private
    /// data for Terraform to hand back.
    async fn plan_inner(
        &self,
        req: &tf::plan_resource_change::Request,
    ) -> Result<(Value, Vec<&'static str>, Vec<u8>), Diags> {
        let prior = decode(req.prior_state.as_ref()).map_err(|d| vec![d])?;
        let proposed = decode(req.proposed_new_state.as_ref()).map_err(|d| vec![d])?;
        let config = decode(req.config.as_ref()).map_err(|d| vec![d])?;
        let c = self.configured().await.map_err(|d| vec![d])?;

        if proposed.is_null() {
            // Destroy: the guards speak at plan time, not half-way through.
            let spec = spec_from_state(&prior, c.platform.clone()).map_err(|d| vec![d])?;
            spec.check_destroy().map_err(|e| vec![core_error_diag(&e)])?;
            return Ok((Value::Null, Vec::new(), Vec::new()));
        }
        if tenant::has_unknown_inputs(&config) {
            return Ok((tenant::unknown_plan(&config), Vec::new(), Vec::new()));
        }
        let platform_violations = config::validate_for_tenants(&c.platform);
        if !platform_violations.is_empty() {
            return Err(violation_diags(&platform_violations, "Provider setting: "));
        }

        let mut input = tenant::input_from(&config);
        if input.tenant_id.is_none() {
            input.tenant_id = prior.get(attr::TENANT_ID).as_str().map(str::to_owned);
        }
        if input.tenant_id.is_none() {
            return Ok((plan_generated_id(&c, input, &config)?, Vec::new(), Vec::new()));
        }
        let spec = input.resolve(c.platform.clone()).map_err(|v| violation_diags(&v, ""))?;
        c.subdomains.claim(&spec).map_err(|v| violation_diags(&[v], ""))?;
        let previous = tenant::recorded_subdomains(&prior);
        // The refresh just observed this tenant (in a batch): reuse it.
        let observed = c
            .observer
            .observe_cached(key_of(&spec, &previous))
            .await
            .map_err(|e| vec![core_error_diag(&e)])?;
        let plan = bbws_core::plan(&spec, &observed);
        let replacing = std::str::from_utf8(&req.prior_private)
            .ok()
            .and_then(|p| p.strip_prefix(REPLACING));
        let prior_record = Prior {
            in_record: !prior.is_null(),
            tenant_id: prior.get(attr::TENANT_ID).as_str(),
            id: prior.get(attr::ID).as_str(),
            replacing,
        };
        let decision = lifecycle::decide(&spec, &observed, plan, prior_record).map_err(|r| refusal_diags(&spec, &r))?;
        let planned_outputs = decision.plan.planned_outputs(&spec, &observed).outputs;
        let replace = decision.replaced_by.iter().map(|r| r.attribute()).collect();
        let replaced = decision.replacing;
        let known = KnownOutputs::from_planned(&planned_outputs);
        let private = replaced
            .map(|old| format!("{REPLACING}{old}").into_bytes())
            .unwrap_or_default();
        Ok((
            tenant::state_value(&config, &spec, &planned_outputs, &known, tenant::parts_of(None)),
            replace,
            private,
        ))
    }

    /// `ApplyResourceChange`.
    pub async fn apply_tenant(&self, req: &tf::apply_resource_change::Request) -> tf::apply_resource_change::Response {
        let mut resp = tf::apply_resource_change::Response::default();
        let result = self.apply_inner(req).await;
        match result {
            Ok((new_state, diags, private)) => {
                resp.new_state = dynamic(&new_state);
                resp.diagnostics = diags;
                resp.private = private;
            }
            Err((new_state, diags)) => {
                resp.new_state = dynamic(&new_state);
                resp.diagnostics = diags;
            }
        }
        resp
    }

    async fn apply_inner(
        &self,
        req: &tf::apply_resource_change::Request,
    ) -> Result<(Value, Diags, Vec<u8>), (Value, Diags)> {
        let prior = decode(req.prior_state.as_ref()).map_err(|d| (Value::Null, vec![d]))?;
        let planned = decode(req.planned_state.as_ref()).map_err(|d| (prior.clone(), vec![d]))?;
        let config = decode(req.config.as_ref()).map_err(|d| (prior.clone(), vec![d]))?;
        let c = self.configured().await.map_err(|d| (prior.clone(), vec![d]))?;
        // A write: whatever this process observed of the tenant is stale.
        for id in [prior.get(attr::TENANT_ID), planned.get(attr::TENANT_ID)]
            .iter()
            .filter_map(|v| v.as_str())
        {
            c.observer.invalidate(id);
        }

        if planned.is_null() {
            return self.destroy_tenant(&c, &prior).await;
        }

        let mut input = tenant::input_from(&config);
        if input.tenant_id.is_none() {
            input.tenant_id = planned
                .get(attr::TENANT_ID)
                .as_str()
                .map(str::to_owned)
                .or_else(|| Some(bbws_core::naming::generate_tenant_id()));
        }
        let spec: TenantSpec = input
            .resolve(c.platform.clone())
            .map_err(|v| (prior.clone(), violation_diags(&v, "")))?;
        let previous = tenant::recorded_subdomains(&prior);
        let failed_state = |prior: &Value| if prior.is_null() { Value::Null } else { prior.clone() };
        let (observed, plan) = observe_and_plan(&c.engine, &spec, &previous)
            .await
            .map_err(|e| (failed_state(&prior), vec![core_error_diag(&e)]))?;
        let inputs = bbws_core::ApplyInputs {
            db_password: tenant::db_password(&config),
        };
        match c.engine.apply_with(&spec, &observed, &plan, &inputs).await {
            Ok(after) => {
                let after_plan = bbws_core::plan(&spec, &after);
                let outputs = after.outputs(&spec.names());
                Ok((
                    tenant::state_value(
                        &config,
                        &spec,
                        &outputs,
                        &KnownOutputs::ALL,
                        tenant::parts_of(Some(&after_plan)),
                    ),
                    Vec::new(),
                    tenant::private_of(&after),
                ))
            }
            Err(e) => {
                let left = if prior.is_null() {
                    Value::Null
                } else {
                    self.read_value(&c, &prior).await.unwrap_or(prior.clone())
                };
                Err((left, vec![core_error_diag(&e)]))
            }
        }
    }

    /// `ApplyResourceChange` to null: destroy, and report what was kept.
    async fn destroy_tenant(&self, c: &Configured, prior: &Value) -> Result<(Value, Diags, Vec<u8>), (Value, Diags)> {
        let spec = spec_from_state(prior, c.platform.clone()).map_err(|d| (prior.clone(), vec![d]))?;
        let previous: Vec<String> = vec![spec.subdomain.clone()];
        let observed = c
            .engine
            .observe_one(&spec.tenant_id, &previous)
            .await
            .map_err(|e| (prior.clone(), vec![core_error_diag(&e)]))?;
        let plan = bbws_core::plan_destroy(&spec, &observed);
        match c.engine.destroy(&spec, &observed, &plan).await {
            Ok(report) => {
                let diags = if report.retained.is_empty() {
                    Vec::new()
                } else {
                    vec![warning(
                        format!("Tenant {} destroyed; its data was kept", spec.tenant_id),
                        format!(
                            "Kept:\n- {}\n\nSet retain_data_on_destroy = false before destroying to remove tenant data.",
                            report.retained.join("\n- ")
                        ),
                    )]
                };
                Ok((Value::Null, diags, Vec::new()))
            }
            Err(e) => {
                // Report truthfully what is left.
                let left = self.read_value(c, prior).await.unwrap_or(prior.clone());
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
    ) -> Result<Value, tf::Diagnostic> {
        let from_identity = match identity.and_then(|i| i.identity_data.as_ref()) {
            Some(d) => Some(decode(Some(d))?),
            None => None,
        };
        let id = match &from_identity {
            Some(v) => {
                let env = v.get("environment").as_str().unwrap_or_default();
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
                v.get(attr::TENANT_ID).as_str().unwrap_or_default().to_owned()
            }
            None => id.to_owned(),
        };
        let id = id.as_str();
        if !bbws_core::validate::is_tenant_id(id) {
            return Err(error(
                "Invalid import id",
                format!(
                    "The import id {id:?} must be the tenant's 12-digit id, e.g. terraform import bbws_tenant.acme 123456789012"
                ),
                None,
            ));
        }
        // Every attribute must be present; the read that follows fills them.
        let mut state = tenant::null_state();
        if let Value::Map(m) = &mut state {
            m.insert(attr::TENANT_ID.to_owned(), Value::String(id.to_owned()));
        }
        Ok(state)
    }
}

/// The plan of a tenant whose id is generated at apply: validated with a
/// placeholder id, every value derived from the id unknown.
fn plan_generated_id(c: &Configured, mut input: bbws_core::TenantInput, config: &Value) -> Result<Value, Diags> {
    // Generated at apply: validate with a placeholder, plan unknowns.
    input.tenant_id = Some("100000000000".into());
    let spec = input.resolve(c.platform.clone()).map_err(|v| violation_diags(&v, ""))?;
    let mut planned = tenant::state_value(
        config,
        &spec,
        &Default::default(),
        &KnownOutputs::NONE,
        tenant::parts_of(None),
    );
    if let Value::Map(m) = &mut planned {
        for k in [
            attr::ID,
            attr::TENANT_ID,
            attr::FQDN,
            attr::URL,
            attr::DATABASE_NAME,
            attr::DATABASE_USER,
            attr::LOG_GROUP_NAME,
        ] {
            m.insert(k.to_owned(), Value::Unknown);
        }
        if config.get(attr::SUBDOMAIN).is_null() {
            m.insert(attr::SUBDOMAIN.to_owned(), Value::Unknown);
        }
    }
    Ok(planned)
}

/// What to observe of a tenant: its desired subdomain and the one in state.
fn key_of(spec: &TenantSpec, previous: &[String]) -> bbws_core::TenantKey {
    let mut subdomains = vec![spec.subdomain.clone()];
    subdomains.extend(previous.iter().filter(|s| **s != spec.subdomain).cloned());
    bbws_core::TenantKey {
        tenant_id: spec.tenant_id.clone(),
        subdomains,
    }
}

/// A spec from a state value (every attribute set), for read and destroy.
fn spec_from_state(state: &Value, platform: Arc<Platform>) -> Result<TenantSpec, tf::Diagnostic> {
    tenant::input_from(state).resolve(platform).map_err(|v| {
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
