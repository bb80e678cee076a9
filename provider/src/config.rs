//! The provider block: schema, and its mapping to core's `Platform` and the
//! AWS settings.

use std::collections::BTreeMap;
use std::str::FromStr;

use bbws_core::aws::{AssumeRole, AwsSettings};
use bbws_core::ports::Ports;
use bbws_core::validate::{self, Violation};
use bbws_core::{AdminAuth, CoreError, DatabaseSettings, Environment, Platform, SslMode};
use magma_protocol::tfplugin6::{self as tf, Schema};

use crate::protocol::schema::{Attr, Block, NestedBlock};
use crate::protocol::value::Value;

/// Services whose endpoint can be overridden in the `endpoints` block.
pub const ENDPOINT_SERVICES: [&str; 9] = bbws_core::aws::ENDPOINT_KEYS;

/// The provider block's schema (SPEC §7).
pub fn schema() -> Schema {
    let mut endpoints = Block::new(0).description(
        "Per-service endpoint overrides, for emulators and VPC endpoints. `AWS_ENDPOINT_URL` is honoured too.",
    );
    for service in ENDPOINT_SERVICES {
        let description = match service {
            "tagging" => "Endpoint URL for the Resource Groups Tagging API, which reads log-group tags in bulk (`tag:GetResources`; without it, one call per group). Defaults to the `logs` endpoint when that is set.".to_owned(),
            _ => format!("Endpoint URL for {service}."),
        };
        endpoints = endpoints.attr(Attr::string(service).optional().description(&description));
    }
    Block::new(0)
        .description("bbws provisions tenants of a multi-tenant WordPress hosting platform on AWS. One provider block describes one environment's shared platform.")
        .attr(Attr::string("environment").required().description("`dev`, `sit` or `prod`. Part of every name; changing it replaces every tenant."))
        .attr(Attr::string("domain").required().description("The environment's DNS domain; tenants are served at `{subdomain}.{domain}`."))
        .attr(Attr::string("region").optional().description("AWS region; else the AWS chain's (`AWS_REGION`, profile)."))
        .attr(Attr::string("profile").optional().description("Named AWS profile; credentials otherwise come from the standard chain (environment, SSO, instance role)."))
        .attr(Attr::string("cluster").optional().description("ECS cluster (default `{environment}-cluster`)."))
        .attr(Attr::string("vpc_id").optional().description("VPC of the target groups."))
        .attr(Attr::list_of_string("subnet_ids").optional().description("Subnets of the Fargate tasks."))
        .attr(Attr::list_of_string("security_group_ids").optional().description("Security groups of the Fargate tasks."))
        .attr(Attr::string("listener_arn").optional().description("The environment's shared HTTPS listener; each tenant gets a host-header rule on it."))
        .attr(Attr::string("hosted_zone_id").optional().description("Route53 hosted zone of `domain`."))
        .attr(Attr::string("efs_file_system_id").optional().description("EFS file system holding the tenants' `wp-content`."))
        .attr(Attr::string("execution_role_arn").optional().description("IAM role ECS uses to pull the image, read the database secret and write logs (required on real AWS)."))
        .attr(Attr::string("task_role_arn").optional().description("IAM role the WordPress container runs as."))
        .block(NestedBlock::single(
            "database",
            Block::new(0)
                .description("The environment's shared MySQL server.")
                .attr(Attr::string("instance_identifier").optional().description("RDS instance identifier; the endpoint comes from the RDS API."))
                .attr(Attr::string("host").optional().description("Overrides the RDS endpoint's host."))
                .attr(Attr::number("port").optional().description("Overrides the RDS endpoint's port."))
                .attr(Attr::string("admin_secret_arn").optional().description("Secrets Manager secret with the admin's JSON `{\"username\",\"password\"}`."))
                .attr(Attr::string("ssl_mode").optional().description("TLS towards MySQL, in MySQL's names: `DISABLED` (a local server only; warned at plan), `PREFERRED`, `REQUIRED`, `VERIFY_CA` or `VERIFY_IDENTITY` (the default: certificate chain and host name verified)."))
                .attr(Attr::string("ssl_ca").optional().description("PEM certificates to trust for the server's certificate, besides the system's roots (`SSL_CERT_FILE` honoured). For RDS, the AWS global bundle: `file(\"global-bundle.pem\")`."))
                .attr(Attr::number("statement_timeout_seconds").optional().description("No MySQL statement waits longer than this (default 60): `lock_wait_timeout` and the statement time limit are set per session, and the provider stops waiting shortly after."))
                .attr(Attr::string("admin_auth").optional().description("How the admin logs in: `password` (the default: `admin_secret_arn`) or `iam` (an RDS IAM authentication token, over verified TLS)."))
                .attr(Attr::string("admin_username").optional().description("The MySQL user for `admin_auth = \"iam\"` (else the username in `admin_secret_arn`).")),
        ))
        .attr(Attr::list_of_string("allowed_account_ids").optional().description("The AWS accounts this configuration may work in (12-digit ids). When set, the provider asks STS who the caller is before anything else, and a plan or apply in any other account fails naming the expected and the actual account, as the AWS provider's setting of the same name does."))
        .attr(Attr::number("max_retries").optional().description("How many times a call to AWS is retried after its first attempt when it is throttled or fails with a 5xx or a transient network error (the SDK's standard retry mode: exponential backoff with jitter, up to 20 s between attempts). Default 8 (about 45 s of backoff in all). Each attempt times out after 20 s and the whole call after 20 s plus 12 s per retry (at most 15 minutes); a refused connection is not retried. An error that retries did not overcome says whether running again may help."))
        .block(NestedBlock::single(
            "assume_role",
            Block::new(0)
                .description("A role to assume with the credentials of the standard AWS chain (as the AWS provider's `assume_role`): every AWS call is made as that role. Typical for one provider alias per account (DEV, SIT, PROD). The role is assumed when the provider is configured, so a role that cannot be assumed fails the plan before anything else.")
                .attr(Attr::string("role_arn").required().description("ARN of the role, `arn:aws:iam::{account}:role/{name}`."))
                .attr(Attr::string("session_name").optional().description("Session name of the assumed role (CloudTrail shows it). Default `bbws`."))
                .attr(Attr::string("external_id").optional().description("External id the role's trust policy requires (`sts:ExternalId`).")),
        ))
        .block(NestedBlock::single("endpoints", endpoints))
        .block(NestedBlock::single(
            "default_tags",
            Block::new(0)
                .description("Tags put on every AWS part of every tenant.")
                .attr(Attr::map_of_string("tags").optional().description("The tags.")),
        ))
        .into_schema()
}

/// The provider configuration, decoded.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The platform for core.
    pub platform: Platform,
    /// Where and as whom to reach AWS.
    pub aws: AwsSettings,
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_list()
        .map(|l| l.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes the provider block. Only `environment` and `domain` are checked
/// here; the rest when a tenant needs it ([`validate_for_tenants`]), so data
/// sources work with a partial block.
pub fn decode(v: &Value) -> Result<ProviderConfig, Vec<Violation>> {
    let s = |k: &str| v.get(k).as_str().map(str::to_owned);
    let mut violations = Vec::new();
    let environment = match s("environment").as_deref().map(Environment::from_str) {
        Some(Ok(e)) => e,
        Some(Err(msg)) => {
            violations.push(Violation::new(&["environment"], "one_of", msg));
            Environment::Dev
        }
        None => {
            violations.push(Violation::new(
                &["environment"],
                "required",
                "environment must be set to dev, sit or prod",
            ));
            Environment::Dev
        }
    };
    let db = v.get("database");
    let ssl_mode = match db.get("ssl_mode").as_str().map(SslMode::from_str) {
        None => SslMode::default(),
        Some(Ok(m)) => m,
        Some(Err(msg)) => {
            violations.push(Violation::new(&["database", "ssl_mode"], "one_of", msg));
            SslMode::default()
        }
    };
    let admin_auth = match db.get("admin_auth").as_str().map(AdminAuth::from_str) {
        None => AdminAuth::default(),
        Some(Ok(a)) => a,
        Some(Err(msg)) => {
            violations.push(Violation::new(&["database", "admin_auth"], "one_of", msg));
            AdminAuth::default()
        }
    };
    let port = match number(db.get("port"), "database.port", &mut violations) {
        None => None,
        Some(p) => match u16::try_from(p).ok().filter(|p| *p > 0) {
            Some(p) => Some(p),
            None => {
                violations.push(Violation::new(
                    &["database", "port"],
                    "range",
                    format!("database.port = {p} must be a TCP port, 1-65535"),
                ));
                None
            }
        },
    };
    let statement_timeout = number(
        db.get("statement_timeout_seconds"),
        "database.statement_timeout_seconds",
        &mut violations,
    );
    let endpoints_block = v.get("endpoints");
    let endpoints = ENDPOINT_SERVICES
        .iter()
        .filter_map(|svc| {
            endpoints_block
                .get(svc)
                .as_str()
                .map(|u| ((*svc).to_owned(), u.to_owned()))
        })
        .collect();
    let region = s("region")
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_default();
    let platform = Platform {
        environment,
        // DNS names compare case-insensitively; Route53 and ELBv2 keep
        // them lower-case, and so does every name bbws derives.
        domain: s("domain")
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .unwrap_or_default(),
        region: region.clone(),
        cluster: s("cluster").unwrap_or_else(|| format!("{environment}-cluster")),
        vpc_id: s("vpc_id").unwrap_or_default(),
        subnet_ids: string_list(v.get("subnet_ids")),
        security_group_ids: string_list(v.get("security_group_ids")),
        listener_arn: s("listener_arn").unwrap_or_default(),
        hosted_zone_id: s("hosted_zone_id").unwrap_or_default(),
        efs_file_system_id: s("efs_file_system_id").unwrap_or_default(),
        execution_role_arn: s("execution_role_arn"),
        task_role_arn: s("task_role_arn"),
        database: DatabaseSettings {
            instance_identifier: db.get("instance_identifier").as_str().unwrap_or_default().to_owned(),
            host: db.get("host").as_str().map(str::to_owned),
            port,
            admin_secret_arn: db.get("admin_secret_arn").as_str().unwrap_or_default().to_owned(),
            ssl_mode,
            ssl_ca: db.get("ssl_ca").as_str().map(str::to_owned),
            // Out of a u32's range reads as 0, which validation rejects.
            statement_timeout_seconds: statement_timeout
                .map_or(bbws_core::spec::DEFAULT_STATEMENT_TIMEOUT_SECONDS, |n| {
                    u32::try_from(n).unwrap_or(0)
                }),
            admin_auth,
            admin_username: db.get("admin_username").as_str().map(str::to_owned),
        },
        default_tags: string_map(v.get("default_tags").get("tags")),
    };
    if platform.domain.is_empty() {
        violations.push(Violation::new(
            &["domain"],
            "required",
            "domain must be set to the environment's DNS domain",
        ));
    }
    let assume_role = decode_assume_role(v.get("assume_role"), &mut violations);
    let allowed_account_ids = string_list(v.get("allowed_account_ids"));
    for (i, id) in allowed_account_ids.iter().enumerate() {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            violations.push(Violation::new(
                &["allowed_account_ids"],
                "account_id",
                format!("allowed_account_ids[{i}] = {id:?} is not an AWS account id: 12 digits, e.g. \"536580886816\""),
            ));
        }
    }
    let max_retries = match number(v.get("max_retries"), "max_retries", &mut violations) {
        None => None,
        Some(n) => match u32::try_from(n).ok().filter(|n| *n <= MAX_RETRIES_LIMIT) {
            Some(n) => Some(n),
            None => {
                violations.push(Violation::new(
                    &["max_retries"],
                    "range",
                    format!("max_retries = {n} must be between 0 and {MAX_RETRIES_LIMIT} (the number of retries after the first attempt)"),
                ));
                None
            }
        },
    };
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(ProviderConfig {
        aws: AwsSettings {
            region: s("region"),
            profile: s("profile"),
            endpoints,
            assume_role,
            allowed_account_ids,
            max_retries,
        },
        platform,
    })
}

/// A number attribute of the provider block as a whole number; anything
/// else is a violation at `path` (and reads as unset).
fn number(v: &Value, path: &str, violations: &mut Vec<Violation>) -> Option<i64> {
    use crate::model::Attribute;
    crate::model::whole_number(&crate::model::TfNumber::from_value(v), path, violations)
}

/// The most retries `max_retries` may ask for.
const MAX_RETRIES_LIMIT: u32 = 100;

/// The `assume_role` block, if present; a malformed role ARN is a violation.
fn decode_assume_role(b: &Value, violations: &mut Vec<Violation>) -> Option<AssumeRole> {
    if b.is_null() {
        return None;
    }
    let role_arn = b.get("role_arn").as_str().unwrap_or_default().to_owned();
    let is_role_arn = role_arn.starts_with("arn:")
        && role_arn.split(':').nth(2) == Some("iam")
        && bbws_core::aws::account_of(&role_arn).is_some()
        && role_arn
            .split(':')
            .nth(5)
            .is_some_and(|r| r.starts_with("role/") && r.len() > 5);
    if !is_role_arn {
        violations.push(Violation::new(
            &["assume_role", "role_arn"],
            "role_arn",
            format!(
                "assume_role.role_arn = {role_arn:?} is not an IAM role ARN: arn:aws:iam::{{account id}}:role/{{name}}"
            ),
        ));
    }
    let opt = |k: &str| b.get(k).as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(name) = opt("session_name") {
        let ok = (2..=64).contains(&name.len())
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_+=,.@-".contains(&c));
        if !ok {
            violations.push(Violation::new(
                &["assume_role", "session_name"],
                "session_name",
                format!("assume_role.session_name = {name:?} must be 2 to 64 characters of letters, digits and _+=,.@- (STS's rule)"),
            ));
        }
    }
    Some(AssumeRole {
        role_arn,
        session_name: opt("session_name"),
        external_id: opt("external_id"),
    })
}

/// What the provider block allows but a reviewer should see: `(summary,
/// detail)` of each warning.
pub fn warnings(p: &Platform) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if p.database.ssl_mode == SslMode::Disabled {
        out.push((
            "MySQL without TLS (database.ssl_mode = \"DISABLED\")".to_owned(),
            "The admin's login and the tenants' password hashes cross the network unencrypted. Use this only for a server on this machine; for RDS, keep the default VERIFY_IDENTITY and pass the AWS bundle in database.ssl_ca.".to_owned(),
        ));
    }
    out
}

/// Every platform rule a tenant depends on.
pub fn validate_for_tenants(p: &Platform) -> Vec<Violation> {
    validate::validate_platform(p)
}

/// The account guard and the early role check (`allowed_account_ids`,
/// `assume_role`), as a diagnostic at the setting to fix. Makes no AWS call
/// when neither is set.
pub async fn verify_identity(settings: &AwsSettings, ports: &Ports) -> Result<(), tf::Diagnostic> {
    match bbws_core::aws::verify_identity(settings, ports.sts.as_ref()).await {
        Ok(_) => Ok(()),
        Err(CoreError::Platform { setting, message }) => {
            let summary = if setting == "allowed_account_ids" {
                "The AWS credentials are in an account that allowed_account_ids does not allow"
            } else {
                "The role of assume_role cannot be assumed"
            };
            let path: Vec<String> = setting.split('.').map(str::to_owned).collect();
            Err(crate::diag::error(summary, message, Some(&path)))
        }
        Err(e) => Err(crate::diag::core_error_diag(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.to_owned())
    }

    fn block(extra: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = [("environment", s("dev")), ("domain", s("dev.example.io"))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        m.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        Value::Map(m)
    }

    fn role(fields: &[(&str, &str)]) -> Value {
        Value::Map(fields.iter().map(|(k, v)| ((*k).to_owned(), s(v))).collect())
    }

    #[test]
    fn guards_and_role_reach_the_aws_settings() {
        let v = block(&[
            (
                "assume_role",
                role(&[
                    ("role_arn", "arn:aws:iam::536580886816:role/platform-deployer"),
                    ("external_id", "x-1"),
                ]),
            ),
            ("allowed_account_ids", Value::List(vec![s("536580886816")])),
            ("max_retries", Value::Int(25)),
        ]);
        let aws = decode(&v).expect("valid").aws;
        let r = aws.assume_role.expect("a role");
        assert_eq!(r.role_arn, "arn:aws:iam::536580886816:role/platform-deployer");
        assert_eq!(r.session_name, None);
        assert_eq!(r.external_id.as_deref(), Some("x-1"));
        assert_eq!(aws.allowed_account_ids, vec!["536580886816".to_owned()]);
        assert_eq!(aws.max_retries, Some(25));
        let plain = decode(&block(&[])).expect("valid").aws;
        assert_eq!(
            (plain.assume_role, plain.allowed_account_ids.len(), plain.max_retries),
            (None, 0, None)
        );
    }

    #[test]
    fn provider_numbers_must_be_whole_and_in_range() {
        let db = Value::object([
            ("port", Value::Float(3306.5)),
            ("statement_timeout_seconds", Value::Float(f64::INFINITY)),
        ]);
        let v = block(&[("database", db), ("max_retries", Value::Float(2.5))]);
        let violations = decode(&v).expect_err("invalid");
        let found: Vec<(String, &str)> = violations
            .iter()
            .map(|v| (v.attribute.join("."), v.rule.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("database.port".to_owned(), "whole_number"),
                ("database.statement_timeout_seconds".to_owned(), "whole_number"),
                ("max_retries".to_owned(), "whole_number"),
            ]
        );
        let v = block(&[("database", Value::object([("port", Value::Int(70000))]))]);
        let violations = decode(&v).expect_err("invalid");
        assert_eq!(violations[0].attribute, ["database", "port"]);
        assert_eq!(violations[0].rule, "range");
    }

    #[test]
    fn malformed_guards_are_rejected_at_their_attribute() {
        let v = block(&[
            (
                "assume_role",
                role(&[
                    ("role_arn", "arn:aws:iam::536580886816:user/someone"),
                    ("session_name", "has spaces"),
                ]),
            ),
            ("allowed_account_ids", Value::List(vec![s("536580886816"), s("dev")])),
            ("max_retries", Value::Int(-1)),
        ]);
        let violations = decode(&v).expect_err("invalid");
        let paths: Vec<String> = violations.iter().map(|v| v.attribute.join(".")).collect();
        assert_eq!(
            paths,
            [
                "assume_role.role_arn",
                "assume_role.session_name",
                "allowed_account_ids",
                "max_retries"
            ]
        );
        assert!(violations[2].message.contains("12 digits"), "{}", violations[2].message);
    }
}

#[cfg(test)]
mod database_block_tests {
    use super::*;

    fn block(database: Vec<(&str, Value)>) -> Value {
        Value::Map(
            [
                ("environment".to_owned(), Value::String("dev".into())),
                ("domain".to_owned(), Value::String("wpdev.example.io".into())),
                (
                    "database".to_owned(),
                    Value::Map(database.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
                ),
            ]
            .into_iter()
            .collect(),
        )
    }

    #[test]
    fn tls_is_verified_by_default_and_disabled_tls_is_warned_about() {
        let c = decode(&block(vec![])).expect("decodes");
        assert_eq!(c.platform.database.ssl_mode, SslMode::VerifyIdentity);
        assert!(warnings(&c.platform).is_empty());
        let c = decode(&block(vec![("ssl_mode", Value::String("DISABLED".into()))])).expect("decodes");
        let w = warnings(&c.platform);
        assert_eq!(w.len(), 1);
        assert!(w[0].0.contains("database.ssl_mode"), "{w:?}");
    }

    #[test]
    fn a_wrong_ssl_mode_or_admin_auth_names_the_attribute() {
        let e = decode(&block(vec![
            ("ssl_mode", Value::String("verify_everything".into())),
            ("admin_auth", Value::String("kerberos".into())),
        ]))
        .expect_err("refused");
        let paths: Vec<String> = e.iter().map(|v| v.attribute.join(".")).collect();
        assert_eq!(paths, ["database.ssl_mode", "database.admin_auth"]);
    }
}
