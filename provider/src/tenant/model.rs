//! `TenantModel`: the `bbws_tenant` resource's config, plan and state as
//! one typed struct, converted from and to [`Value`] here and nowhere else.
//! The attribute names are spelled once, in [`crate::attr::tenant`].

use magma_protocol::tfplugin6 as tf;

use crate::model::{Attribute, Reader, Tf, TfBool, TfList, TfMap, TfNumber, TfString, Writer};
use crate::protocol::value::{self, Value};

pub use crate::attr::tenant as attr;

/// A `bbws_tenant` object: one field per attribute of the schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantModel {
    /// `id`.
    pub id: TfString,
    /// `name`.
    pub name: TfString,
    /// `contact_email`.
    pub contact_email: TfString,
    /// `tenant_id`.
    pub tenant_id: TfString,
    /// `subdomain`.
    pub subdomain: TfString,
    /// `tier`.
    pub tier: TfString,
    /// `wordpress_version`.
    pub wordpress_version: TfString,
    /// `php_version`.
    pub php_version: TfString,
    /// `image`.
    pub image: TfString,
    /// `cpu`.
    pub cpu: TfNumber,
    /// `memory`.
    pub memory: TfNumber,
    /// `desired_count`.
    pub desired_count: TfNumber,
    /// `db_max_connections`.
    pub db_max_connections: TfNumber,
    /// `status`.
    pub status: TfString,
    /// `environment_variables`.
    pub environment_variables: TfMap,
    /// `log_retention_days`.
    pub log_retention_days: TfNumber,
    /// `deletion_protection`.
    pub deletion_protection: TfBool,
    /// `confirm_destroy`.
    pub confirm_destroy: TfString,
    /// `retain_data_on_destroy`.
    pub retain_data_on_destroy: TfBool,
    /// `backup_before_destroy`.
    pub backup_before_destroy: TfBool,
    /// `db_password_wo`.
    pub db_password_wo: TfString,
    /// `db_password_wo_version`.
    pub db_password_wo_version: TfNumber,
    /// `wait_for_steady_state`.
    pub wait_for_steady_state: TfBool,
    /// `steady_state_timeout_seconds`.
    pub steady_state_timeout_seconds: TfNumber,
    /// `tags`.
    pub tags: TfMap,
    /// `fqdn`.
    pub fqdn: TfString,
    /// `url`.
    pub url: TfString,
    /// `service_arn`.
    pub service_arn: TfString,
    /// `task_definition_arn`.
    pub task_definition_arn: TfString,
    /// `target_group_arn`.
    pub target_group_arn: TfString,
    /// `listener_rule_arn`.
    pub listener_rule_arn: TfString,
    /// `listener_rule_priority`.
    pub listener_rule_priority: TfNumber,
    /// `access_point_id`.
    pub access_point_id: TfString,
    /// `database_name`.
    pub database_name: TfString,
    /// `database_user`.
    pub database_user: TfString,
    /// `db_secret_arn`.
    pub db_secret_arn: TfString,
    /// `log_group_name`.
    pub log_group_name: TfString,
    /// `listener_arn` (optional + computed).
    pub listener_arn: TfString,
    /// `load_balancer_dns_name`.
    pub load_balancer_dns_name: TfString,
    /// `parts`.
    pub parts: TfMap,
    /// `custom_domains`.
    pub custom_domains: TfList,
    /// `certificate_arn`.
    pub certificate_arn: TfString,
    /// `certificate_validation_records`.
    pub certificate_validation_records: TfRecords,
    /// The `autoscaling` block, `None` when absent.
    pub autoscaling: Option<AutoscalingModel>,
}

/// One of `certificate_validation_records`: a DNS record proving control
/// of a custom domain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationRecordModel {
    /// `name`.
    pub name: TfString,
    /// `type`.
    pub record_type: TfString,
    /// `value`.
    pub value: TfString,
}

/// `certificate_validation_records`: a list of records.
pub type TfRecords = Tf<Vec<ValidationRecordModel>>;

impl Attribute for TfRecords {
    fn from_value(v: &Value) -> Self {
        use attr::validation_record as a;
        match v {
            Value::Unknown => Tf::Unknown,
            Value::List(l) => Tf::Known(
                l.iter()
                    .map(|r| {
                        let r = Reader(r);
                        ValidationRecordModel {
                            name: r.get(a::NAME),
                            record_type: r.get(a::TYPE),
                            value: r.get(a::VALUE),
                        }
                    })
                    .collect(),
            ),
            _ => Tf::Null,
        }
    }
    fn to_value(&self) -> Value {
        use attr::validation_record as a;
        match self {
            Tf::Unknown => Value::Unknown,
            Tf::Null => Value::Null,
            Tf::Known(l) => Value::List(
                l.iter()
                    .map(|r| {
                        Writer::default()
                            .set(a::NAME, &r.name)
                            .set(a::TYPE, &r.record_type)
                            .set(a::VALUE, &r.value)
                            .finish()
                    })
                    .collect(),
            ),
        }
    }
    fn is_known_deep(&self) -> bool {
        match self {
            Tf::Unknown => false,
            Tf::Null => true,
            Tf::Known(l) => l
                .iter()
                .all(|r| r.name.is_known_deep() && r.record_type.is_known_deep() && r.value.is_known_deep()),
        }
    }
}

impl TfRecords {
    /// Known records of core's.
    pub fn of_records(records: &[bbws_core::ports::ValidationRecord]) -> Self {
        Tf::Known(
            records
                .iter()
                .map(|r| ValidationRecordModel {
                    name: TfString::of(r.name.clone()),
                    record_type: TfString::of(r.record_type.clone()),
                    value: TfString::of(r.value.clone()),
                })
                .collect(),
        )
    }
}

/// The `autoscaling` block: each attribute null when unset (the tier's
/// default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoscalingModel {
    /// `min`.
    pub min: TfNumber,
    /// `max`.
    pub max: TfNumber,
    /// `cpu_target`.
    pub cpu_target: TfNumber,
    /// `requests_per_target`.
    pub requests_per_target: TfNumber,
}

impl AutoscalingModel {
    fn from_reader(r: &Reader<'_>) -> Option<Self> {
        use attr::autoscaling as a;
        // A block not known yet (a `dynamic` block over an unknown value)
        // has every attribute unknown: the plan waits for it.
        if matches!(r.0, Value::Unknown) {
            return Some(AutoscalingModel {
                min: TfNumber::Unknown,
                max: TfNumber::Unknown,
                cpu_target: TfNumber::Unknown,
                requests_per_target: TfNumber::Unknown,
            });
        }
        (!r.is_null()).then(|| AutoscalingModel {
            min: r.get(a::MIN),
            max: r.get(a::MAX),
            cpu_target: r.get(a::CPU_TARGET),
            requests_per_target: r.get(a::REQUESTS_PER_TARGET),
        })
    }

    fn to_value(model: Option<&Self>) -> Value {
        use attr::autoscaling as a;
        model.map_or(Value::Null, |m| {
            Writer::default()
                .set(a::MIN, &m.min)
                .set(a::MAX, &m.max)
                .set(a::CPU_TARGET, &m.cpu_target)
                .set(a::REQUESTS_PER_TARGET, &m.requests_per_target)
                .finish()
        })
    }
}

impl TenantModel {
    /// The model of an object value (every attribute read; absent ones are
    /// null).
    pub fn from_value(v: &Value) -> Self {
        let r = Reader(v);
        TenantModel {
            id: r.get(attr::ID),
            name: r.get(attr::NAME),
            contact_email: r.get(attr::CONTACT_EMAIL),
            tenant_id: r.get(attr::TENANT_ID),
            subdomain: r.get(attr::SUBDOMAIN),
            tier: r.get(attr::TIER),
            wordpress_version: r.get(attr::WORDPRESS_VERSION),
            php_version: r.get(attr::PHP_VERSION),
            image: r.get(attr::IMAGE),
            cpu: r.get(attr::CPU),
            memory: r.get(attr::MEMORY),
            desired_count: r.get(attr::DESIRED_COUNT),
            db_max_connections: r.get(attr::DB_MAX_CONNECTIONS),
            status: r.get(attr::STATUS),
            environment_variables: r.get(attr::ENVIRONMENT_VARIABLES),
            log_retention_days: r.get(attr::LOG_RETENTION_DAYS),
            deletion_protection: r.get(attr::DELETION_PROTECTION),
            confirm_destroy: r.get(attr::CONFIRM_DESTROY),
            retain_data_on_destroy: r.get(attr::RETAIN_DATA_ON_DESTROY),
            backup_before_destroy: r.get(attr::BACKUP_BEFORE_DESTROY),
            db_password_wo: r.get(attr::DB_PASSWORD_WO),
            db_password_wo_version: r.get(attr::DB_PASSWORD_WO_VERSION),
            wait_for_steady_state: r.get(attr::WAIT_FOR_STEADY_STATE),
            steady_state_timeout_seconds: r.get(attr::STEADY_STATE_TIMEOUT_SECONDS),
            tags: r.get(attr::TAGS),
            fqdn: r.get(attr::FQDN),
            url: r.get(attr::URL),
            service_arn: r.get(attr::SERVICE_ARN),
            task_definition_arn: r.get(attr::TASK_DEFINITION_ARN),
            target_group_arn: r.get(attr::TARGET_GROUP_ARN),
            listener_rule_arn: r.get(attr::LISTENER_RULE_ARN),
            listener_rule_priority: r.get(attr::LISTENER_RULE_PRIORITY),
            access_point_id: r.get(attr::ACCESS_POINT_ID),
            database_name: r.get(attr::DATABASE_NAME),
            database_user: r.get(attr::DATABASE_USER),
            db_secret_arn: r.get(attr::DB_SECRET_ARN),
            log_group_name: r.get(attr::LOG_GROUP_NAME),
            listener_arn: r.get(attr::LISTENER_ARN),
            load_balancer_dns_name: r.get(attr::LOAD_BALANCER_DNS_NAME),
            parts: r.get(attr::PARTS),
            custom_domains: r.get(attr::CUSTOM_DOMAINS),
            certificate_arn: r.get(attr::CERTIFICATE_ARN),
            certificate_validation_records: r.get(attr::CERTIFICATE_VALIDATION_RECORDS),
            autoscaling: AutoscalingModel::from_reader(&r.block(attr::AUTOSCALING)),
        }
    }

    /// The object value, with every attribute of the schema.
    pub fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::ID, &self.id)
            .set(attr::NAME, &self.name)
            .set(attr::CONTACT_EMAIL, &self.contact_email)
            .set(attr::TENANT_ID, &self.tenant_id)
            .set(attr::SUBDOMAIN, &self.subdomain)
            .set(attr::TIER, &self.tier)
            .set(attr::WORDPRESS_VERSION, &self.wordpress_version)
            .set(attr::PHP_VERSION, &self.php_version)
            .set(attr::IMAGE, &self.image)
            .set(attr::CPU, &self.cpu)
            .set(attr::MEMORY, &self.memory)
            .set(attr::DESIRED_COUNT, &self.desired_count)
            .set(attr::DB_MAX_CONNECTIONS, &self.db_max_connections)
            .set(attr::STATUS, &self.status)
            .set(attr::ENVIRONMENT_VARIABLES, &self.environment_variables)
            .set(attr::LOG_RETENTION_DAYS, &self.log_retention_days)
            .set(attr::DELETION_PROTECTION, &self.deletion_protection)
            .set(attr::CONFIRM_DESTROY, &self.confirm_destroy)
            .set(attr::RETAIN_DATA_ON_DESTROY, &self.retain_data_on_destroy)
            .set(attr::BACKUP_BEFORE_DESTROY, &self.backup_before_destroy)
            .set(attr::DB_PASSWORD_WO, &self.db_password_wo)
            .set(attr::DB_PASSWORD_WO_VERSION, &self.db_password_wo_version)
            .set(attr::WAIT_FOR_STEADY_STATE, &self.wait_for_steady_state)
            .set(attr::STEADY_STATE_TIMEOUT_SECONDS, &self.steady_state_timeout_seconds)
            .set(attr::TAGS, &self.tags)
            .set(attr::FQDN, &self.fqdn)
            .set(attr::URL, &self.url)
            .set(attr::SERVICE_ARN, &self.service_arn)
            .set(attr::TASK_DEFINITION_ARN, &self.task_definition_arn)
            .set(attr::TARGET_GROUP_ARN, &self.target_group_arn)
            .set(attr::LISTENER_RULE_ARN, &self.listener_rule_arn)
            .set(attr::LISTENER_RULE_PRIORITY, &self.listener_rule_priority)
            .set(attr::ACCESS_POINT_ID, &self.access_point_id)
            .set(attr::DATABASE_NAME, &self.database_name)
            .set(attr::DATABASE_USER, &self.database_user)
            .set(attr::DB_SECRET_ARN, &self.db_secret_arn)
            .set(attr::LOG_GROUP_NAME, &self.log_group_name)
            .set(attr::LISTENER_ARN, &self.listener_arn)
            .set(attr::LOAD_BALANCER_DNS_NAME, &self.load_balancer_dns_name)
            .set(attr::PARTS, &self.parts)
            .set(attr::CUSTOM_DOMAINS, &self.custom_domains)
            .set(attr::CERTIFICATE_ARN, &self.certificate_arn)
            .set(
                attr::CERTIFICATE_VALIDATION_RECORDS,
                &self.certificate_validation_records,
            )
            .set_value(attr::AUTOSCALING, AutoscalingModel::to_value(self.autoscaling.as_ref()))
            .finish()
    }

    /// Decodes an object from Terraform: `None` when it is null (no prior
    /// state, a destroy's planned state).
    pub fn decode(v: Option<&tf::DynamicValue>) -> Result<Option<Self>, value::ValueError> {
        let v = match v {
            None => Value::Null,
            Some(d) => value::decode(d)?,
        };
        Ok((!v.is_null()).then(|| TenantModel::from_value(&v)))
    }

    /// Encodes an object (`None`: null) for Terraform.
    pub fn encode(model: Option<&Self>) -> tf::DynamicValue {
        value::encode(&model.map_or(Value::Null, TenantModel::to_value))
    }

    /// The user-settable attributes whose unknown value means the plan
    /// cannot be computed yet.
    pub fn inputs(&self) -> Vec<&dyn Known> {
        let mut inputs: Vec<&dyn Known> = vec![
            &self.name,
            &self.contact_email,
            &self.tenant_id,
            &self.subdomain,
            &self.tier,
            &self.wordpress_version,
            &self.php_version,
            &self.image,
            &self.cpu,
            &self.memory,
            &self.desired_count,
            &self.db_max_connections,
            &self.status,
            &self.environment_variables,
            &self.log_retention_days,
            &self.deletion_protection,
            &self.confirm_destroy,
            &self.retain_data_on_destroy,
            &self.backup_before_destroy,
            &self.tags,
            &self.db_password_wo_version,
            &self.wait_for_steady_state,
            &self.steady_state_timeout_seconds,
            &self.custom_domains,
        ];
        if let Some(a) = &self.autoscaling {
            inputs.extend([&a.min as &dyn Known, &a.max, &a.cpu_target, &a.requests_per_target]);
        }
        inputs
    }
}

/// Whether an attribute holds no unknown (object-safe [`Attribute`]).
pub trait Known {
    /// No unknown anywhere inside.
    fn known_deep(&self) -> bool;
}

impl<T: Attribute> Known for T {
    fn known_deep(&self) -> bool {
        self.is_known_deep()
    }
}

/// The resource identity `{environment, tenant_id}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantIdentity {
    /// The provider's environment.
    pub environment: TfString,
    /// The tenant id.
    pub tenant_id: TfString,
}

impl TenantIdentity {
    /// The identity of a value.
    pub fn from_value(v: &Value) -> Self {
        let r = Reader(v);
        TenantIdentity {
            environment: r.get(attr::IDENTITY_ENVIRONMENT),
            tenant_id: r.get(attr::IDENTITY_TENANT_ID),
        }
    }

    /// The identity's value.
    pub fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::IDENTITY_ENVIRONMENT, &self.environment)
            .set(attr::IDENTITY_TENANT_ID, &self.tenant_id)
            .finish()
    }
}
