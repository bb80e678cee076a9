//! Every attribute name of the provider's schemas, spelled once: the
//! resource, the data sources, the list resource and the provider block.
//! A leaf module: the models, the schemas and the diagnostics all name
//! attributes through it.

/// `bbws_tenant` (SPEC §7).
pub mod tenant {
    /// `id`.
    pub const ID: &str = "id";
    /// `name`.
    pub const NAME: &str = "name";
    /// `contact_email`.
    pub const CONTACT_EMAIL: &str = "contact_email";
    /// `tenant_id`.
    pub const TENANT_ID: &str = "tenant_id";
    /// `subdomain`.
    pub const SUBDOMAIN: &str = "subdomain";
    /// `tier`.
    pub const TIER: &str = "tier";
    /// `wordpress_version`.
    pub const WORDPRESS_VERSION: &str = "wordpress_version";
    /// `php_version`.
    pub const PHP_VERSION: &str = "php_version";
    /// `image`.
    pub const IMAGE: &str = "image";
    /// `cpu`.
    pub const CPU: &str = "cpu";
    /// `memory`.
    pub const MEMORY: &str = "memory";
    /// `desired_count`.
    pub const DESIRED_COUNT: &str = "desired_count";
    /// `db_max_connections`.
    pub const DB_MAX_CONNECTIONS: &str = "db_max_connections";
    /// `status`.
    pub const STATUS: &str = "status";
    /// `environment_variables`.
    pub const ENVIRONMENT_VARIABLES: &str = "environment_variables";
    /// `log_retention_days`.
    pub const LOG_RETENTION_DAYS: &str = "log_retention_days";
    /// `deletion_protection`.
    pub const DELETION_PROTECTION: &str = "deletion_protection";
    /// `confirm_destroy`.
    pub const CONFIRM_DESTROY: &str = "confirm_destroy";
    /// `retain_data_on_destroy`.
    pub const RETAIN_DATA_ON_DESTROY: &str = "retain_data_on_destroy";
    /// `backup_before_destroy`.
    pub const BACKUP_BEFORE_DESTROY: &str = "backup_before_destroy";
    /// `db_password_wo`.
    pub const DB_PASSWORD_WO: &str = "db_password_wo";
    /// `db_password_wo_version`.
    pub const DB_PASSWORD_WO_VERSION: &str = "db_password_wo_version";
    /// `wait_for_steady_state`.
    pub const WAIT_FOR_STEADY_STATE: &str = "wait_for_steady_state";
    /// `steady_state_timeout_seconds`.
    pub const STEADY_STATE_TIMEOUT_SECONDS: &str = "steady_state_timeout_seconds";
    /// `tags`.
    pub const TAGS: &str = "tags";
    /// `fqdn`.
    pub const FQDN: &str = "fqdn";
    /// `url`.
    pub const URL: &str = "url";
    /// `service_arn`.
    pub const SERVICE_ARN: &str = "service_arn";
    /// `task_definition_arn`.
    pub const TASK_DEFINITION_ARN: &str = "task_definition_arn";
    /// `target_group_arn`.
    pub const TARGET_GROUP_ARN: &str = "target_group_arn";
    /// `listener_rule_arn`.
    pub const LISTENER_RULE_ARN: &str = "listener_rule_arn";
    /// `listener_rule_priority`.
    pub const LISTENER_RULE_PRIORITY: &str = "listener_rule_priority";
    /// `access_point_id`.
    pub const ACCESS_POINT_ID: &str = "access_point_id";
    /// `database_name`.
    pub const DATABASE_NAME: &str = "database_name";
    /// `database_user`.
    pub const DATABASE_USER: &str = "database_user";
    /// `db_secret_arn`.
    pub const DB_SECRET_ARN: &str = "db_secret_arn";
    /// `log_group_name`.
    pub const LOG_GROUP_NAME: &str = "log_group_name";
    /// `listener_arn`: optional + computed, the pool listener.
    pub const LISTENER_ARN: &str = "listener_arn";
    /// `load_balancer_dns_name`.
    pub const LOAD_BALANCER_DNS_NAME: &str = "load_balancer_dns_name";
    /// `parts`.
    pub const PARTS: &str = "parts";
    /// `custom_domains`: the customer's own domains.
    pub const CUSTOM_DOMAINS: &str = "custom_domains";
    /// `certificate_arn`.
    pub const CERTIFICATE_ARN: &str = "certificate_arn";
    /// `certificate_validation_records`.
    pub const CERTIFICATE_VALIDATION_RECORDS: &str = "certificate_validation_records";
    /// The `autoscaling` block.
    pub const AUTOSCALING: &str = "autoscaling";
    /// Identity: the provider's environment.
    pub const IDENTITY_ENVIRONMENT: &str = "environment";
    /// Identity: the tenant id.
    pub const IDENTITY_TENANT_ID: &str = TENANT_ID;

    /// The attributes of one of `certificate_validation_records`.
    pub mod validation_record {
        /// `name`.
        pub const NAME: &str = "name";
        /// `type`.
        pub const TYPE: &str = "type";
        /// `value`.
        pub const VALUE: &str = "value";
    }

    /// The `autoscaling` block's attributes.
    pub mod autoscaling {
        /// `min`.
        pub const MIN: &str = "min";
        /// `max`.
        pub const MAX: &str = "max";
        /// `cpu_target`.
        pub const CPU_TARGET: &str = "cpu_target";
        /// `requests_per_target`.
        pub const REQUESTS_PER_TARGET: &str = "requests_per_target";
    }
}

/// The data sources `bbws_tenant` and `bbws_tenants`.
pub mod data_source {
    /// `tenant_id`.
    pub const TENANT_ID: &str = "tenant_id";
    /// `id`.
    pub const ID: &str = "id";
    /// `name`.
    pub const NAME: &str = "name";
    /// `contact_email`.
    pub const CONTACT_EMAIL: &str = "contact_email";
    /// `tier`.
    pub const TIER: &str = "tier";
    /// `subdomain`.
    pub const SUBDOMAIN: &str = "subdomain";
    /// `fqdn`.
    pub const FQDN: &str = "fqdn";
    /// `url`.
    pub const URL: &str = "url";
    /// `status`.
    pub const STATUS: &str = "status";
    /// `parts`.
    pub const PARTS: &str = "parts";
    /// `image`.
    pub const IMAGE: &str = "image";
    /// `wordpress_version`.
    pub const WORDPRESS_VERSION: &str = "wordpress_version";
    /// `php_version`.
    pub const PHP_VERSION: &str = "php_version";
    /// `service_arn`.
    pub const SERVICE_ARN: &str = "service_arn";
    /// `task_definition_arn`.
    pub const TASK_DEFINITION_ARN: &str = "task_definition_arn";
    /// `target_group_arn`.
    pub const TARGET_GROUP_ARN: &str = "target_group_arn";
    /// `listener_rule_arn`.
    pub const LISTENER_RULE_ARN: &str = "listener_rule_arn";
    /// `listener_rule_priority`.
    pub const LISTENER_RULE_PRIORITY: &str = "listener_rule_priority";
    /// `access_point_id`.
    pub const ACCESS_POINT_ID: &str = "access_point_id";
    /// `database_name`.
    pub const DATABASE_NAME: &str = "database_name";
    /// `database_user`.
    pub const DATABASE_USER: &str = "database_user";
    /// `db_secret_arn`.
    pub const DB_SECRET_ARN: &str = "db_secret_arn";
    /// `log_group_name`.
    pub const LOG_GROUP_NAME: &str = "log_group_name";
    /// `running_count`.
    pub const RUNNING_COUNT: &str = "running_count";
    /// `desired_count`.
    pub const DESIRED_COUNT: &str = "desired_count";
    /// `target_health`.
    pub const TARGET_HEALTH: &str = "target_health";
    /// `healthy_targets`.
    pub const HEALTHY_TARGETS: &str = "healthy_targets";
    /// `database_reachable`.
    pub const DATABASE_REACHABLE: &str = "database_reachable";
    /// `database_error`.
    pub const DATABASE_ERROR: &str = "database_error";
    /// `http_status`.
    pub const HTTP_STATUS: &str = "http_status";
    /// `http_error`.
    pub const HTTP_ERROR: &str = "http_error";
    /// `healthy`.
    pub const HEALTHY: &str = "healthy";
    /// `health`.
    pub const HEALTH: &str = "health";
    /// `health_checks`.
    pub const HEALTH_CHECKS: &str = "health_checks";
    /// `target_health_error`.
    pub const TARGET_HEALTH_ERROR: &str = "target_health_error";
    /// `tenant_ids` (`bbws_tenants`).
    pub const TENANT_IDS: &str = "tenant_ids";
    /// `tenants` (`bbws_tenants`).
    pub const TENANTS: &str = "tenants";
    /// `missing_parts` (each of `bbws_tenants.tenants`).
    pub const MISSING_PARTS: &str = "missing_parts";
}

/// The data source `bbws_platform`.
pub mod platform {
    /// `id`.
    pub const ID: &str = "id";
    /// `max_tenants_per_listener`.
    pub const MAX_TENANTS_PER_LISTENER: &str = "max_tenants_per_listener";
    /// `free_slots` (the pool's, and each listener's).
    pub const FREE_SLOTS: &str = "free_slots";
    /// `listeners`.
    pub const LISTENERS: &str = "listeners";
    /// `listener_arn` (each of `listeners`).
    pub const LISTENER_ARN: &str = "listener_arn";
    /// `load_balancer_arn`.
    pub const LOAD_BALANCER_ARN: &str = "load_balancer_arn";
    /// `load_balancer_dns_name`.
    pub const LOAD_BALANCER_DNS_NAME: &str = "load_balancer_dns_name";
    /// `tenants` (a count).
    pub const TENANTS: &str = "tenants";
    /// `tenant_ids`.
    pub const TENANT_IDS: &str = "tenant_ids";
    /// `max_tenants`.
    pub const MAX_TENANTS: &str = "max_tenants";
    /// `rules`.
    pub const RULES: &str = "rules";
    /// `rules_limit`.
    pub const RULES_LIMIT: &str = "rules_limit";
    /// `target_groups`.
    pub const TARGET_GROUPS: &str = "target_groups";
    /// `target_groups_limit`.
    pub const TARGET_GROUPS_LIMIT: &str = "target_groups_limit";
}

/// The list resource `bbws_tenant`.
pub mod list {
    /// `tenant_ids`.
    pub const TENANT_IDS: &str = "tenant_ids";
    /// `status`.
    pub const STATUS: &str = "status";
}

/// The provider block.
pub mod provider {
    /// `environment`.
    pub const ENVIRONMENT: &str = "environment";
    /// `domain`.
    pub const DOMAIN: &str = "domain";
    /// `region`.
    pub const REGION: &str = "region";
    /// `profile`.
    pub const PROFILE: &str = "profile";
    /// `cluster`.
    pub const CLUSTER: &str = "cluster";
    /// `vpc_id`.
    pub const VPC_ID: &str = "vpc_id";
    /// `subnet_ids`.
    pub const SUBNET_IDS: &str = "subnet_ids";
    /// `security_group_ids`.
    pub const SECURITY_GROUP_IDS: &str = "security_group_ids";
    /// `listener_arn`.
    pub const LISTENER_ARN: &str = "listener_arn";
    /// `listener_arns` (a pool: exactly one of it and `listener_arn`).
    pub const LISTENER_ARNS: &str = "listener_arns";
    /// `max_tenants_per_listener`.
    /// `alarm_topic_arn`: the SNS topic of the tenants' alarms.
    pub const ALARM_TOPIC_ARN: &str = "alarm_topic_arn";
    pub const MAX_TENANTS_PER_LISTENER: &str = "max_tenants_per_listener";
    /// `hosted_zone_id`.
    pub const HOSTED_ZONE_ID: &str = "hosted_zone_id";
    /// `efs_file_system_id`.
    pub const EFS_FILE_SYSTEM_ID: &str = "efs_file_system_id";
    /// `execution_role_arn`.
    pub const EXECUTION_ROLE_ARN: &str = "execution_role_arn";
    /// `task_role_arn`.
    pub const TASK_ROLE_ARN: &str = "task_role_arn";
    /// `allowed_account_ids`.
    pub const ALLOWED_ACCOUNT_IDS: &str = "allowed_account_ids";
    /// `max_retries`.
    pub const MAX_RETRIES: &str = "max_retries";
    /// The `database` block.
    pub const DATABASE: &str = "database";
    /// The `assume_role` block.
    pub const ASSUME_ROLE: &str = "assume_role";
    /// The `endpoints` block (one attribute per service,
    /// `bbws_core::aws::ENDPOINT_KEYS`).
    pub const ENDPOINTS: &str = "endpoints";
    /// The `default_tags` block.
    pub const DEFAULT_TAGS: &str = "default_tags";
    /// The `events` block.
    pub const EVENTS: &str = "events";
    /// The `backup` block.
    pub const BACKUP: &str = "backup";

    /// The `backup` block's attributes.
    pub mod backup {
        /// `bucket`.
        pub const BUCKET: &str = "bucket";
        /// `prefix`.
        pub const PREFIX: &str = "prefix";
    }

    /// The `database` block's attributes.
    pub mod database {
        /// `instance_identifier`.
        pub const INSTANCE_IDENTIFIER: &str = "instance_identifier";
        /// `host`.
        pub const HOST: &str = "host";
        /// `port`.
        pub const PORT: &str = "port";
        /// `admin_secret_arn`.
        pub const ADMIN_SECRET_ARN: &str = "admin_secret_arn";
        /// `ssl_mode`.
        pub const SSL_MODE: &str = "ssl_mode";
        /// `ssl_ca`.
        pub const SSL_CA: &str = "ssl_ca";
        /// `statement_timeout_seconds`.
        pub const STATEMENT_TIMEOUT_SECONDS: &str = "statement_timeout_seconds";
        /// `admin_auth`.
        pub const ADMIN_AUTH: &str = "admin_auth";
        /// `admin_username`.
        pub const ADMIN_USERNAME: &str = "admin_username";
    }

    /// The `assume_role` block's attributes.
    pub mod assume_role {
        /// `role_arn`.
        pub const ROLE_ARN: &str = "role_arn";
        /// `session_name`.
        pub const SESSION_NAME: &str = "session_name";
        /// `external_id`.
        pub const EXTERNAL_ID: &str = "external_id";
    }

    /// The `events` block's attributes.
    pub mod events {
        /// `bus_name`.
        pub const BUS_NAME: &str = "bus_name";
    }

    /// The `default_tags` block's attributes.
    pub mod default_tags {
        /// `tags`.
        pub const TAGS: &str = "tags";
    }
}

/// The attributes whose path continues with a map key, not an attribute
/// name (diagnostics point at `tags["team"]`).
pub fn is_map(attribute: &str) -> bool {
    matches!(attribute, tenant::ENVIRONMENT_VARIABLES | tenant::TAGS)
}

/// The attributes whose path continues with a list index
/// (diagnostics point at `custom_domains[1]`).
pub fn is_list(attribute: &str) -> bool {
    attribute == tenant::CUSTOM_DOMAINS
}

/// `ephemeral "bbws_tenant_credentials"`.
pub mod credentials {
    /// `tenant_id`.
    pub const TENANT_ID: &str = "tenant_id";
    /// `host`.
    pub const HOST: &str = "host";
    /// `port`.
    pub const PORT: &str = "port";
    /// `database`.
    pub const DATABASE: &str = "database";
    /// `username`.
    pub const USERNAME: &str = "username";
    /// `password`.
    pub const PASSWORD: &str = "password";
}

/// The actions' `config` blocks (`bbws_tenant_restart`,
/// `bbws_tenant_rotate_credentials`).
pub mod action {
    /// `tenant_id`.
    pub const TENANT_ID: &str = "tenant_id";
    /// `wait_for_steady_state`.
    pub const WAIT: &str = "wait_for_steady_state";
    /// `steady_state_timeout_seconds`.
    pub const TIMEOUT: &str = "steady_state_timeout_seconds";
    /// `source` (restore).
    pub const SOURCE: &str = "source";
    /// `allow_other_tenant` (restore).
    pub const ALLOW_OTHER_TENANT: &str = "allow_other_tenant";
}
