//! Real ports on the AWS SDK.
//!
//! [`connect`] loads one shared AWS configuration (the standard chain:
//! environment, `AWS_PROFILE` and shared config, SSO, web identity, container
//! and instance roles; `AWS_ENDPOINT_URL` and friends) and builds one client
//! per service from it. SDK types stay inside this module: the adapters
//! translate to and from the plain data of [`crate::parts`].

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;

use crate::mysql::MysqlServerConnector;
use crate::parts::Tags;
use crate::ports::Ports;

mod acm;
mod ecs;
mod efs;
mod elbv2;
pub(crate) mod error;
mod events;
mod identity;
mod logs;
mod metrics;
mod rds;
pub mod retry;
mod route53;
mod s3;
mod scaling;
mod secrets;
mod sns;
mod sts;

pub use acm::AwsCertificates;
pub use ecs::AwsEcs;
pub use efs::AwsEfs;
pub use elbv2::AwsElbv2;
pub use error::is_expired_credentials;
pub use events::AwsEvents;
pub use identity::{account_of, verify_identity};
pub use logs::AwsLogs;
pub use metrics::AwsMetrics;
pub use rds::AwsRds;
pub use retry::{DEFAULT_MAX_RETRIES, operation_timeout, retry_config};
pub use route53::AwsRoute53;
pub use s3::AwsS3;
pub use scaling::AwsScaling;
pub use secrets::AwsSecrets;
pub use sns::AwsTopics;
pub use sts::AwsSts;

use identity::assume_role;

use error::Endpoint;

/// Where and as whom to reach AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// Region; else the AWS chain's.
    pub region: Option<String>,
    /// Named profile.
    pub profile: Option<String>,
    /// Per-service endpoint overrides: `ecs`, `elbv2`, `route53`, `efs`,
    /// `secretsmanager`, `logs`, `rds`, `sts`, `events` (EventBridge), `tagging` (the Resource
    /// Groups Tagging API; when unset, it follows `logs`, the only port
    /// that uses it), `s3` (the backup bucket).
    pub endpoints: BTreeMap<String, String>,
    /// A role assumed with the chain's credentials; every call is made as
    /// that role.
    pub assume_role: Option<AssumeRole>,
    /// The accounts the caller may be in; empty: any. Checked by
    /// [`verify_identity`].
    pub allowed_account_ids: Vec<String>,
    /// Retries of a call that was throttled or failed with a 5xx or a
    /// transient network error, after its first attempt; else
    /// [`DEFAULT_MAX_RETRIES`].
    pub max_retries: Option<u32>,
}

/// A role to assume, as the AWS provider's `assume_role` block has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The session name (CloudTrail shows it); default [`DEFAULT_SESSION_NAME`].
    pub session_name: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
}

/// The session name of an assumed role when none is given.
pub const DEFAULT_SESSION_NAME: &str = "bbws";

/// The services whose endpoint can be overridden, by settings key.
pub const ENDPOINT_KEYS: [&str; 15] = [
    "ecs",
    "elbv2",
    "route53",
    "efs",
    "secretsmanager",
    "logs",
    "cloudwatch",
    "applicationautoscaling",
    "acm",
    "sns",
    "rds",
    "sts",
    "events",
    "tagging",
    "s3",
];

/// The loader of the one shared AWS configuration: the standard chain
/// with bbws's retry and timeout defaults (`aws/retry.rs`) and the region
/// and profile of `settings`. Callers may add to it (e.g. fixed
/// credentials) before loading.
pub fn config_loader(settings: &AwsSettings) -> aws_config::ConfigLoader {
    // Every call is bounded: each attempt, and the whole call by the
    // retries asked for (a throttled call may wait out several backoffs).
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(retry::CONNECT_TIMEOUT)
        .operation_attempt_timeout(retry::ATTEMPT_TIMEOUT)
        .operation_timeout(operation_timeout(settings.max_retries));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(shared_https_client())
        .retry_config(retry_config(settings.max_retries))
        .timeout_config(timeouts.build());
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    loader
}

/// The SDK's HTTPS client (hyper 1, rustls on ring, proxies from the
/// environment), built once: left to themselves, each service
/// client and credential provider builds its own, each with a connection
/// pool and a parsed copy of the system's root certificates.
pub fn shared_https_client() -> aws_types::sdk_config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut b =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring));
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(ProxyConfig::from_env()));
        b.build()
    })
}

/// Loads the one shared AWS configuration; with `assume_role`, its
/// credentials are the role's, assumed with the chain's.
pub async fn load_config(settings: &AwsSettings) -> aws_config::SdkConfig {
    let cfg = config_loader(settings).load().await;
    match &settings.assume_role {
        Some(role) => assume_role(cfg, role, settings).await,
        None => cfg,
    }
}

/// Builds every port from one shared AWS configuration. The MySQL port is
/// [`MysqlServerConnector`].
pub async fn connect(settings: &AwsSettings) -> Ports {
    let cfg = load_config(settings).await;
    ports_from_config(&cfg, settings)
}

/// Builds every port from an already loaded configuration, applying the
/// endpoint overrides of `settings`.
pub fn ports_from_config(cfg: &aws_config::SdkConfig, settings: &AwsSettings) -> Ports {
    for key in settings.endpoints.keys() {
        if !ENDPOINT_KEYS.contains(&key.as_str()) {
            tracing::warn!(
                key,
                "unknown AWS endpoint override ignored; known: {}",
                ENDPOINT_KEYS.join(", ")
            );
        }
    }
    let region = cfg.region().map(|r| r.to_string());
    let over = |key: &str| settings.endpoints.get(key).filter(|s| !s.trim().is_empty()).cloned();
    let ep = |service: &'static str, o: &Option<String>| {
        Endpoint::new(service, o.as_deref().or(cfg.endpoint_url()), region.as_deref())
    };

    macro_rules! client {
        ($sdk:ident, $key:literal) => {{
            let o = over($key);
            let mut b = $sdk::config::Builder::from(cfg)
                .interceptor(retry::AttemptCounter)
                .retry_classifier(retry::RefusedConnection)
                .retry_partition(retry::retry_partition($key));
            if let Some(url) = &o {
                b = b.endpoint_url(url.clone());
            }
            ($sdk::Client::from_conf(b.build()), ep($key, &o))
        }};
    }

    let (ecs, ecs_ep) = client!(aws_sdk_ecs, "ecs");
    let (elb, elb_ep) = client!(aws_sdk_elasticloadbalancingv2, "elbv2");
    let (r53, r53_ep) = client!(aws_sdk_route53, "route53");
    let (efs, efs_ep) = client!(aws_sdk_efs, "efs");
    let (sm, sm_ep) = client!(aws_sdk_secretsmanager, "secretsmanager");
    let (logs, logs_ep) = client!(aws_sdk_cloudwatchlogs, "logs");
    let (cw, cw_ep) = client!(aws_sdk_cloudwatch, "cloudwatch");
    let (aas, aas_ep) = client!(aws_sdk_applicationautoscaling, "applicationautoscaling");
    let (acm, acm_ep) = client!(aws_sdk_acm, "acm");
    let (sns, sns_ep) = client!(aws_sdk_sns, "sns");
    let (rds, rds_ep) = client!(aws_sdk_rds, "rds");
    let (sts, sts_ep) = client!(aws_sdk_sts, "sts");
    // Built whether or not `events` is configured: a client makes no call
    // until it is used, and the engine uses it only with a bus to put on.
    let (events, events_ep) = client!(aws_sdk_eventbridge, "events");
    // The tagging client serves the logs port only: an emulator or private
    // endpoint given for logs is where it goes too, unless told otherwise.
    let tagging_over = over("tagging").or_else(|| over("logs"));
    let mut b = aws_sdk_resourcegroupstagging::config::Builder::from(cfg)
        .interceptor(retry::AttemptCounter)
        .retry_classifier(retry::RefusedConnection)
        .retry_partition(retry::retry_partition("tagging"));
    if let Some(url) = &tagging_over {
        b = b.endpoint_url(url.clone());
    }
    let tagging = (
        aws_sdk_resourcegroupstagging::Client::from_conf(b.build()),
        ep("tagging", &tagging_over),
    );
    let s3 = s3_client(cfg, over("s3"), ep("s3", &over("s3")));

    Ports {
        ecs: Arc::new(AwsEcs::new(ecs, ecs_ep)),
        elbv2: Arc::new(AwsElbv2::new(elb, elb_ep)),
        route53: Arc::new(AwsRoute53::new(r53, r53_ep)),
        efs: Arc::new(AwsEfs::new(efs, efs_ep)),
        secrets: Arc::new(AwsSecrets::new(sm, sm_ep)),
        logs: Arc::new(AwsLogs::new(logs, logs_ep, tagging)),
        metrics: Arc::new(AwsMetrics::new(cw.clone(), cw_ep.clone())),
        alarms: Arc::new(AwsMetrics::new(cw, cw_ep)),
        scaling: Arc::new(AwsScaling::new(aas, aas_ep)),
        certificates: Arc::new(AwsCertificates::new(acm, acm_ep)),
        topics: Arc::new(AwsTopics::new(sns, sns_ep)),
        rds: Arc::new(AwsRds::new(rds, rds_ep, cfg.credentials_provider())),
        sts: Arc::new(AwsSts::new(sts, sts_ep)),
        events: Arc::new(AwsEvents::new(events, events_ep)),
        mysql: Arc::new(MysqlServerConnector),
        objects: Arc::new(s3),
        site: Arc::new(crate::site::HttpsProbe::default()),
    }
}

/// The S3 port. An overridden endpoint (an emulator, a VPC endpoint's
/// URL) is addressed path-style (`{endpoint}/{bucket}/{key}`): emulators
/// and private endpoints have no per-bucket DNS names.
fn s3_client(cfg: &aws_config::SdkConfig, over: Option<String>, ep: Endpoint) -> AwsS3 {
    let mut b = aws_sdk_s3::config::Builder::from(cfg)
        .interceptor(retry::AttemptCounter)
        .retry_classifier(retry::RefusedConnection)
        .retry_partition(retry::retry_partition("s3"));
    if let Some(url) = over {
        b = b.endpoint_url(url).force_path_style(true);
    } else if cfg.endpoint_url().is_some() {
        b = b.force_path_style(true);
    }
    AwsS3::new(aws_sdk_s3::Client::from_conf(b.build()), ep)
}

/// Tags as `(key, value)` pairs in key order.
pub(crate) fn tag_pairs(tags: &Tags) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}
