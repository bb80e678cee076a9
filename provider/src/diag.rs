//! Diagnostics: how core's errors, validation violations and lifecycle
//! refusals read in Terraform, each at the attribute it is about.

use bbws_core::lifecycle::{self, Refusal};
use bbws_core::validate::Violation;
use bbws_core::{CoreError, TenantSpec};
use magma_protocol::tfplugin6 as tf;

use crate::attr;

/// Diagnostics of one RPC.
pub type Diags = Vec<tf::Diagnostic>;

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
pub fn attribute_path(path: &[String]) -> tf::AttributePath {
    use tf::attribute_path::{Step, step::Selector};
    let is_key = |i: usize, name: &str| match path.first().map(String::as_str) {
        Some(first) if attr::is_map(first) => i > 0,
        Some(attr::provider::DEFAULT_TAGS) => i > 0 && !(i == 1 && name == attr::provider::default_tags::TAGS),
        _ => false,
    };
    let index = |i: usize, name: &str| {
        let in_list = i == 1 && path.first().is_some_and(|first| attr::is_list(first));
        name.parse::<i64>().ok().filter(|_| in_list)
    };
    let steps = path
        .iter()
        .enumerate()
        .map(|(i, name)| Step {
            selector: Some(if let Some(n) = index(i, name) {
                Selector::ElementKeyInt(n)
            } else if is_key(i, name) {
                Selector::ElementKeyString(name.clone())
            } else {
                Selector::AttributeName(name.clone())
            }),
        })
        .collect();
    tf::AttributePath { steps }
}

pub fn violation_diags(violations: &[Violation], prefix: &str) -> Diags {
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
        CoreError::Stopped { .. } => error("Stopped", e.to_string(), None),
        CoreError::NotPossible { operation, .. } => {
            error(format!("Cannot {operation} the tenant"), e.to_string(), None)
        }
        CoreError::CreatedElsewhere { .. } => error(
            "A part of this tenant was created meanwhile by someone else",
            e.to_string(),
            None,
        ),
        CoreError::Apply { step, .. } => {
            let code = e.code().map(|c| format!(" (error code {c})")).unwrap_or_default();
            error(format!("Failed to {step}{code}"), with_advice(e, e.to_string()), None)
        }
        CoreError::Port { .. } if e.is_access_denied() => error(
            if e.code().is_some_and(bbws_core::aws::is_expired_credentials) {
                "The AWS credentials have expired"
            } else {
                "AWS refused the credentials"
            },
            format!(
                "{e}\n\nCheck the AWS credentials: the provider uses the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the provider's `profile`, SSO, instance role), and assumes `assume_role.role_arn` with them when set."
            ),
            None,
        ),
        CoreError::Port { .. } => error(
            format!("AWS request failed: {}", e.code().unwrap_or("error")),
            with_advice(e, format!("{e}.")),
            None,
        ),
    }
}

/// `detail`, then whether running again can help (`retryable: …` or `not
/// retryable: …`), for errors of a failed call.
fn with_advice(e: &CoreError, detail: String) -> String {
    match e.retry_advice() {
        Some(advice) => format!("{detail}\n\n{advice}."),
        None => detail,
    }
}

/// Why core's lifecycle policy refuses a planned change, at the attribute
/// that causes it.
pub fn refusal_diags(spec: &TenantSpec, refusal: &Refusal) -> Diags {
    match refusal {
        Refusal::Conflicts(conflicts) => conflicts
            .iter()
            .map(|f| {
                let e = CoreError::NotOwned {
                    part: f.part,
                    name: f.name.clone(),
                    tenant_id: spec.tenant_id.clone(),
                    found: f.found.clone(),
                };
                let path = vec![lifecycle::conflict_attribute(f.part).to_owned()];
                error(
                    format!(
                        "The {} of this tenant already exists and belongs to someone else",
                        f.part
                    ),
                    e.to_string(),
                    Some(&path),
                )
            })
            .collect(),
        Refusal::BeingCreated(lease) => vec![error(
            format!("Tenant {} is being created by another run", spec.tenant_id),
            format!(
                "Another run (another Terraform state or pipeline) is creating tenant {tid} right now: its creation lease on the secret {secret} was renewed while this plan waited (holder {holder}, until {until}). Two runs must not build one tenant. Wait for that run to finish and import the tenant into this state if it should be managed here, or choose another tenant_id.",
                tid = spec.tenant_id,
                secret = spec.names().secret,
                holder = lease.holder,
                until = lease.expires_text(),
            ),
            Some(&[refusal.attribute().to_owned()]),
        )],
        Refusal::ExistsElsewhere => vec![error(
            format!("Tenant {} already exists", spec.tenant_id),
            format!(
                "Tenant {tid} exists in environment {env} with all its parts, but not in this Terraform state: it was created by another configuration or its state was lost. Import it instead of creating it:\n\n  terraform import <resource address> {tid}\n\nor add an import block (id = \"{tid}\", or identity = {{ environment = \"{env}\", tenant_id = \"{tid}\" }}) and plan again. To create a new tenant, choose another tenant_id.",
                tid = spec.tenant_id,
                env = spec.platform.environment,
            ),
            Some(&[refusal.attribute().to_owned()]),
        )],
    }
}

#[cfg(test)]
mod tests {
    use bbws_core::ports::{PortError, PortErrorKind};
    use bbws_core::{CoreError, Part};

    use super::{attribute_path, core_error_diag};

    #[test]
    fn a_path_into_a_map_ends_in_a_key() {
        use magma_protocol::tfplugin6::attribute_path::step::Selector::{AttributeName as A, ElementKeyString as K};
        let steps = |p: &[&str]| -> Vec<_> {
            let p: Vec<String> = p.iter().map(|s| (*s).to_owned()).collect();
            attribute_path(&p)
                .steps
                .into_iter()
                .filter_map(|s| s.selector)
                .collect()
        };
        assert_eq!(
            steps(&["environment_variables", "X"]),
            [A("environment_variables".into()), K("X".into())]
        );
        assert_eq!(steps(&["tags", "team"]), [A("tags".into()), K("team".into())]);
        assert_eq!(
            steps(&["default_tags", "tags", "team"]),
            [A("default_tags".into()), A("tags".into()), K("team".into())]
        );
        assert_eq!(steps(&["database", "host"]), [A("database".into()), A("host".into())]);
    }

    #[test]
    fn a_failed_call_says_whether_running_again_helps() {
        let throttled = CoreError::port(
            Part::Service,
            "CreateService",
            PortError::new(PortErrorKind::Transient, "ThrottlingException", "Rate exceeded").with_attempts(9),
        );
        let d = core_error_diag(&throttled);
        assert!(
            d.detail.contains("retryable: AWS throttled this call 9 times") && d.detail.contains("run again"),
            "{}",
            d.detail
        );
        let invalid = CoreError::port(
            Part::Service,
            "CreateService",
            PortError::new(PortErrorKind::InvalidInput, "InvalidParameterException", "bad cpu"),
        );
        assert!(core_error_diag(&invalid).detail.contains("not retryable:"));
    }
}
