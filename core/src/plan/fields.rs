//! The fields of each part that a plan can change: one enum per part, so
//! that what the plan says and what the engine acts on are checked by the
//! compiler, not matched as strings.

use std::fmt;

use crate::parts::Part;

/// A field of one part (`Self::PART`): what an update or a replacement of
/// that part is about.
pub trait PartField: Copy + Into<Field> {
    /// The part the field belongs to.
    const PART: Part;
}

/// One changed field, of any part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Of the secret.
    Secret(SecretField),
    /// Of the MySQL user.
    DatabaseUser(DatabaseUserField),
    /// Of the access point.
    AccessPoint(AccessPointField),
    /// Of the log group.
    LogGroup(LogGroupField),
    /// Of the target group.
    TargetGroup(TargetGroupField),
    /// Of the task definition.
    TaskDefinition(TaskDefinitionField),
    /// Of the listener rule.
    ListenerRule(ListenerRuleField),
    /// Of the DNS record.
    DnsRecord(DnsRecordField),
    /// Of the service.
    Service(ServiceField),
    /// Of the service's scaling.
    Scaling(ScalingField),
    /// Of the custom domains' certificate.
    Certificate(CertificateField),
    /// Of the alarms.
    Alarms(AlarmsField),
}

/// Declares one part's field enum: its variants, the name each is shown
/// under (in plans, drift reports and audit records), and its part.
macro_rules! part_fields {
    ($(#[$doc:meta])* $name:ident of $part:ident {
        $($(#[$vdoc:meta])* $variant:ident = $shown:literal,)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// The field's name as plans show it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $shown,)*
                }
            }
        }

        impl PartField for $name {
            const PART: Part = Part::$part;
        }

        impl From<$name> for Field {
            fn from(field: $name) -> Field {
                Field::$part(field)
            }
        }
    };
}

part_fields! {
    /// What changes on the secret.
    SecretField of Secret {
        /// It is pending deletion: restored.
        Restore = "restore",
        /// A new password version (rotation).
        Password = "password",
        /// The description, which records the tenant's settings.
        Settings = "settings",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What changes on the MySQL user.
    DatabaseUserField of DatabaseUser {
        /// It is locked: unlocked.
        Unlock = "unlock",
        /// Locked on destroy (`retain_data_on_destroy`).
        Lock = "lock",
        /// A new password (a new secret or a rotation).
        Password = "password",
        /// Its `MAX_USER_CONNECTIONS` differs from `db_max_connections`.
        MaxConnections = "max_connections",
        /// An old password still logs in beside the new one (a rotation
        /// stopped before the service restarted): restart, then discard it.
        DiscardOldPassword = "discard_old_password",
    }
}

part_fields! {
    /// What differs on the access point (all but tags are immutable).
    AccessPointField of AccessPoint {
        /// Its root directory.
        RootDirectory = "root_directory",
        /// Its POSIX user.
        PosixUser = "posix_user",
        /// Its file system.
        FileSystemId = "file_system_id",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What changes on the log group.
    LogGroupField of LogGroup {
        /// Its retention.
        RetentionDays = "retention_days",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What differs on the target group (VPC and port are immutable).
    TargetGroupField of TargetGroup {
        /// Its VPC.
        VpcId = "vpc_id",
        /// Its port.
        Port = "port",
        /// Its health check path.
        HealthCheckPath = "health_check_path",
        /// The load balancer it belongs to (a move to another pool
        /// listener: a new one is made under the tenant's other name, the
        /// old one removed once the service left it).
        LoadBalancer = "load_balancer",
        /// The tenant's other target group, left by a move a run did not
        /// finish, is removed.
        RemoveLeftover = "remove_leftover",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What differs on the task definition; anything but tags is a new
    /// revision.
    TaskDefinitionField of TaskDefinition {
        /// The container image.
        Image = "image",
        /// CPU units.
        Cpu = "cpu",
        /// Memory.
        Memory = "memory",
        /// Environment variables.
        Environment = "environment",
        /// The secret references.
        Secrets = "secrets",
        /// The access point it mounts.
        AccessPoint = "access_point",
        /// The file system it mounts.
        FileSystem = "file_system",
        /// The log group it logs to.
        LogGroup = "log_group",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What changes on the listener rule.
    ListenerRuleField of ListenerRule {
        /// The host it routes.
        Host = "host",
        /// Forward to the target group, or the suspended page.
        Action = "action",
        /// The listener it is on (a move: a rule is made on the new one,
        /// the old one removed after the DNS record points there).
        Listener = "listener",
        /// Rules left on another listener by a move a run did not finish
        /// are removed.
        RemoveLeftover = "remove_leftover",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What changes on the DNS record.
    DnsRecordField of DnsRecord {
        /// Its name (a changed subdomain).
        Name = "name",
        /// What it points at.
        Target = "target",
        /// Records under previous names are removed.
        RemovePreviousName = "remove_previous_name",
    }
}

part_fields! {
    /// What changes on the service.
    ServiceField of Service {
        /// Its target group (`UpdateService` with the new load balancer
        /// mapping: a new deployment, in place).
        TargetGroup = "target_group",
        /// The revision it runs.
        TaskDefinition = "task_definition",
        /// Its desired count.
        DesiredCount = "desired_count",
        /// ECS's deployment circuit breaker with rollback (set by every
        /// UpdateService; a service made without it gets it).
        CircuitBreaker = "deployment_circuit_breaker",
        /// Its tasks are restarted (they read the password at start).
        Redeploy = "redeploy",
        /// Ownership and user tags.
        Tags = "tags",
    }
}

part_fields! {
    /// What changes on the service's scaling.
    ScalingField of Scaling {
        /// The range of the desired count (`min`, `max`; parked at 0 while
        /// suspended).
        Range = "min_max",
        /// The target-tracking policies (a target, the request-count one
        /// added or removed, or the target group it follows).
        Policies = "policies",
    }
}

part_fields! {
    /// What changes on the custom domains' certificate.
    CertificateField of Certificate {
        /// The custom domains changed (or the certificate can never be
        /// issued): a certificate for them is requested; the one serving
        /// the old names serves on until the new one is issued.
        Domains = "domains",
        /// The certificate is issued and its listener is to serve it (or
        /// the tenant moved to another listener).
        Listener = "listener",
        /// The certificate of the previous domains is to go, the new one
        /// serving.
        Superseded = "superseded",
        /// The pending certificate's validation records are missing from a
        /// public hosted zone of the account, where bbws writes them.
        Validation = "validation",
    }
}

part_fields! {
    /// What changes on the alarms.
    AlarmsField of Alarms {
        /// An alarm is missing or not as bbws defines it (its metrics,
        /// threshold, periods, topic, or the target group it watches).
        Definitions = "definitions",
    }
}

impl Field {
    /// The part the field belongs to.
    pub fn part(self) -> Part {
        match self {
            Field::Secret(_) => SecretField::PART,
            Field::DatabaseUser(_) => DatabaseUserField::PART,
            Field::AccessPoint(_) => AccessPointField::PART,
            Field::LogGroup(_) => LogGroupField::PART,
            Field::TargetGroup(_) => TargetGroupField::PART,
            Field::TaskDefinition(_) => TaskDefinitionField::PART,
            Field::ListenerRule(_) => ListenerRuleField::PART,
            Field::DnsRecord(_) => DnsRecordField::PART,
            Field::Service(_) => ServiceField::PART,
            Field::Scaling(_) => ScalingField::PART,
            Field::Certificate(_) => CertificateField::PART,
            Field::Alarms(_) => AlarmsField::PART,
        }
    }

    /// The field's name as plans show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Secret(f) => f.as_str(),
            Field::DatabaseUser(f) => f.as_str(),
            Field::AccessPoint(f) => f.as_str(),
            Field::LogGroup(f) => f.as_str(),
            Field::TargetGroup(f) => f.as_str(),
            Field::TaskDefinition(f) => f.as_str(),
            Field::ListenerRule(f) => f.as_str(),
            Field::DnsRecord(f) => f.as_str(),
            Field::Service(f) => f.as_str(),
            Field::Scaling(f) => f.as_str(),
            Field::Certificate(f) => f.as_str(),
            Field::Alarms(f) => f.as_str(),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `fields` as a plan shows them: `"cpu, memory"`.
pub fn field_list(fields: &[Field]) -> String {
    fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
}
