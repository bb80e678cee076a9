//! The SPEC §2 naming table, in one place.
//!
//! Every part's name is derived from the environment, the tenant id and the
//! subdomain; nothing else in the crate formats a part name.

use crate::spec::Environment;

/// Tag carrying the tenant id on every AWS part.
pub const TAG_TENANT: &str = "bbws:tenant";
/// Tag carrying the environment on every AWS part.
pub const TAG_ENVIRONMENT: &str = "bbws:environment";
/// On the service while its desired count is under autoscaling: a
/// scalable target keeps no tags moto reads back, so the service says
/// there is one to observe. Written before the target is registered and
/// removed after it is deregistered, so it is never missing while one
/// exists.
pub const TAG_AUTOSCALING: &str = "bbws:autoscaling";
/// The value of [`TAG_AUTOSCALING`].
pub const TAG_AUTOSCALING_ON: &str = "on";
/// On the service while the tenant has a certificate for its custom
/// domains: its ARN. A certificate has no name to be found by, and
/// listing an account's certificates by tags costs a request per
/// certificate, so the service (read anyway) says which one is the
/// tenant's. Written after the certificate is requested (with an
/// idempotency token, so a run killed in between requests the same one
/// again) and removed after it is deleted.
pub const TAG_CERTIFICATE: &str = "bbws:certificate";
/// On the service while a certificate for the tenant's previous custom
/// domains still serves them, until the new one is issued and served:
/// its ARN.
pub const TAG_CERTIFICATE_SUPERSEDED: &str = "bbws:certificate-superseded";
/// On the service once its custom domains are removed: the ARN of the
/// certificate deleted last, so that domains added again ask ACM anew
/// (an idempotency token is good for an hour) instead of for the deleted
/// one. Dropped when a new certificate's marker is written.
pub const TAG_CERTIFICATE_LAST: &str = "bbws:certificate-last";

/// On the service while the tenant has alarms (`alarm_topic_arn`): what
/// tells observation to read them, so tenants of a platform without
/// alarms cost no request. Written before the alarms are put, removed
/// after they are deleted.
pub const TAG_ALARMS: &str = "bbws:alarms";
/// The value of [`TAG_ALARMS`].
pub const TAG_ALARMS_ON: &str = "on";

/// The description of a tenant's alarm starts with this line: how bbws
/// knows the alarm under its name is its own (DescribeAlarms returns no
/// tags, and a tag read per alarm would cost three requests a tenant).
pub fn alarm_owner_line(env: Environment, tenant_id: &str) -> String {
    format!("bbws tenant {tenant_id} ({env})")
}

/// The creation lease on a tenant's secret: `{holder}@{expiry, Unix
/// seconds}` while a run that creates (or adopts) the tenant is at work.
/// See [`crate::lease`].
pub const TAG_LEASE: &str = "bbws:lease";
/// Tag carrying the token of the run that created the part
/// (`engine::RunToken`): a part found after a failed create is this run's
/// only if it carries this run's token.
pub const TAG_RUN: &str = "bbws:created-by-run";
/// Prefix reserved for bbws's own tags; users may not set tags under it.
pub const RESERVED_TAG_PREFIX: &str = "bbws:";
/// Tags bbws itself may put on a part, counted against AWS's 50: tenant,
/// environment, creating run, and on the service the autoscaling, alarms
/// and three certificate markers (the secret's creation lease is fewer).
pub const BBWS_TAG_COUNT: usize = 8;

/// Name of the WordPress container in the task definition.
pub const CONTAINER_NAME: &str = "wordpress";
/// Port WordPress listens on inside the container.
pub const CONTAINER_PORT: u16 = 80;
/// Path the target group's health check requests.
pub const HEALTH_CHECK_PATH: &str = "/wp-includes/images/blank.gif";
/// POSIX uid/gid of the web server in the official WordPress image.
pub const WEB_SERVER_UID: i64 = 33;
/// Body of the listener rule's fixed response while suspended.
pub const SUSPENDED_PAGE: &str =
    "<html><body><h1>503 - site suspended</h1><p>This site is temporarily suspended.</p></body></html>";

/// AWS and MySQL length limits the names must respect (SPEC §5).
pub mod limits {
    /// ELBv2 target group name.
    pub const TARGET_GROUP: usize = 32;
    /// ECS service name.
    pub const SERVICE: usize = 255;
    /// ECS task definition family.
    pub const TASK_FAMILY: usize = 255;
    /// Secrets Manager secret name.
    pub const SECRET: usize = 512;
    /// CloudWatch log group name.
    pub const LOG_GROUP: usize = 512;
    /// EFS tag value (the access point's Name tag).
    pub const TAG_VALUE: usize = 256;
    /// MySQL database name.
    pub const DATABASE: usize = 64;
    /// MySQL user name (MariaDB 10.x / MySQL 8: 80, MySQL 5.7: 32).
    pub const DATABASE_USER: usize = 32;
    /// ELBv2 host-header condition value.
    pub const HOST_HEADER: usize = 128;
    /// A fully qualified domain name.
    pub const FQDN: usize = 253;
    /// One DNS label.
    pub const DNS_LABEL: usize = 63;
}

/// The names of one tenant's parts (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantNames {
    /// Terraform id: `{env}-{tenant_id}`.
    pub id: String,
    /// ECS service: `{env}-{tenant_id}-service`.
    pub service: String,
    /// Task definition family: `{env}-{tenant_id}`.
    pub task_family: String,
    /// Target group: `{env}-{tenant_id}-tg`.
    pub target_group: String,
    /// The second target group name, `{env}-{tenant_id}-tgb`: a target
    /// group belongs to one load balancer, so a tenant moving to another
    /// listener's ALB gets a new one under the name it does not use; moves
    /// alternate between the two.
    pub target_group_alternate: String,
    /// Listener rule host header and DNS record: `{subdomain}.{domain}`.
    pub fqdn: String,
    /// Name tag of the EFS access point: `{env}-{tenant_id}-ap`.
    pub access_point: String,
    /// Root directory of the access point: `/{tenant_id}`.
    pub access_point_root: String,
    /// MySQL database: `{tenant_id}_db`.
    pub database: String,
    /// MySQL user: `{tenant_id}_user`.
    pub database_user: String,
    /// Secrets Manager secret: `{env}-{tenant_id}-db-credentials`.
    pub secret: String,
    /// Log group: `/ecs/{env}-{tenant_id}`.
    pub log_group: String,
    /// CloudWatch alarms, with `alarm_topic_arn`: `{env}-{tenant_id}-5xx-rate`,
    /// `-unhealthy-hosts` and `-tasks-below-desired`, in [`AlarmKind::ALL`]'s order.
    pub alarms: [String; 3],
}

/// The tenant's three alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// The target group's 5xx answers as a percent of its requests.
    ErrorRate,
    /// Unhealthy targets in the target group.
    UnhealthyHosts,
    /// Fewer tasks running than desired (ECS Container Insights).
    TasksBelowDesired,
}

impl AlarmKind {
    /// All three, in the order of [`TenantNames::alarms`].
    pub const ALL: [AlarmKind; 3] = [
        AlarmKind::ErrorRate,
        AlarmKind::UnhealthyHosts,
        AlarmKind::TasksBelowDesired,
    ];

    /// The alarm name's suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            AlarmKind::ErrorRate => "5xx-rate",
            AlarmKind::UnhealthyHosts => "unhealthy-hosts",
            AlarmKind::TasksBelowDesired => "tasks-below-desired",
        }
    }
}

impl TenantNames {
    /// Whether `name` is one of the tenant's two target group names.
    pub fn is_target_group(&self, name: &str) -> bool {
        name == self.target_group || name == self.target_group_alternate
    }

    /// The tenant's other target group name than `name`.
    pub fn other_target_group(&self, name: &str) -> &str {
        if name == self.target_group_alternate {
            &self.target_group
        } else {
            &self.target_group_alternate
        }
    }

    /// Derives every name.
    pub fn new(env: Environment, tenant_id: &str, subdomain: &str, domain: &str) -> Self {
        let base = format!("{env}-{tenant_id}");
        TenantNames {
            service: format!("{base}-service"),
            task_family: base.clone(),
            target_group: format!("{base}-tg"),
            target_group_alternate: format!("{base}-tgb"),
            fqdn: fqdn(subdomain, domain),
            access_point: format!("{base}-ap"),
            access_point_root: format!("/{tenant_id}"),
            database: format!("{tenant_id}_db"),
            database_user: format!("{tenant_id}_user"),
            secret: format!("{base}-db-credentials"),
            log_group: format!("/ecs/{base}"),
            alarms: AlarmKind::ALL.map(|k| format!("{base}-{}", k.suffix())),
            id: base,
        }
    }

    /// Each name with the limit it must respect and the attribute that
    /// determines it, for validation.
    pub fn with_limits(&self) -> [(&'static str, &str, usize, &'static str); 9] {
        [
            ("ECS service name", &self.service, limits::SERVICE, "tenant_id"),
            (
                "task definition family",
                &self.task_family,
                limits::TASK_FAMILY,
                "tenant_id",
            ),
            (
                "target group name",
                &self.target_group_alternate,
                limits::TARGET_GROUP,
                "tenant_id",
            ),
            (
                "listener rule host header",
                &self.fqdn,
                limits::HOST_HEADER,
                "subdomain",
            ),
            (
                "access point Name tag",
                &self.access_point,
                limits::TAG_VALUE,
                "tenant_id",
            ),
            ("MySQL database name", &self.database, limits::DATABASE, "tenant_id"),
            (
                "MySQL user name",
                &self.database_user,
                limits::DATABASE_USER,
                "tenant_id",
            ),
            ("secret name", &self.secret, limits::SECRET, "tenant_id"),
            ("log group name", &self.log_group, limits::LOG_GROUP, "tenant_id"),
        ]
    }
}

/// `(family, revision)` of a task definition ARN
/// `…:task-definition/{family}:{revision}`.
pub fn family_and_revision(arn: &str) -> Option<(&str, i32)> {
    let tail = arn.rsplit_once(":task-definition/")?.1;
    let (family, rev) = tail.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

/// ACM's idempotency token for the tenant's certificate for `domains`
/// (32 hex digits): the same for the same tenant, names and certificate
/// it follows (`previous`, the ARN on the service's marker, empty for
/// the first), so a retried or re-run request within ACM's hour returns
/// the certificate already requested, and a later change asks anew.
pub fn certificate_token(env: Environment, tenant_id: &str, domains: &[String], previous: &str) -> String {
    let mut names = domains.to_vec();
    names.sort();
    let input = format!("{}|{tenant_id}|{}|{previous}", env.as_str(), names.join(","));
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The Application Auto Scaling resource id of a service's desired
/// count: `service/{cluster name}/{service}` (a cluster given as an ARN
/// is named by its last segment).
pub fn scaling_resource_id(cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!("service/{cluster}/{service}")
}

/// The name of the service's target-tracking policy on `metric` (`cpu`,
/// `requests`): unique per scalable target, so the service's name and
/// the metric are enough.
pub fn scaling_policy_name(service: &str, metric: &str) -> String {
    format!("{service}-{metric}")
}

/// The `ResourceLabel` of `ALBRequestCountPerTarget` for a target group
/// behind a listener: `app/{lb}/{id}/targetgroup/{tg}/{id}`, from the
/// listener's ARN (`…:listener/app/{lb}/{id}/{listener id}`) and the
/// group's (`…:targetgroup/{tg}/{id}`). `None` for ARNs of another shape.
pub fn request_count_label(listener_arn: &str, target_group_arn: &str) -> Option<String> {
    let listener = listener_arn.rsplit_once(":listener/")?.1;
    let (load_balancer, _listener_id) = listener.rsplit_once('/')?;
    let group = target_group_arn.rsplit_once(":targetgroup/")?.1;
    Some(format!("{load_balancer}/targetgroup/{group}"))
}

/// `{subdomain}.{domain}` without a trailing dot.
pub fn fqdn(subdomain: &str, domain: &str) -> String {
    // Lower case, as Route53 and ELBv2 keep host names.
    format!("{subdomain}.{}", domain.trim_end_matches('.')).to_ascii_lowercase()
}

/// `/bbws/{env}/audit`: where every operation's audit record goes.
pub fn audit_log_group(env: Environment) -> String {
    format!("/bbws/{env}/audit")
}

/// A fresh 12-digit tenant id from the OS CSPRNG; never starts with 0 so that
/// it survives being read as a number by a careless tool.
pub fn generate_tenant_id() -> String {
    use rand::{Rng, TryRngCore};
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let n: u64 = rng.random_range(100_000_000_000..1_000_000_000_000);
    n.to_string()
}

/// The tenant id of a tenant whose configuration sets none: derived from
/// what identifies it there (environment, display name, contact, subdomain),
/// so that it is known when the change is planned, the same when the plan is
/// applied, and the same again when a run that was killed before its state
/// was saved is re-run (which then finds and adopts what that run built,
/// instead of drawing a new id and orphaning it). A fresh random id
/// ([`generate_tenant_id`]) is used only where nothing identifies the tenant.
pub fn derive_tenant_id(env: Environment, name: &str, contact_email: &str, subdomain: Option<&str>) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    // Length-prefixed fields, so that no two different inputs hash alike by
    // moving text from one field into the next.
    for field in [
        "bbws-tenant-id/1",
        env.as_str(),
        name,
        contact_email,
        subdomain.unwrap_or(""),
    ] {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    let digest = ctx.finish();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest.as_ref()[..8]);
    // 900 billion ids; the modulo bias of a 64-bit draw is below 1e-7.
    let n = 100_000_000_000 + u64::from_be_bytes(head) % 900_000_000_000;
    n.to_string()
}

/// The ARN of log group `name` in the account and Region of `like` (any
/// ARN there, e.g. a listener's): `arn:{partition}:logs:{region}:{account}:log-group:{name}`,
/// as CloudWatch Logs forms it (`logGroupArn`, without the `:*` of `arn`).
pub fn log_group_arn(like: &str, name: &str) -> Option<String> {
    let mut fields = like.split(':');
    let (Some("arn"), Some(partition), Some(_service), Some(region), Some(account)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    let known = |f: &str| !f.is_empty();
    (known(partition) && known(region) && known(account))
        .then(|| format!("arn:{partition}:logs:{region}:{account}:log-group:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_count_label_joins_the_load_balancer_and_the_target_group() {
        let listener = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/50dc6c495c0c9188/f2f7dc8efc522ab2";
        let group = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/dev-t-tg/943f017f100becff";
        assert_eq!(
            request_count_label(listener, group).as_deref(),
            Some("app/lb/50dc6c495c0c9188/targetgroup/dev-t-tg/943f017f100becff")
        );
        assert_eq!(request_count_label("arn:aws:ecs:x", group), None);
        assert_eq!(
            scaling_resource_id("arn:aws:ecs:eu-west-1:1:cluster/main", "svc"),
            "service/main/svc"
        );
        assert_eq!(scaling_resource_id("main", "svc"), "service/main/svc");
    }

    #[test]
    fn a_derived_tenant_id_is_stable_valid_and_depends_on_every_field() {
        let base = derive_tenant_id(Environment::Dev, "Acme", "ops@acme.com", None);
        assert_eq!(base, derive_tenant_id(Environment::Dev, "Acme", "ops@acme.com", None));
        assert!(crate::validate::is_tenant_id(&base) && !base.starts_with('0'), "{base}");
        let others = [
            derive_tenant_id(Environment::Prod, "Acme", "ops@acme.com", None),
            derive_tenant_id(Environment::Dev, "Acme2", "ops@acme.com", None),
            derive_tenant_id(Environment::Dev, "Acme", "ops@acme.org", None),
            derive_tenant_id(Environment::Dev, "Acme", "ops@acme.com", Some("acme")),
            // Text moved between fields is another input.
            derive_tenant_id(Environment::Dev, "Acmeops@acme.com", "", None),
        ];
        for other in others {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn names_follow_the_spec_table() {
        let n = TenantNames::new(Environment::Dev, "123456789012", "acme", "wpdev.example.io");
        assert_eq!(n.id, "dev-123456789012");
        assert_eq!(n.service, "dev-123456789012-service");
        assert_eq!(n.task_family, "dev-123456789012");
        assert_eq!(n.target_group, "dev-123456789012-tg");
        assert_eq!(n.fqdn, "acme.wpdev.example.io");
        assert_eq!(n.access_point, "dev-123456789012-ap");
        assert_eq!(n.access_point_root, "/123456789012");
        assert_eq!(n.database, "123456789012_db");
        assert_eq!(n.database_user, "123456789012_user");
        assert_eq!(n.secret, "dev-123456789012-db-credentials");
        assert_eq!(n.log_group, "/ecs/dev-123456789012");
        assert_eq!(audit_log_group(Environment::Prod), "/bbws/prod/audit");
    }

    #[test]
    fn generated_ids_are_twelve_digits() {
        for _ in 0..100 {
            let id = generate_tenant_id();
            assert_eq!(id.len(), 12, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(id.as_bytes()[0], b'0');
        }
    }

    #[test]
    fn family_and_revision_parse() {
        assert_eq!(
            family_and_revision("arn:aws:ecs:us-east-1:123456789012:task-definition/dev-1:12"),
            Some(("dev-1", 12))
        );
        assert_eq!(
            family_and_revision("arn:aws:ecs:us-east-1:1:task-definition/dev-10:1"),
            Some(("dev-10", 1))
        );
        assert_eq!(family_and_revision("nonsense"), None);
    }

    #[test]
    fn a_log_group_arn_is_in_the_account_and_region_of_another_arn() {
        let listener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/dev-alb/1/2";
        assert_eq!(
            log_group_arn(listener, "/ecs/dev-1").as_deref(),
            Some("arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/dev-1")
        );
        let china = "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:listener/app/x/1/2";
        assert!(log_group_arn(china, "g").is_some_and(|a| a.starts_with("arn:aws-cn:logs:cn-north-1:")));
        assert_eq!(log_group_arn("not-an-arn", "g"), None);
        assert_eq!(log_group_arn("arn:aws:s3:::bucket", "g"), None, "no Region or account");
    }
}
