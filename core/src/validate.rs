//! SPEC §5: inputs that must be rejected, each naming the attribute and rule.
//!
//! Validation collects every violation instead of stopping at the first, so a
//! user fixes a configuration in one round trip.

use std::fmt;
use std::str::FromStr;

use crate::naming::{self, RESERVED_TAG_PREFIX, TenantNames};
use crate::spec::{Platform, TenantInput, TenantStatus, Tier};

/// One broken rule: which attribute, which rule, and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Attribute path, e.g. `["environment_variables", "WP_DEBUG"]`.
    pub attribute: Vec<String>,
    /// Short rule identifier, e.g. `tenant_id_format`.
    pub rule: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: &[&str], rule: &str, message: impl Into<String>) -> Self {
        Violation {
            attribute: path.iter().map(|s| (*s).to_owned()).collect(),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.attribute.join("."), self.message, self.rule)
    }
}

/// CloudWatch Logs accepts only these retention periods.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// Environment variables bbws sets itself; a user value would be overwritten.
pub const RESERVED_ENV_VARS: [&str; 4] = [
    "WORDPRESS_DB_HOST",
    "WORDPRESS_DB_NAME",
    "WORDPRESS_DB_USER",
    "WORDPRESS_DB_PASSWORD",
];

/// Upper bound on tasks per tenant; a typo like 200 instead of 2 should not
/// scale a WordPress site to hundreds of tasks.
pub const MAX_DESIRED_COUNT: i64 = 100;
/// Most connections one tenant's MySQL user may hold (MySQL's own
/// ceiling for `max_connections` is 100000; a tenant never needs this many).
const MAX_DB_CONNECTIONS: i64 = 10_000;

/// Whether Fargate accepts this CPU/memory pair.
pub fn fargate_accepts(cpu: i64, memory: i64) -> bool {
    let gib = 1024;
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => (gib..=4 * gib).contains(&memory) && memory % gib == 0,
        1024 => (2 * gib..=8 * gib).contains(&memory) && memory % gib == 0,
        2048 => (4 * gib..=16 * gib).contains(&memory) && memory % gib == 0,
        4096 => (8 * gib..=30 * gib).contains(&memory) && memory % gib == 0,
        8192 => (16 * gib..=60 * gib).contains(&memory) && memory % (4 * gib) == 0,
        16384 => (32 * gib..=120 * gib).contains(&memory) && memory % (8 * gib) == 0,
        _ => false,
    }
}

/// A 12-digit numeric tenant id.
pub fn is_tenant_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A lower-case DNS label (RFC 1123): letters, digits, hyphens, not at the ends.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= naming::limits::DNS_LABEL
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// An image repository reference without tag or digest:
/// `[registry[:port]/]path(/path)*`, lower-case path components.
pub fn image_problem(image: &str) -> Option<&'static str> {
    if image.is_empty() {
        return Some("must not be empty");
    }
    if image.chars().any(char::is_whitespace) {
        return Some("must not contain whitespace");
    }
    if image.contains('@') {
        return Some(
            "must be a repository without a digest: the tag is derived from wordpress_version and php_version",
        );
    }
    let (registry, path) = match image.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, image),
    };
    if let Some(registry) = registry {
        let ok = registry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
        if !ok {
            return Some("has an invalid registry host");
        }
    }
    if path.contains(':') {
        return Some("must be a repository without a tag: the tag is derived from wordpress_version and php_version");
    }
    for component in path.split('/') {
        let valid = !component.is_empty()
            && component
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && component.as_bytes()[0].is_ascii_alphanumeric()
            && component.as_bytes()[component.len() - 1].is_ascii_alphanumeric();
        if !valid {
            return Some("is not a valid repository name: lower-case letters, digits and . _ - separated by /");
        }
    }
    if image.len() > 255 {
        return Some("is longer than 255 characters");
    }
    None
}

/// Version strings go into the image tag: `6.6`, `8.3`, `6.6.2`.
fn is_version(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_env_var_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
                && s.len() <= 254
        }
        None => false,
    }
}

/// Every SPEC §5 rule that can be checked from the input alone.
pub fn validate_input(input: &TenantInput, platform: &Platform) -> Vec<Violation> {
    let mut v = input.rejected.clone();
    identity_violations(input, &mut v);
    choice_violations(input, &mut v);
    sizing_violations(input, &mut v);
    autoscaling_violations(input, &mut v);
    custom_domain_violations(input, platform, &mut v);
    settings_violations(input, platform, &mut v);
    name_length_violations(input, platform, &mut v);
    v
}

/// Name, contact, tenant id and subdomain.
fn identity_violations(input: &TenantInput, v: &mut Vec<Violation>) {
    if input.name.trim().is_empty() {
        v.push(Violation::new(&["name"], "required", "name must not be empty"));
    } else if input.name.len() > 255 {
        v.push(Violation::new(
            &["name"],
            "length",
            "name must be at most 255 characters",
        ));
    }
    if !is_email(&input.contact_email) {
        v.push(Violation::new(
            &["contact_email"],
            "email_format",
            format!(
                "{:?} is not an e-mail address (expected local@domain.tld)",
                input.contact_email
            ),
        ));
    }
    if let Some(id) = &input.tenant_id
        && !is_tenant_id(id)
    {
        v.push(Violation::new(
            &["tenant_id"],
            "tenant_id_format",
            format!("tenant_id {id:?} must be exactly 12 digits (0-9)"),
        ));
    }
    // DNS labels compare case-insensitively: `Acme` is `acme`, stored
    // lower-case.
    if let Some(sub) = &input.subdomain
        && !is_dns_label(&sub.to_ascii_lowercase())
    {
        v.push(Violation::new(
            &["subdomain"],
            "dns_label",
            format!(
                "subdomain {sub:?} is not a valid DNS label: 1-63 letters, digits and hyphens, not starting or ending with a hyphen"
            ),
        ));
    }
}

/// The attributes that name one of a set: tier, status, image, versions.
fn choice_violations(input: &TenantInput, v: &mut Vec<Violation>) {
    if let Some(tier) = &input.tier
        && let Err(e) = Tier::from_str(tier)
    {
        v.push(Violation::new(&["tier"], "one_of", e));
    }
    if let Some(status) = &input.status
        && let Err(e) = TenantStatus::from_str(status)
    {
        v.push(Violation::new(&["status"], "one_of", e));
    }
    if let Some(image) = &input.image
        && let Some(problem) = image_problem(image)
    {
        v.push(Violation::new(
            &["image"],
            "image_format",
            format!("image {image:?} {problem}"),
        ));
    }
    for (attr, value) in [
        ("wordpress_version", &input.wordpress_version),
        ("php_version", &input.php_version),
    ] {
        if let Some(value) = value
            && !is_version(value)
        {
            v.push(Violation::new(
                &[attr],
                "version_format",
                format!("{attr} {value:?} must be dotted digits such as \"6.6\""),
            ));
        }
    }
}

/// CPU and memory (a pair Fargate accepts), counts and connections.
fn sizing_violations(input: &TenantInput, v: &mut Vec<Violation>) {
    let tier = input
        .tier
        .as_deref()
        .and_then(|t| Tier::from_str(t).ok())
        .unwrap_or_default();
    let (tier_cpu, tier_memory, _) = tier.defaults();
    let cpu = input.cpu.unwrap_or(i64::from(tier_cpu));
    let memory = input.memory.unwrap_or(i64::from(tier_memory));
    let mut in_range = true;
    for (attr, value) in [
        ("cpu", input.cpu),
        ("memory", input.memory),
        ("db_password_wo_version", input.db_password_version),
    ] {
        if let Some(n) = value
            && u32::try_from(n).is_err()
        {
            in_range = false;
            v.push(Violation::new(
                &[attr],
                "range",
                format!("{attr} = {n} must be a whole number between 0 and {}", u32::MAX),
            ));
        }
    }
    if in_range && !fargate_accepts(cpu, memory) {
        // Name the attribute the user actually set; if both or neither, cpu.
        let attr = if input.memory.is_some() && input.cpu.is_none() {
            "memory"
        } else {
            "cpu"
        };
        v.push(Violation::new(
            &[attr],
            "fargate_cpu_memory",
            format!(
                "Fargate does not accept cpu = {cpu} with memory = {memory}; valid pairs: 256 with 512/1024/2048, 512 with 1024-4096, 1024 with 2048-8192, 2048 with 4096-16384, 4096 with 8192-30720 (multiples of 1024)"
            ),
        ));
    }
    if let Some(n) = input.desired_count
        && !(0..=MAX_DESIRED_COUNT).contains(&n)
    {
        v.push(Violation::new(
            &["desired_count"],
            "range",
            format!("desired_count = {n} must be between 0 and {MAX_DESIRED_COUNT}"),
        ));
    }
    if let Some(n) = input.db_max_connections
        && !(1..=MAX_DB_CONNECTIONS).contains(&n)
    {
        v.push(Violation::new(
            &["db_max_connections"],
            "range",
            format!("db_max_connections = {n} must be between 1 and {MAX_DB_CONNECTIONS}"),
        ));
    }
}

/// Most tasks autoscaling may run (ECS's per-service limit is higher; a
/// WordPress tenant past this is a sizing mistake).
pub const MAX_AUTOSCALING_TASKS: i64 = 100;
/// Most ALB requests per task a policy may hold.
pub const MAX_REQUESTS_PER_TARGET: i64 = 100_000;

/// The `autoscaling` block: a range of 1 to 100 tasks, targets in range,
/// and an explicit `desired_count` inside the range.
fn autoscaling_violations(input: &TenantInput, v: &mut Vec<Violation>) {
    let Some(a) = &input.autoscaling else {
        return;
    };
    let mut range = |name: &str, value: Option<i64>, lo: i64, hi: i64, what: &str| {
        if let Some(n) = value
            && !(lo..=hi).contains(&n)
        {
            v.push(Violation::new(
                &["autoscaling", name],
                "range",
                format!("autoscaling.{name} = {n} must be between {lo} and {hi} ({what})"),
            ));
        }
    };
    range(
        "min",
        a.min,
        1,
        MAX_AUTOSCALING_TASKS,
        "tasks while active; suspend parks scaling at 0",
    );
    range("max", a.max, 1, MAX_AUTOSCALING_TASKS, "tasks");
    range("cpu_target", a.cpu_target, 10, 90, "average CPU percent");
    range(
        "requests_per_target",
        a.requests_per_target,
        1,
        MAX_REQUESTS_PER_TARGET,
        "ALB requests per task",
    );
    let tier = input
        .tier
        .as_deref()
        .and_then(|t| t.parse::<Tier>().ok())
        .unwrap_or_default();
    let (min_default, max_default) = tier.autoscaling_range();
    let (min, max) = (
        a.min.unwrap_or(i64::from(min_default)),
        a.max.unwrap_or(i64::from(max_default)),
    );
    if a.min.is_some() && a.max.is_some() && min > max {
        v.push(Violation::new(
            &["autoscaling", "max"],
            "min_max",
            format!("autoscaling.max = {max} must not be less than autoscaling.min = {min}"),
        ));
    }
    if let Some(n) = input.desired_count
        && a.min.is_some()
        && a.max.is_some()
        && !(min..=max).contains(&n)
    {
        v.push(Violation::new(
            &["desired_count"],
            "autoscaling_range",
            format!(
                "desired_count = {n} must be between autoscaling.min = {min} and autoscaling.max = {max}: with \
                 autoscaling it is the count a new service starts with"
            ),
        ));
    }
}

/// Most custom domains a tenant may have: its rule's host-header
/// condition holds five values, and one is the tenant's own name.
pub const MAX_CUSTOM_DOMAINS: usize = 4;

/// `custom_domains`: at most four, each a lower-case DNS name of two or
/// more labels, no wildcard, not the platform's own domain or under it,
/// none twice.
fn custom_domain_violations(input: &TenantInput, platform: &Platform, v: &mut Vec<Violation>) {
    let domains = &input.custom_domains;
    if domains.len() > MAX_CUSTOM_DOMAINS {
        v.push(Violation::new(
            &["custom_domains"],
            "custom_domains_count",
            format!(
                "custom_domains has {} names, at most {MAX_CUSTOM_DOMAINS} are allowed (the listener rule's host \
                 condition holds five values, one of them the tenant's own name)",
                domains.len()
            ),
        ));
    }
    let platform_domain = platform.domain.trim_end_matches('.').to_ascii_lowercase();
    for (i, d) in domains.iter().enumerate() {
        let index = i.to_string();
        let path = ["custom_domains", index.as_str()];
        let bad = |rule: &str, why: String| Violation::new(&path, rule, format!("custom_domains[{i}] = {d:?} {why}"));
        if let Some(why) = dns_name_problem(d) {
            v.push(bad("custom_domain_format", why));
        } else if d == &platform_domain || d.ends_with(&format!(".{platform_domain}")) {
            v.push(bad(
                "custom_domain_platform",
                format!("is under the platform's domain {platform_domain}: use subdomain for those names"),
            ));
        } else if domains[..i].contains(d) {
            v.push(bad("custom_domain_unique", "is listed twice".to_owned()));
        }
    }
}

/// What makes `name` not a custom domain bbws can route and certify, or
/// `None`: lower-case labels of letters, digits and hyphens (1 to 63
/// characters, no hyphen at either end), two or more of them, at most 253
/// characters, no trailing dot, no wildcard.
fn dns_name_problem(name: &str) -> Option<String> {
    if name.starts_with("*.") {
        return Some("is a wildcard: a custom domain names one host".to_owned());
    }
    if name.is_empty() || name.len() > 253 {
        return Some("must be 1 to 253 characters".to_owned());
    }
    if name != name.to_ascii_lowercase() {
        return Some("must be lower case (DNS names are compared without case)".to_owned());
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Some("must have at least two labels, like www.example.com".to_owned());
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !labels.iter().all(label_ok) {
        return Some(
            "must be a DNS name: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a \
             hyphen, separated by single dots"
                .to_owned(),
        );
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Some("must be a DNS name, not an IP address".to_owned());
    }
    None
}

/// Retention, waiting, environment variables and tags.
fn settings_violations(input: &TenantInput, platform: &Platform, v: &mut Vec<Violation>) {
    if let Some(arn) = &input.listener_arn
        && !platform.listener_arns.contains(arn)
    {
        v.push(Violation::new(
            &["listener_arn"],
            "pool_member",
            format!(
                "listener_arn {arn:?} is not in the provider's pool; use one of {:?}",
                platform.listener_arns
            ),
        ));
    }
    if let Some(days) = input.log_retention_days
        && !u32::try_from(days).is_ok_and(|d| LOG_RETENTION_DAYS.contains(&d))
    {
        v.push(Violation::new(
            &["log_retention_days"],
            "one_of",
            format!(
                "log_retention_days = {days} is not a CloudWatch retention period; use one of {LOG_RETENTION_DAYS:?}"
            ),
        ));
    }
    if let Some(s) = input.steady_state_timeout_seconds
        && !(1..=3600).contains(&s)
    {
        v.push(Violation::new(
            &["steady_state_timeout_seconds"],
            "range",
            format!("steady_state_timeout_seconds = {s} must be between 1 and 3600"),
        ));
    }
    for key in input.environment_variables.keys() {
        if !is_env_var_name(key) {
            v.push(Violation::new(
                &["environment_variables", key],
                "env_var_name",
                format!("{key:?} is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)"),
            ));
        } else if RESERVED_ENV_VARS.contains(&key.as_str()) {
            v.push(Violation::new(
                &["environment_variables", key],
                "reserved",
                format!("{key} is set by bbws from the tenant's database secret and cannot be overridden"),
            ));
        }
    }
    for (key, value) in &input.tags {
        validate_tag(v, "tags", key, value);
    }
    let all_tags = platform.default_tags.len() + input.tags.len() + naming::BBWS_TAG_COUNT;
    if all_tags > 50 {
        v.push(Violation::new(
            &["tags"],
            "tag_count",
            format!(
                "{all_tags} tags (with default_tags and {} bbws tags) exceed AWS's limit of 50",
                naming::BBWS_TAG_COUNT
            ),
        ));
    }
}

/// The lengths of the names derived from the input (SPEC §2 against AWS's
/// limits).
fn name_length_violations(input: &TenantInput, platform: &Platform, v: &mut Vec<Violation>) {
    // Lengths of derived names: only meaningful when their inputs are valid.
    let id_ok = input.tenant_id.as_deref().is_none_or(is_tenant_id);
    let sub_ok = input
        .subdomain
        .as_deref()
        .is_none_or(|s| is_dns_label(&s.to_ascii_lowercase()));
    if id_ok && sub_ok {
        let id = input.tenant_id.clone().unwrap_or_else(|| "0".repeat(12));
        let sub = input.subdomain.clone().unwrap_or_else(|| id.clone());
        let names = TenantNames::new(platform.environment, &id, &sub, &platform.domain);
        for (what, name, limit, attr) in names.with_limits() {
            if name.len() > limit {
                v.push(Violation::new(
                    &[attr],
                    "name_length",
                    format!(
                        "the {what} {name:?} is {} characters; AWS allows at most {limit}",
                        name.len()
                    ),
                ));
            }
        }
        if names.fqdn.len() > naming::limits::FQDN {
            v.push(Violation::new(
                &["subdomain"],
                "name_length",
                format!(
                    "{:?} is longer than the 253 characters a domain name may have",
                    names.fqdn
                ),
            ));
        }
    }
}

/// A tag's key and value against AWS's rules and bbws's reserved prefix.
pub fn validate_tag(v: &mut Vec<Violation>, attr: &str, key: &str, value: &str) {
    if key.is_empty() || key.len() > 128 {
        v.push(Violation::new(
            &[attr, key],
            "tag_key",
            "tag keys must be 1-128 characters",
        ));
    }
    if key.starts_with("aws:") {
        v.push(Violation::new(
            &[attr, key],
            "tag_key",
            "tag keys starting with \"aws:\" are reserved by AWS",
        ));
    }
    if key.starts_with(RESERVED_TAG_PREFIX) {
        v.push(Violation::new(
            &[attr, key],
            "tag_key",
            "tag keys starting with \"bbws:\" are reserved for bbws's ownership tags",
        ));
    }
    if value.len() > 256 {
        v.push(Violation::new(
            &[attr, key],
            "tag_value",
            "tag values must be at most 256 characters",
        ));
    }
}

/// The `database` block's TLS, timeout and login rules.
pub fn validate_database_tls(d: &crate::spec::DatabaseSettings) -> Vec<Violation> {
    let mut v = Vec::new();
    if let Some(pem) = &d.ssl_ca
        && !pem.contains("-----BEGIN CERTIFICATE-----")
    {
        v.push(Violation::new(
            &["database", "ssl_ca"],
            "pem_certificates",
            "database.ssl_ca must be PEM text holding one or more certificates (-----BEGIN CERTIFICATE-----); \
             pass the file's contents, e.g. ssl_ca = file(\"global-bundle.pem\"), not its path",
        ));
    }
    if !(1..=MAX_STATEMENT_TIMEOUT_SECONDS).contains(&d.statement_timeout_seconds) {
        v.push(Violation::new(
            &["database", "statement_timeout_seconds"],
            "range",
            format!(
                "database.statement_timeout_seconds = {} must be between 1 and {MAX_STATEMENT_TIMEOUT_SECONDS}",
                d.statement_timeout_seconds
            ),
        ));
    }
    if d.admin_auth == crate::spec::AdminAuth::Iam && !d.ssl_mode.verifies() {
        v.push(Violation::new(
            &["database", "ssl_mode"],
            "iam_needs_verified_tls",
            format!(
                "database.admin_auth = \"iam\" sends a token that is as good as a password: RDS requires TLS, and \
                 bbws requires it verified; ssl_mode = {:?} is not (use VERIFY_IDENTITY or VERIFY_CA)",
                d.ssl_mode.as_str()
            ),
        ));
    }
    v
}

/// The listener pool: at least one listener, each an ARN, none twice, and
/// a cap of at least one tenant.
fn listener_violations(p: &Platform, v: &mut Vec<Violation>) {
    let attr = if p.listener_arns.len() > 1 {
        "listener_arns"
    } else {
        "listener_arn"
    };
    if p.listener_arns.iter().all(String::is_empty) {
        v.push(Violation::new(
            &["listener_arn"],
            "required",
            "listener_arn (or listener_arns, a pool of listeners) must be set",
        ));
    }
    for arn in p
        .listener_arns
        .iter()
        .filter(|a| !a.is_empty() && !a.starts_with("arn:"))
    {
        v.push(Violation::new(
            &[attr],
            "arn_format",
            format!("{arn:?}: {attr} must be ARNs (arn:aws:elasticloadbalancing:…:listener/app/…)"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = p.listener_arns.iter().find(|a| !seen.insert(a.as_str())) {
        v.push(Violation::new(
            &["listener_arns"],
            "unique",
            format!("listener_arns names {twice:?} twice; each listener of the pool once"),
        ));
    }
    if p.max_tenants_per_listener == Some(0) {
        v.push(Violation::new(
            &["max_tenants_per_listener"],
            "range",
            "max_tenants_per_listener must be at least 1",
        ));
    }
}

/// Longest `database.statement_timeout_seconds`.
const MAX_STATEMENT_TIMEOUT_SECONDS: u32 = 3600;

/// Rules on the platform settings (the provider block), checked once at
/// configuration time.
pub fn validate_platform(p: &Platform) -> Vec<Violation> {
    let mut v = Vec::new();
    let domain_ok = !p.domain.is_empty()
        && p.domain.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !domain_ok {
        v.push(Violation::new(
            &["domain"],
            "domain_format",
            format!("domain {:?} is not a valid DNS domain name", p.domain),
        ));
    }
    let required: [(&str, &str); 5] = [
        ("cluster", &p.cluster),
        ("vpc_id", &p.vpc_id),
        ("hosted_zone_id", &p.hosted_zone_id),
        ("efs_file_system_id", &p.efs_file_system_id),
        ("region", &p.region),
    ];
    for (attr, value) in required {
        if value.is_empty() {
            v.push(Violation::new(&[attr], "required", format!("{attr} must be set")));
        }
    }
    v.extend(validate_database_tls(&p.database));
    listener_violations(p, &mut v);
    if p.subnet_ids.is_empty() {
        v.push(Violation::new(
            &["subnet_ids"],
            "required",
            "subnet_ids needs at least one subnet for Fargate tasks",
        ));
    }
    if p.security_group_ids.is_empty() {
        v.push(Violation::new(
            &["security_group_ids"],
            "required",
            "security_group_ids needs at least one security group",
        ));
    }
    if p.database.instance_identifier.is_empty() {
        v.push(Violation::new(
            &["database", "instance_identifier"],
            "required",
            "database.instance_identifier must be set",
        ));
    }
    if !p.database.admin_secret_arn.starts_with("arn:") {
        v.push(Violation::new(
            &["database", "admin_secret_arn"],
            "arn_format",
            "database.admin_secret_arn must be the ARN of a Secrets Manager secret",
        ));
    }
    for (key, value) in &p.default_tags {
        validate_tag(&mut v, "default_tags", key, value);
    }
    v
}

/// A user-supplied database password (`db_password_wo`): long enough to
/// be a password, short enough for MySQL, printable (it travels in JSON and
/// in an environment variable).
pub fn validate_db_password(password: &str) -> Vec<Violation> {
    let mut v = Vec::new();
    let len = password.chars().count();
    if !(8..=128).contains(&len) {
        v.push(Violation::new(
            &["db_password_wo"],
            "password_length",
            format!("db_password_wo must be 8 to 128 characters long (it has {len})"),
        ));
    }
    if password.chars().any(char::is_control) {
        v.push(Violation::new(
            &["db_password_wo"],
            "password_printable",
            "db_password_wo must not contain control characters (newlines, tabs, NUL)",
        ));
    }
    v
}

#[cfg(test)]
mod case_tests {
    use crate::spec::TenantInput;

    #[test]
    fn an_upper_case_subdomain_is_accepted_and_stored_lower_case() {
        let platform = crate::plan::tests::spec().platform;
        let input = TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some("123456789012".into()),
            subdomain: Some("AcMe".into()),
            ..TenantInput::default()
        };
        let spec = input.resolve(platform).expect("valid");
        assert_eq!(spec.subdomain, "acme");
        assert!(spec.names().fqdn.starts_with("acme."), "{}", spec.names().fqdn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::AutoscalingInput;

    fn input() -> TenantInput {
        TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some("123456789012".into()),
            ..TenantInput::default()
        }
    }

    fn platform() -> Platform {
        Platform {
            domain: "wpdev.example.io".into(),
            ..Platform::default()
        }
    }

    fn rules(i: &TenantInput) -> Vec<(String, String)> {
        validate_input(i, &platform())
            .into_iter()
            .map(|v| (v.attribute.join("."), v.rule))
            .collect()
    }

    #[test]
    fn a_minimal_input_is_valid() {
        assert_eq!(rules(&input()), vec![]);
    }

    #[test]
    fn each_rule_names_its_attribute() {
        type Case = (&'static str, fn(&mut TenantInput), &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                "short id",
                |i| i.tenant_id = Some("12345".into()),
                "tenant_id",
                "tenant_id_format",
            ),
            (
                "letters in id",
                |i| i.tenant_id = Some("12345678901a".into()),
                "tenant_id",
                "tenant_id_format",
            ),
            (
                "underscore in subdomain",
                |i| i.subdomain = Some("a_b".into()),
                "subdomain",
                "dns_label",
            ),
            (
                "hyphen at end",
                |i| i.subdomain = Some("acme-".into()),
                "subdomain",
                "dns_label",
            ),
            (
                "dot in subdomain",
                |i| i.subdomain = Some("a.b".into()),
                "subdomain",
                "dns_label",
            ),
            (
                "long subdomain",
                |i| i.subdomain = Some("a".repeat(64)),
                "subdomain",
                "dns_label",
            ),
            (
                "sql in subdomain",
                |i| i.subdomain = Some("x';drop".into()),
                "subdomain",
                "dns_label",
            ),
            (
                "bad pair",
                |i| {
                    i.cpu = Some(256);
                    i.memory = Some(4096)
                },
                "cpu",
                "fargate_cpu_memory",
            ),
            (
                "bad memory only",
                |i| i.memory = Some(8192),
                "memory",
                "fargate_cpu_memory",
            ),
            ("odd cpu", |i| i.cpu = Some(300), "cpu", "fargate_cpu_memory"),
            (
                "empty image",
                |i| i.image = Some(String::new()),
                "image",
                "image_format",
            ),
            (
                "tagged image",
                |i| i.image = Some("wordpress:latest".into()),
                "image",
                "image_format",
            ),
            (
                "spaces in image",
                |i| i.image = Some("word press".into()),
                "image",
                "image_format",
            ),
            (
                "upper-case image",
                |i| i.image = Some("WordPress".into()),
                "image",
                "image_format",
            ),
            (
                "unknown status",
                |i| i.status = Some("paused".into()),
                "status",
                "one_of",
            ),
            ("unknown tier", |i| i.tier = Some("gold".into()), "tier", "one_of"),
            (
                "retention",
                |i| i.log_retention_days = Some(10),
                "log_retention_days",
                "one_of",
            ),
            (
                "no database connections",
                |i| i.db_max_connections = Some(0),
                "db_max_connections",
                "range",
            ),
            (
                "negative count",
                |i| i.desired_count = Some(-1),
                "desired_count",
                "range",
            ),
            ("empty name", |i| i.name = " ".into(), "name", "required"),
            (
                "bad email",
                |i| i.contact_email = "nobody".into(),
                "contact_email",
                "email_format",
            ),
            (
                "version",
                |i| i.php_version = Some("8.3-fpm".into()),
                "php_version",
                "version_format",
            ),
            (
                "reserved env",
                |i| {
                    i.environment_variables
                        .insert("WORDPRESS_DB_PASSWORD".into(), "x".into());
                },
                "environment_variables.WORDPRESS_DB_PASSWORD",
                "reserved",
            ),
            (
                "bad env name",
                |i| {
                    i.environment_variables.insert("1X".into(), "x".into());
                },
                "environment_variables.1X",
                "env_var_name",
            ),
            (
                "reserved tag",
                |i| {
                    i.tags.insert("bbws:tenant".into(), "x".into());
                },
                "tags.bbws:tenant",
                "tag_key",
            ),
            (
                "five custom domains",
                |i| i.custom_domains = (1..=5).map(|n| format!("www{n}.acme.com")).collect(),
                "custom_domains",
                "custom_domains_count",
            ),
            (
                "wildcard custom domain",
                |i| i.custom_domains = vec!["*.acme.com".into()],
                "custom_domains.0",
                "custom_domain_format",
            ),
            (
                "custom domain with a bad label",
                |i| i.custom_domains = vec!["www.acme.com".into(), "shop..acme.com".into()],
                "custom_domains.1",
                "custom_domain_format",
            ),
            (
                "upper-case custom domain",
                |i| i.custom_domains = vec!["WWW.acme.com".into()],
                "custom_domains.0",
                "custom_domain_format",
            ),
            (
                "one-label custom domain",
                |i| i.custom_domains = vec!["localhost".into()],
                "custom_domains.0",
                "custom_domain_format",
            ),
            (
                "custom domain under the platform's",
                |i| i.custom_domains = vec!["shop.wpdev.example.io".into()],
                "custom_domains.0",
                "custom_domain_platform",
            ),
            (
                "custom domain twice",
                |i| i.custom_domains = vec!["acme.com".into(), "acme.com".into()],
                "custom_domains.1",
                "custom_domain_unique",
            ),
            (
                "scaling to no tasks",
                |i| {
                    i.autoscaling = Some(AutoscalingInput {
                        min: Some(0),
                        ..Default::default()
                    })
                },
                "autoscaling.min",
                "range",
            ),
            (
                "max below min",
                |i| {
                    i.autoscaling = Some(AutoscalingInput {
                        min: Some(3),
                        max: Some(2),
                        ..Default::default()
                    });
                },
                "autoscaling.max",
                "min_max",
            ),
            (
                "cpu target",
                |i| {
                    i.autoscaling = Some(AutoscalingInput {
                        cpu_target: Some(95),
                        ..Default::default()
                    })
                },
                "autoscaling.cpu_target",
                "range",
            ),
            (
                "requests per target",
                |i| {
                    i.autoscaling = Some(AutoscalingInput {
                        requests_per_target: Some(0),
                        ..Default::default()
                    })
                },
                "autoscaling.requests_per_target",
                "range",
            ),
            (
                "count outside the scaling range",
                |i| {
                    i.desired_count = Some(9);
                    i.autoscaling = Some(AutoscalingInput {
                        min: Some(1),
                        max: Some(4),
                        ..Default::default()
                    });
                },
                "desired_count",
                "autoscaling_range",
            ),
        ];
        for (what, mutate, attr, rule) in cases {
            let mut i = input();
            mutate(&mut i);
            let got = rules(&i);
            assert_eq!(got, vec![(attr.to_owned(), rule.to_owned())], "case {what}");
        }
    }

    #[test]
    fn all_violations_are_returned_at_once() {
        let mut i = input();
        i.tenant_id = Some("1".into());
        i.subdomain = Some("-".into());
        i.status = Some("x".into());
        assert_eq!(rules(&i).len(), 3);
    }

    #[test]
    fn valid_images_and_pairs() {
        for image in [
            "wordpress",
            "library/wordpress",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/wp",
            "localhost:5000/wp",
        ] {
            assert_eq!(image_problem(image), None, "{image}");
        }
        assert!(fargate_accepts(512, 4096));
        assert!(fargate_accepts(4096, 30720));
        assert!(!fargate_accepts(4096, 31744));
        assert!(fargate_accepts(8192, 20480));
        assert!(!fargate_accepts(8192, 17408));
    }

    #[test]
    fn a_long_domain_makes_the_host_header_too_long() {
        let p = Platform {
            domain: format!("{}.example.io", "d".repeat(120)),
            ..Platform::default()
        };
        let got: Vec<_> = validate_input(&input(), &p).into_iter().map(|v| v.rule).collect();
        assert!(got.contains(&"name_length".to_owned()), "{got:?}");
    }

    #[test]
    fn a_pinned_listener_must_be_in_the_pool() {
        let l = |n: u32| format!("arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb{n}/1/2");
        let p = Platform {
            listener_arns: vec![l(1), l(2)],
            ..platform()
        };
        let mut i = input();
        i.listener_arn = Some(l(2));
        assert!(validate_input(&i, &p).is_empty());
        i.listener_arn = Some(l(3));
        let got: Vec<_> = validate_input(&i, &p)
            .into_iter()
            .map(|v| (v.attribute.join("."), v.rule))
            .collect();
        assert_eq!(got, vec![("listener_arn".to_owned(), "pool_member".to_owned())]);
    }

    #[test]
    fn the_pool_has_a_listener_each_once_and_a_cap_of_one_at_least() {
        let rules_of = |p: &Platform| -> Vec<(String, String)> {
            validate_platform(p)
                .into_iter()
                .filter(|v| v.attribute[0].starts_with("listener") || v.attribute[0].starts_with("max_tenants"))
                .map(|v| (v.attribute.join("."), v.rule))
                .collect()
        };
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/1/2".to_owned();
        let none = Platform::default();
        assert_eq!(rules_of(&none), vec![("listener_arn".into(), "required".into())]);
        let twice = Platform {
            listener_arns: vec![arn.clone(), arn.clone()],
            max_tenants_per_listener: Some(0),
            ..Platform::default()
        };
        assert_eq!(
            rules_of(&twice),
            vec![
                ("listener_arns".into(), "unique".into()),
                ("max_tenants_per_listener".into(), "range".into())
            ]
        );
        let not_arn = Platform {
            listener_arns: vec![arn, "lb-2".into()],
            ..Platform::default()
        };
        assert_eq!(rules_of(&not_arn), vec![("listener_arns".into(), "arn_format".into())]);
    }
}
