//! The provider block: schema, and its mapping to core's `Platform` and the
//! AWS settings.

use std::collections::BTreeMap;
use std::str::FromStr;

use bbws_core::aws::AwsSettings;
use bbws_core::validate::{self, Violation};
use bbws_core::{DatabaseSettings, Environment, Platform};
use magma_protocol::tfplugin6::Schema;

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
                .attr(Attr::string("admin_secret_arn").optional().description("Secrets Manager secret with the admin's JSON `{\"username\",\"password\"}`.")),
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
        domain: s("domain").unwrap_or_default(),
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
            port: db.get("port").as_i64().and_then(|p| u16::try_from(p).ok()),
            admin_secret_arn: db.get("admin_secret_arn").as_str().unwrap_or_default().to_owned(),
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
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(ProviderConfig {
        aws: AwsSettings {
            region: s("region"),
            profile: s("profile"),
            endpoints,
        },
        platform,
    })
}

/// Every platform rule a tenant depends on.
pub fn validate_for_tenants(p: &Platform) -> Vec<Violation> {
    validate::validate_platform(p)
}
