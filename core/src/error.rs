//! The one error type at `bbws-core`'s boundary.

use crate::parts::Part;
use crate::ports::{PortError, PortErrorKind};
use crate::validate::Violation;

/// Everything that can go wrong in `bbws-core`, with the part and the
/// service's error code where there is one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CoreError {
    /// The tenant or platform configuration breaks SPEC §5 rules.
    #[error("invalid configuration: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),

    /// An AWS or MySQL call failed.
    #[error("{part}: {operation} failed: {source}")]
    Port {
        /// The part being worked on (`platform` when none).
        part: PartOrPlatform,
        /// The API operation, e.g. `CreateService`.
        operation: &'static str,
        /// The service's error.
        #[source]
        source: PortError,
    },

    /// A platform setting points at something that does not exist or
    /// cannot be used.
    #[error("provider setting {setting}: {message}")]
    Platform {
        /// Attribute path of the setting, e.g. `listener_arn`, `database.admin_secret_arn`.
        setting: &'static str,
        /// What is wrong and what to do.
        message: String,
    },

    /// A part with the tenant's name exists but belongs to someone else.
    #[error(
        "{part} {name:?} already exists but is not owned by tenant {tenant_id} ({found}); bbws does not take over resources it did not create — remove or rename it, or import the tenant that owns it"
    )]
    NotOwned {
        /// Part.
        part: Part,
        /// Its name.
        name: String,
        /// The tenant id we expected.
        tenant_id: String,
        /// What ownership tags were found.
        found: String,
    },

    /// A part this run was creating appeared meanwhile, made by someone
    /// else (another apply of the same tenant, or another owner): this run
    /// stops and removes only what it made itself.
    #[error(
        "{part} {name:?} was created meanwhile by someone else ({found}) while this apply was creating it; another apply of tenant {tenant_id} may be running — nothing of theirs was changed; plan again once it has finished"
    )]
    CreatedElsewhere {
        /// Part.
        part: Part,
        /// Its name.
        name: String,
        /// The tenant id this run was creating.
        tenant_id: String,
        /// What ownership tags the found part carries.
        found: String,
    },

    /// An operation outside an apply (an action, reading the credentials)
    /// cannot run on the tenant as it is.
    #[error("cannot {operation} tenant {tenant_id}: {reason}")]
    NotPossible {
        /// Tenant.
        tenant_id: String,
        /// The operation, in words (`restart`, `read the credentials of`).
        operation: &'static str,
        /// Why, and what to do.
        reason: String,
    },

    /// Destroy refused by a guard.
    #[error("tenant {tenant_id} cannot be destroyed: {reason}. To proceed: {how}")]
    DestroyBlocked {
        /// Tenant.
        tenant_id: String,
        /// Which guard.
        reason: String,
        /// How to proceed.
        how: String,
    },

    /// The run was asked to stop (Terraform's StopProvider, e.g. Ctrl-C)
    /// before this step.
    #[error("stopped before {step}: Terraform asked the provider to stop; apply again to converge")]
    Stopped {
        /// The step that was not started.
        step: String,
    },

    /// An apply step failed; what this run created was removed again.
    #[error("step {step} failed: {source}{}", rollback_note(.rolled_back, .rollback_errors))]
    Apply {
        /// The step (`create listener_rule`…).
        step: String,
        /// The part.
        part: Part,
        /// The cause.
        #[source]
        source: Box<CoreError>,
        /// Parts this run created and removed again.
        rolled_back: Vec<Part>,
        /// Parts whose removal failed too (left behind, named here).
        rollback_errors: Vec<String>,
    },
}

fn rollback_note(rolled_back: &[Part], errors: &[String]) -> String {
    let mut s = String::new();
    if !rolled_back.is_empty() {
        let parts: Vec<_> = rolled_back.iter().map(|p| p.as_str()).collect();
        s.push_str(&format!("; removed what this run created: {}", parts.join(", ")));
    }
    if !errors.is_empty() {
        s.push_str(&format!("; could NOT remove: {}", errors.join("; ")));
    }
    s
}

/// Where a port error happened: one of the ten parts or the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartOrPlatform {
    /// A tenant part.
    Part(Part),
    /// The platform (listener, zone, database server, audit log…).
    Platform,
}

impl std::fmt::Display for PartOrPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartOrPlatform::Part(p) => write!(f, "{p}"),
            PartOrPlatform::Platform => f.write_str("platform"),
        }
    }
}

impl From<Part> for PartOrPlatform {
    fn from(p: Part) -> Self {
        PartOrPlatform::Part(p)
    }
}

impl CoreError {
    /// A port error on `part` during `operation`.
    pub fn port(part: impl Into<PartOrPlatform>, operation: &'static str, source: PortError) -> Self {
        CoreError::Port {
            part: part.into(),
            operation,
            source,
        }
    }

    /// Whether the same operation may succeed when retried unchanged.
    pub fn is_retryable(&self) -> bool {
        match self {
            CoreError::Port { source, .. } => source.is_retryable(),
            CoreError::Apply { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// The port error at the root of this one, if any.
    pub fn port_error(&self) -> Option<&PortError> {
        match self {
            CoreError::Port { source, .. } => Some(source),
            CoreError::Apply { source, .. } => source.port_error(),
            _ => None,
        }
    }

    /// Whether to run again, in words a person acts on: `retryable: …; run
    /// again` or `not retryable: …`; `None` when the error is not a
    /// failed call (a configuration or ownership error says what to fix).
    pub fn retry_advice(&self) -> Option<String> {
        let e = self.port_error()?;
        let tries = match e.attempts {
            0 => String::new(),
            1 => " once (no retry was allowed: max_retries = 0)".to_owned(),
            n => format!(" {n} times"),
        };
        let advice = match e.kind {
            _ if e.is_throttling() => format!(
                "retryable: AWS throttled this call{tries}, backing off between attempts; run again (a higher max_retries in the provider block rides out longer throttling)"
            ),
            PortErrorKind::Transient
                if e.code.starts_with("Http5")
                    || e.code.contains("Internal")
                    || e.code.contains("Unavailable")
                    || e.code.contains("Server") =>
            {
                format!("retryable: the service failed this call{tries} ({}); run again", e.code)
            }
            PortErrorKind::Transient if tries.is_empty() => {
                "retryable: a transient fault (network, timeout or service); run again".to_owned()
            }
            PortErrorKind::Transient => format!("retryable: the call failed{tries} with a transient fault; run again"),
            PortErrorKind::PriorityInUse => {
                "retryable: another rule took the listener priority at the same moment; run again".to_owned()
            }
            PortErrorKind::AccessDenied => {
                "not retryable: the credentials or their permissions must change first".to_owned()
            }
            PortErrorKind::InvalidInput => {
                "not retryable: the request was refused as invalid; running it again fails the same way".to_owned()
            }
            PortErrorKind::NotFound | PortErrorKind::AlreadyExists | PortErrorKind::Other => {
                "not retryable: running the same command again fails the same way until the cause above is fixed"
                    .to_owned()
            }
        };
        Some(advice)
    }

    /// The AWS/MySQL error code, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            CoreError::Port { source, .. } => Some(&source.code),
            CoreError::Apply { source, .. } => source.code(),
            _ => None,
        }
    }

    /// Whether the failure is a conflict with something that is not ours
    /// (so what exists under the tenant's names must not be claimed).
    pub fn is_conflict(&self) -> bool {
        match self {
            CoreError::NotOwned { .. } | CoreError::CreatedElsewhere { .. } => true,
            CoreError::Apply { source, .. } => source.is_conflict(),
            _ => false,
        }
    }

    /// Whether the cause is missing or rejected credentials.
    pub fn is_access_denied(&self) -> bool {
        match self {
            CoreError::Port { source, .. } => source.kind == PortErrorKind::AccessDenied,
            CoreError::Apply { source, .. } => source.is_access_denied(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: PortErrorKind, code: &str, attempts: u32) -> CoreError {
        CoreError::port(
            Part::ListenerRule,
            "CreateRule",
            PortError::new(kind, code, "m").with_attempts(attempts),
        )
    }

    #[test]
    fn the_advice_says_whether_to_run_again_and_how_often_aws_was_asked() {
        use PortErrorKind::*;
        let advice = |e: CoreError| e.retry_advice().unwrap_or_default();
        assert_eq!(
            advice(failed(Transient, "Throttling", 9)),
            "retryable: AWS throttled this call 9 times, backing off between attempts; run again (a higher max_retries in the provider block rides out longer throttling)"
        );
        assert!(advice(failed(Transient, "ThrottlingException", 1)).contains("once (no retry was allowed"));
        assert!(
            advice(failed(Transient, "PriorRequestNotComplete", 3))
                .starts_with("retryable: AWS throttled this call 3 times")
        );
        assert_eq!(
            advice(failed(Transient, "ServiceUnavailable", 9)),
            "retryable: the service failed this call 9 times (ServiceUnavailable); run again"
        );
        assert!(advice(failed(Transient, "ConnectionFailed", 0)).starts_with("retryable: a transient fault"));
        assert!(advice(failed(PriorityInUse, "PriorityInUse", 1)).starts_with("retryable:"));
        for kind in [AccessDenied, InvalidInput, NotFound, AlreadyExists, Other] {
            assert!(advice(failed(kind, "X", 1)).starts_with("not retryable:"), "{kind:?}");
        }
        // Through an apply step too; nothing for errors that are not calls.
        let step = CoreError::Apply {
            step: "create listener_rule".into(),
            part: Part::ListenerRule,
            source: Box::new(failed(Transient, "Throttling", 4)),
            rolled_back: vec![],
            rollback_errors: vec![],
        };
        assert!(advice(step).contains("throttled this call 4 times"));
        assert_eq!(CoreError::Invalid(vec![]).retry_advice(), None);
    }
}
