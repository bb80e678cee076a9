//! The RPC handlers: decode values, call core, encode values and
//! diagnostics. No lifecycle decision is made here.

use std::sync::Arc;

use bbws_core::engine::observe_and_plan;
use bbws_core::validate::Violation;
use bbws_core::{CoreError, Engine, Platform, TenantSpec, aws};
use magma_protocol::tfplugin6 as tf;
use tokio::sync::RwLock;

use crate::config::{self, ProviderConfig};
use crate::protocol::value::{self, Value};
use crate::tenant::{self, KnownOutputs};

/// A configured provider: the platform and an engine on it.
pub(crate) struct Configured {
    pub(crate) platform: Arc<Platform>,
    pub(crate) engine: Arc<Engine>,
    /// Terraform refreshes resources in parallel: their reads share
    /// batched AWS calls.
    pub(crate) observer: Arc<bbws_core::batch::BatchedObserver>,
}

/// The provider's state across RPCs.
#[derive(Default)]
pub struct BbwsServer {
    configured: RwLock<Option<Arc<Configured>>>,
}

type Diags = Vec<tf::Diagnostic>;

/// An error diagnostic, at `path` when given.
pub fn error(summary: impl Into<String>, detail: impl Into<String>, path: Option<&[String]>) -> tf::Diagnostic {
    diagnostic(tf::diagnostic::Severity::Error, summary, detail, path)
}

/// A warning diagnostic.
pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> tf::Diagnostic {
    diagnostic(tf::diagnostic::Severity::Warning, summary, detail, None)
}

fn diagnostic(
    severity: tf::diagnostic::Severity,
    summary: impl Into<String>,
    detail: impl Into<String>,
    path: Option<&[String]>,
) -> tf::Diagnostic {
    tf::Diagnostic {
        severity: severity as i32,
        summary: summary.into(),
        detail: detail.into(),
        attribute: path.map(attribute_path),
    }
}

/// `["environment_variables", "X"]` → attribute `environment_variables`,
/// map key `"X"`; `["database", "host"]` → two attribute names (blocks).
fn attribute_path(path: &[String]) -> tf::AttributePath {
    use tf::attribute_path::{Step, step::Selector};
    let is_map = |first: &str| matches!(first, "environment_variables" | "tags" | "default_tags");
    let steps = path
        .iter()
        .enumerate()
        .map(|(i, name)| Step {
            selector: Some(
                if i > 0 && is_map(&path[0]) && !(path[0] == "default_tags" && i == 1 && name == "tags") {
                    Selector::ElementKeyString(name.clone())
                } else {
                    Selector::AttributeName(name.clone())
                },
            ),
        })
        .collect();
    tf::AttributePath { steps }
}

fn violation_diags(violations: &[Violation], prefix: &str) -> Diags {
    violations
        .iter()
        .map(|v| {
            error(
                format!("{prefix}{}", v.message),
                format!("Rule: {}. Attribute: {}.", v.rule, v.attribute.join(".")),
                Some(&v.attribute),
            )
        })
        .collect()
}

/// Turns a core error into a diagnostic a person can act on.
pub fn core_error_diag(e: &CoreError) -> tf::Diagnostic {
    match e {
        CoreError::Invalid(v) => violation_diags(v, "")
            .into_iter()
            .next()
            .unwrap_or_else(|| error("invalid configuration", e.to_string(), None)),
        CoreError::Platform { setting, message } => error(
            format!("Provider setting {setting} is wrong"),
            format!("{message}\n\n(setting `{setting}` in the provider \"bbws\" block)"),
            None,
        ),
        CoreError::DestroyBlocked { reason, how, .. } => error(
            format!("Destroy blocked: {reason}"),
            format!("{e}\n\nTo proceed: {how}."),
            None,
        ),
        CoreError::NotOwned { .. } => error("A part of this tenant belongs to someone else", e.to_string(), None),
        CoreError::Apply { step, .. } => {
            let code = e.code().map(|c| format!(" (error code {c})")).unwrap_or_default();
            error(format!("Failed to {step}{code}"), e.to_string(), None)
        }
        CoreError::Port { .. } if e.is_access_denied() => error(
            "AWS refused the credentials",
            format!(
                "{e}\n\nCheck the AWS credentials: the provider uses the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the provider's `profile`, SSO, instance role)."
            ),
            None,
        ),
        CoreError::Port { .. } => {
            let retry = if e.is_retryable() {
                " This error is transient: running the same command again may succeed."
            } else {
                ""
            };
            error(
                format!("AWS request failed: {}", e.code().unwrap_or("error")),
                format!("{e}.{retry}"),
                None,
            )
        }
    }
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
    /// call happens until a resource needs one.
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
        if !v.get("name").is_known_deep() {
            input.name = "unknown".into();
        }
        if !v.get("contact_email").is_known_deep() {
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
        let wo = v.get("db_password_wo");
        if let Some(pw) = wo.as_str() {
            violations.extend(bbws_core::validate::validate_db_password(pw));
        }
        if !wo.is_null() && v.get("db_password_wo_version").is_null() {
            violations.push(Violation::new(
                &["db_password_wo_version"],
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
        if prior.get("name").is_null() {
            return self.read_imported(c, prior).await;
        }
        let spec = spec_from_state(prior, c.platform.clone())?;
        let previous = prior
            .get("subdomain")
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect::<Vec<_>>();
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
        let tenant_id = prior.get("tenant_id").as_str().unwrap_or_default().to_owned();
        let observed = c
            .engine
            .observe_one(&tenant_id, &[])
            .await
            .map_err(|e| core_error_diag(&e))?;
        if !observed.exists() {
            return Ok((Value::Null, observed));
        }
        Ok((Self::state_of_observed(c, &observed)?, observed))
    }

    /// The resource value of a tenant known only from its parts (import,
    /// list): the settings in its secret and what the parts say.
    pub(crate) fn state_of_observed(
        c: &Configured,
        observed: &bbws_core::ObservedTenant,
    ) -> Result<Value, tf::Diagnostic> {
        let tenant_id = observed.tenant_id.clone();
        let input = observed.recovered_input(&c.platform).ok_or_else(|| {
            error(
                format!("Tenant {tenant_id} cannot be imported"),
                format!(
                    "Parts of tenant {tenant_id} exist in environment {}, but its database secret ({}) with the tenant's settings does not. Import works for tenants created by bbws; recreate the secret by applying a configuration for this tenant instead.",
                    c.platform.environment,
                    spec_names(&c.platform, &tenant_id).secret
                ),
                None,
            )
        })?;
        let spec = input
            .resolve(c.platform.clone())
            .map_err(|v| violation_diags(&v, "").remove(0))?;
        let plan = bbws_core::plan(&spec, observed);
        let config = tenant::value_from_input(&input);
        let outputs = observed.outputs(&spec.names());
        Ok(tenant::state_value(
            &config,
            &spec,
            &outputs,
            &KnownOutputs::ALL,
            tenant::parts_of(Some(&plan)),
        ))
    }

    /// The identity of a state value, when its tenant id is known.
    pub fn identity_of(&self, platform: &Platform, state: &Value) -> Option<tf::ResourceIdentityData> {
        state
            .get("tenant_id")
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
            input.tenant_id = prior.get("tenant_id").as_str().map(str::to_owned);
        }
        let Some(_) = &input.tenant_id else {
            // Generated at apply: validate with a placeholder, plan unknowns.
            input.tenant_id = Some("100000000000".into());
            let spec = input.resolve(c.platform.clone()).map_err(|v| violation_diags(&v, ""))?;
            let mut planned = tenant::state_value(
                &config,
                &spec,
                &Default::default(),
                &KnownOutputs::NONE,
                tenant::parts_of(None),
            );
            if let Value::Map(m) = &mut planned {
                for k in [
                    "id",
                    "tenant_id",
                    "fqdn",
                    "url",
                    "database_name",
                    "database_user",
                    "log_group_name",
                ] {
                    m.insert(k.to_owned(), Value::Unknown);
                }
                if config.get("subdomain").is_null() {
                    m.insert("subdomain".to_owned(), Value::Unknown);
                }
            }
            return Ok((planned, Vec::new(), Vec::new()));
        };
        let spec = input.resolve(c.platform.clone()).map_err(|v| violation_diags(&v, ""))?;
        let previous: Vec<String> = prior.get("subdomain").as_str().map(str::to_owned).into_iter().collect();
        // The refresh just observed this tenant (in a batch): reuse it.
        let observed = c
            .observer
            .observe_cached(key_of(&spec, &previous))
            .await
            .map_err(|e| vec![core_error_diag(&e)])?;
        let plan = bbws_core::plan(&spec, &observed);
        // A replacement is planned twice: with the prior state, then for the
        // new object with a null prior and our private data from the first
        // call. Either way the tenant being replaced is deleted first, so
        // what it owns (its subdomain) is not a conflict.
        let replaced = prior
            .get("tenant_id")
            .as_str()
            .map(str::to_owned)
            .or_else(|| {
                std::str::from_utf8(&req.prior_private)
                    .ok()
                    .and_then(|p| p.strip_prefix(REPLACING))
                    .map(str::to_owned)
            })
            .filter(|id| *id != spec.tenant_id);
        let plan = match &replaced {
            Some(old) => plan.without_conflicts_owned_by(old),
            None => plan,
        };
        if !plan.conflicts.is_empty() {
            return Err(plan
                .conflicts
                .iter()
                .map(|f| {
                    let e = CoreError::NotOwned {
                        part: f.part,
                        name: f.name.clone(),
                        tenant_id: spec.tenant_id.clone(),
                        found: f.found.clone(),
                    };
                    let path = match f.part {
                        bbws_core::Part::ListenerRule | bbws_core::Part::DnsRecord => vec!["subdomain".to_owned()],
                        _ => vec!["tenant_id".to_owned()],
                    };
                    error(
                        format!(
                            "The {} of this tenant already exists and belongs to someone else",
                            f.part
                        ),
                        e.to_string(),
                        Some(&path),
                    )
                })
                .collect());
        }
        // A whole tenant that exists but is not in this state was made
        // elsewhere (another state, a console, a lost state file): taking it
        // over silently would let two states fight over it. An interrupted
        // run leaves a partial tenant (no service yet), which is adopted.
        if prior.is_null() && replaced.is_none() && observed.is_complete_elsewhere() {
            return Err(vec![error(
                format!("Tenant {} already exists", spec.tenant_id),
                format!(
                    "Tenant {tid} exists in environment {env} with all its parts, but not in this Terraform state: it was created by another configuration or its state was lost. Import it instead of creating it:\n\n  terraform import <resource address> {tid}\n\nor add an import block (id = \"{tid}\", or identity = {{ environment = \"{env}\", tenant_id = \"{tid}\" }}) and plan again. To create a new tenant, choose another tenant_id.",
                    tid = spec.tenant_id,
                    env = c.platform.environment,
                ),
                Some(&["tenant_id".to_owned()]),
            )]);
        }
        let planned_outputs = plan.planned_outputs(&spec, &observed).outputs;
        let mut replace = Vec::new();
        if !prior.is_null() {
            if prior.get("tenant_id").as_str() != Some(spec.tenant_id.as_str()) {
                replace.push("tenant_id");
            }
            if prior.get("id").as_str() != Some(planned_outputs.id.as_str()) {
                replace.push("id");
            }
        }
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
        for id in [prior.get("tenant_id"), planned.get("tenant_id")]
            .iter()
            .filter_map(|v| v.as_str())
        {
            c.observer.invalidate(id);
        }

        if planned.is_null() {
            let spec = spec_from_state(&prior, c.platform.clone()).map_err(|d| (prior.clone(), vec![d]))?;
            let previous: Vec<String> = vec![spec.subdomain.clone()];
            let observed = c
                .engine
                .observe_one(&spec.tenant_id, &previous)
                .await
                .map_err(|e| (prior.clone(), vec![core_error_diag(&e)]))?;
            let plan = bbws_core::plan_destroy(&spec, &observed);
            return match c.engine.destroy(&spec, &observed, &plan).await {
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
                    let left = self.read_value(&c, &prior).await.unwrap_or(prior.clone());
                    Err((left, vec![core_error_diag(&e)]))
                }
            };
        }

        let mut input = tenant::input_from(&config);
        if input.tenant_id.is_none() {
            input.tenant_id = planned
                .get("tenant_id")
                .as_str()
                .map(str::to_owned)
                .or_else(|| Some(bbws_core::naming::generate_tenant_id()));
        }
        let spec: TenantSpec = input
            .resolve(c.platform.clone())
            .map_err(|v| (prior.clone(), violation_diags(&v, "")))?;
        let previous: Vec<String> = prior.get("subdomain").as_str().map(str::to_owned).into_iter().collect();
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
                v.get("tenant_id").as_str().unwrap_or_default().to_owned()
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
            m.insert("tenant_id".to_owned(), Value::String(id.to_owned()));
        }
        Ok(state)
    }
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

fn spec_names(platform: &Platform, tenant_id: &str) -> bbws_core::naming::TenantNames {
    bbws_core::naming::TenantNames::new(platform.environment, tenant_id, tenant_id, &platform.domain)
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
