//! Turning AWS SDK errors into [`PortError`]s.
//!
//! Every `aws_sdk_*::error::SdkError<E>` is the same generic smithy type, so
//! one function classifies the errors of all eight clients. Messages carry
//! the service's code and message, or — when the request never got an
//! answer — what went wrong and where, so that the user can act on it.
//! Request bodies are never included (they may hold secret values).

use std::error::Error as StdError;

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use crate::ports::{PortError, PortErrorKind};

/// Which service an adapter talks to and where: used in messages when a
/// request never reached the service.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Service key (`ecs`, `elbv2`…).
    pub service: &'static str,
    /// The endpoint URL when overridden, else a description of the default.
    pub url: String,
}

impl Endpoint {
    /// Describes where `service` is reached.
    pub(crate) fn new(service: &'static str, url: Option<&str>, region: Option<&str>) -> Self {
        let url = match (url, region) {
            (Some(u), _) => u.to_string(),
            (None, Some(r)) => format!("the default {service} endpoint of region {r}"),
            (None, None) => format!("the default {service} endpoint (no region configured)"),
        };
        Endpoint { service, url }
    }
}

/// Classifies an SDK error of operation `op` against `ep`.
pub(crate) fn sdk_error<E>(ep: &Endpoint, op: &str, err: SdkError<E>) -> PortError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let attempts = attempts_of(&err);
    classify(ep, op, err).with_attempts(attempts)
}

/// How many attempts the SDK made, as `retry::AttemptCounter` wrote it in
/// the final answer; 0 when there was no answer.
fn attempts_of<E>(err: &SdkError<E>) -> u32 {
    let raw = match err {
        SdkError::ServiceError(ctx) => Some(ctx.raw()),
        SdkError::ResponseError(ctx) => Some(ctx.raw()),
        _ => None,
    };
    raw.and_then(|r| r.headers().get(super::retry::ATTEMPTS_HEADER))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn classify<E>(ep: &Endpoint, op: &str, err: SdkError<E>) -> PortError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = err.code().unwrap_or_default().to_string();
            let message = err.message().unwrap_or_default().to_string();
            service_error(ep, op, status, &code, &message)
        }
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let kind = status_kind(status);
            PortError::new(
                kind,
                format!("Http{status}"),
                // The parse error is left out: it may quote the response
                // body, which may hold a secret value.
                format!(
                    "{op}: unreadable answer (HTTP {status}) from {} — is that really the {} API?",
                    ep.url, ep.service
                ),
            )
        }
        SdkError::TimeoutError(_) => PortError::new(
            PortErrorKind::Transient,
            "Timeout",
            format!(
                "{op}: no answer from {} within the timeout; check the endpoint and network",
                ep.url
            ),
        ),
        SdkError::DispatchFailure(d) => {
            let detail = chain(&err);
            if let Some(e) = credentials_error(op, &err, &detail) {
                return e;
            }
            if d.is_timeout() {
                PortError::new(
                    PortErrorKind::Transient,
                    "Timeout",
                    format!("{op}: could not reach {}: timed out ({detail})", ep.url),
                )
            } else if d.is_io() {
                PortError::new(
                    PortErrorKind::Transient,
                    "ConnectionFailed",
                    format!("{op}: could not reach {}: {}", ep.url, short_io(&detail)),
                )
            } else if d.is_user() {
                PortError::new(
                    PortErrorKind::InvalidInput,
                    "InvalidRequest",
                    format!("{op}: request to {} could not be sent: {detail}", ep.url),
                )
            } else {
                PortError::new(
                    PortErrorKind::Transient,
                    "DispatchFailure",
                    format!("{op}: could not reach {}: {detail}", ep.url),
                )
            }
        }
        SdkError::ConstructionFailure(_) => {
            let detail = chain(&err);
            if let Some(e) = credentials_error(op, &err, &detail) {
                return e;
            }
            PortError::new(
                PortErrorKind::InvalidInput,
                "InvalidRequest",
                format!("{op}: request could not be built: {detail}"),
            )
        }
        _ => PortError::new(PortErrorKind::Other, "Unknown", format!("{op}: {}", chain(&err))),
    }
}

/// A `map_err` adapter: `.map_err(on(&self.ep, "DescribeServices"))`.
pub(crate) fn on<'a, E>(ep: &'a Endpoint, op: &'a str) -> impl FnOnce(SdkError<E>) -> PortError + 'a
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    move |e| sdk_error(ep, op, e)
}

/// A request that could not be built (a required field missing).
pub(crate) fn build_error(op: &str, e: aws_sdk_ecs::error::BuildError) -> PortError {
    PortError::new(PortErrorKind::InvalidInput, "InvalidRequest", format!("{op}: {e}"))
}

/// Classifies a service's answer by code, then by HTTP status.
pub(crate) fn service_error(ep: &Endpoint, op: &str, status: u16, code: &str, message: &str) -> PortError {
    let kind = match code_kind(code) {
        Some(k) => k,
        // An error code we do not know: only the status class says more.
        None if !code.is_empty() => match status {
            429 | 500..=599 => PortErrorKind::Transient,
            _ => PortErrorKind::Other,
        },
        None => status_kind(status),
    };
    let code = if code.is_empty() {
        format!("Http{status}")
    } else {
        code.to_string()
    };
    let message = if message.is_empty() {
        match kind {
            PortErrorKind::AccessDenied => format!(
                "{op}: {} refused the credentials (HTTP {status}); check which identity is in use (AWS_PROFILE, env) and its permissions",
                ep.url
            ),
            _ => format!("{op}: {} answered HTTP {status} without a message", ep.url),
        }
    } else if is_expired_credentials(&code) {
        format!(
            "{op}: {message} ({code}): the AWS credentials have expired. Get fresh ones and run again: `aws sso login` for an SSO profile (AWS_PROFILE or the provider's `profile`), a new AWS_SESSION_TOKEN with its keys, or whatever refreshes the profile's source; with assume_role, the source credentials are the ones that expired"
        )
    } else {
        format!("{op}: {message}")
    };
    PortError::new(kind, code, message)
}

/// Classification by the service's error code. One table of every code the
/// ten services answer with, kept whole so that a code is looked up in one
/// place (hence its length).
pub(crate) fn code_kind(code: &str) -> Option<PortErrorKind> {
    use PortErrorKind::*;
    if code.is_empty() {
        return None;
    }
    const ACCESS: &[&str] = &[
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "InvalidAccessKeyId",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "AuthFailure",
        "UnauthorizedOperation",
        "NotAuthorized",
        "NotAuthorizedException",
        "RequestExpired",
        "OptInRequired",
    ];
    const TRANSIENT: &[&str] = &[
        "TooManyRequestsException",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        // Route53 and others: a change raced another; the same change later succeeds.
        "ConcurrentModification",
        "ConcurrentModificationException",
        "RequestLimitExceeded",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "InternalServerErrorException",
        "ServerException",
        "ServiceException",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAbortedException",
        "ServiceFailureException",
        "EC2ThrottledException",
        "IncorrectFileSystemLifeCycleState",
        // A target group still attached to a draining service or a rule.
        "ResourceInUse",
        "ResourceInUseException",
        "UpdateInProgressException",
        // Application Auto Scaling: another change of the same target.
        "ConcurrentUpdateException",
    ];
    const ALREADY: &[&str] = &[
        "ResourceExistsException",
        "ResourceAlreadyExistsException",
        "DuplicateTargetGroupName",
    ];
    const NOT_FOUND: &[&str] = &[
        "ResourceNotFoundException",
        "ServiceNotFoundException",
        "ServiceNotActiveException",
        "NoSuchHostedZone",
        "NoSuchEntity",
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchUpload",
        "AccessPointNotFound",
        "FileSystemNotFound",
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
    ];
    if code == "PriorityInUse" || code == "PriorityInUseException" {
        return Some(PriorityInUse);
    }
    if ACCESS.contains(&code) || code.starts_with("AccessDenied") {
        return Some(AccessDenied);
    }
    if TRANSIENT.contains(&code) || code.contains("Throttl") {
        return Some(Transient);
    }
    if NOT_FOUND.contains(&code) || code.contains("NotFound") {
        return Some(NotFound);
    }
    if ALREADY.contains(&code) || code.contains("AlreadyExists") || code.starts_with("Duplicate") {
        return Some(AlreadyExists);
    }
    if code.starts_with("Validation")
        || code.starts_with("InvalidParameter")
        || code.starts_with("Invalid")
        || code.starts_with("MissingParameter")
        || code.starts_with("MissingRequired")
        || code.starts_with("Malformed")
        || code == "ClientException"
        || code == "BadRequest"
        || code == "BadRequestException"
        || code == "UnsupportedProtocol"
    {
        return Some(InvalidInput);
    }
    None
}

/// Classification by HTTP status alone.
fn status_kind(status: u16) -> PortErrorKind {
    match status {
        401 | 403 => PortErrorKind::AccessDenied,
        404 => PortErrorKind::NotFound,
        429 => PortErrorKind::Transient,
        500..=599 => PortErrorKind::Transient,
        400..=499 => PortErrorKind::InvalidInput,
        _ => PortErrorKind::Other,
    }
}

/// The error and its sources, joined with `: `, without repeats.
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Whether a credentials provider failure is somewhere in the source chain.
fn is_credentials_error(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string().to_ascii_lowercase();
        let d = format!("{e:?}");
        if s.contains("credential") || d.contains("CredentialsNotLoaded") || d.contains("CredentialsError") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The code of a port error whose credentials came from `assume_role` and
/// could not be had: the role was not assumed.
pub(crate) const ASSUME_ROLE_FAILED: &str = "AssumeRoleFailed";

/// A failure to get credentials, when that is what `err` is: the role of
/// `assume_role` not assumed, or no credentials in the chain.
fn credentials_error(op: &str, err: &(dyn StdError + 'static), detail: &str) -> Option<PortError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(failed) = e.downcast_ref::<super::identity::AssumeRoleFailed>() {
            return Some(PortError::new(
                PortErrorKind::AccessDenied,
                ASSUME_ROLE_FAILED,
                format!("{op}: {failed}"),
            ));
        }
        cur = e.source();
    }
    is_credentials_error(err).then(|| {
        PortError::new(
            PortErrorKind::AccessDenied,
            "NoCredentials",
            format!(
                "{op}: no AWS credentials found in the standard chain (env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE / shared config, SSO, web identity, container or instance role) — set credentials or a profile ({detail})"
            ),
        )
    })
}

/// Codes AWS answers with when the request's credentials have expired.
pub(crate) const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"];

/// Whether a port error says the credentials have expired.
pub fn is_expired_credentials(code: &str) -> bool {
    EXPIRED.contains(&code)
}

/// The most telling part of an IO failure, e.g. `connection refused`.
fn short_io(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    for needle in [
        "connection refused",
        "connection reset",
        "no route to host",
        "network is unreachable",
        "failed to lookup address",
        "name or service not known",
        "dns error",
        "certificate",
        "tls handshake",
    ] {
        if lower.contains(needle) {
            return format!("{needle} ({detail})");
        }
    }
    detail.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> Endpoint {
        Endpoint::new("ecs", Some("http://127.0.0.1:1"), None)
    }

    #[test]
    fn codes_are_classified() {
        use PortErrorKind::*;
        let cases = [
            ("ServiceNotFoundException", NotFound),
            ("TargetGroupNotFound", NotFound),
            ("ResourceNotFoundException", NotFound),
            ("NoSuchHostedZone", NotFound),
            ("AccessPointNotFound", NotFound),
            ("DBInstanceNotFound", NotFound),
            ("DuplicateTargetGroupName", AlreadyExists),
            ("ResourceExistsException", AlreadyExists),
            ("ResourceAlreadyExistsException", AlreadyExists),
            ("AccessPointAlreadyExists", AlreadyExists),
            ("PriorityInUse", PriorityInUse),
            ("ThrottlingException", Transient),
            ("Throttling", Transient),
            ("TooManyRequestsException", Transient),
            ("ServerException", Transient),
            ("AccessDeniedException", AccessDenied),
            ("AccessDenied", AccessDenied),
            ("UnrecognizedClientException", AccessDenied),
            ("InvalidClientTokenId", AccessDenied),
            ("ExpiredToken", AccessDenied),
            ("SignatureDoesNotMatch", AccessDenied),
            ("ValidationError", InvalidInput),
            ("ValidationException", InvalidInput),
            ("InvalidParameterException", InvalidInput),
            ("InvalidParameterValue", InvalidInput),
            ("ClientException", InvalidInput),
        ];
        for (code, kind) in cases {
            assert_eq!(code_kind(code), Some(kind), "{code}");
        }
        assert_eq!(code_kind("TooManyTargetGroups"), None);
        // An unknown code is not guessed from a 403 (EFS quota errors are 403s).
        let e = service_error(&ep(), "CreateAccessPoint", 403, "AccessPointLimitExceeded", "too many");
        assert_eq!(e.kind, PortErrorKind::Other);
    }

    /// Each service's throttling code (as AWS documents it and the fault
    /// proxy answers it), and 5xx faults, are transient; throttling is
    /// told apart from faults.
    #[test]
    fn throttling_and_faults_of_every_service_are_transient() {
        let throttled = [
            ("ecs", 400, "ThrottlingException"),
            ("secretsmanager", 400, "ThrottlingException"),
            ("logs", 400, "ThrottlingException"),
            ("efs", 429, "ThrottlingException"),
            ("tagging", 400, "ThrottledException"),
            ("elbv2", 400, "Throttling"),
            ("rds", 400, "Throttling"),
            ("sts", 400, "Throttling"),
            ("route53", 400, "Throttling"),
            ("route53", 400, "PriorRequestNotComplete"),
            ("ecs", 429, ""),
        ];
        for (service, status, code) in throttled {
            let e = service_error(&Endpoint::new(service, None, None), "Op", status, code, "Rate exceeded");
            assert_eq!(e.kind, PortErrorKind::Transient, "{service} {code}");
            assert!(e.is_throttling(), "{service} {code}: {e}");
        }
        let faults = [
            (500, "InternalFailure"),
            (503, "ServiceUnavailable"),
            (500, "ServerException"),
            (500, "InternalServiceError"),
            (502, ""),
            (504, "SomethingNew"),
        ];
        for (status, code) in faults {
            let e = service_error(&ep(), "Op", status, code, "");
            assert_eq!(e.kind, PortErrorKind::Transient, "{status} {code}");
            assert!(!e.is_throttling(), "{status} {code}");
        }
    }

    /// The attempt count the interceptor wrote into the final answer is
    /// the error's.
    #[test]
    fn attempts_come_from_the_final_answer() {
        use aws_sdk_ecs::operation::describe_services::DescribeServicesError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let answer = |attempts: Option<&str>| {
            let mut raw = Response::new(StatusCode::try_from(400).expect("status"), SdkBody::from(""));
            if let Some(n) = attempts {
                raw.headers_mut()
                    .insert(super::super::retry::ATTEMPTS_HEADER, n.to_owned());
            }
            let meta = ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build();
            SdkError::service_error(DescribeServicesError::generic(meta), raw)
        };
        let e = sdk_error(&ep(), "DescribeServices", answer(Some("9")));
        assert_eq!((e.kind, e.attempts), (PortErrorKind::Transient, 9));
        assert!(e.is_throttling());
        assert_eq!(sdk_error(&ep(), "DescribeServices", answer(None)).attempts, 0);
    }

    #[test]
    fn status_is_the_fallback() {
        let e = service_error(&ep(), "DescribeServices", 503, "", "");
        assert_eq!(e.kind, PortErrorKind::Transient);
        assert_eq!(e.code, "Http503");
        let e = service_error(&ep(), "DescribeServices", 403, "", "");
        assert_eq!(e.kind, PortErrorKind::AccessDenied);
        assert!(e.message.contains("credentials"), "{}", e.message);
        let e = service_error(&ep(), "CreateRule", 400, "PriorityInUse", "Priority '5' is in use");
        assert_eq!(e.kind, PortErrorKind::PriorityInUse);
        assert_eq!(e.message, "CreateRule: Priority '5' is in use");
    }
}
