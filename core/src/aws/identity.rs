//! As whom bbws calls AWS: an assumed role, and the account guard.
//!
//! The role is assumed by the SDK's own assume-role provider with the
//! chain's credentials (profile, environment, SSO, instance role), through
//! the `sts` endpoint override when one is set. Its failures are wrapped in
//! [`AssumeRoleFailed`], so that whatever call first needs the credentials
//! says which setting to fix rather than "no credentials".

use std::error::Error as StdError;
use std::fmt;

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

use super::{AssumeRole, AwsSettings, DEFAULT_SESSION_NAME};
use crate::error::{CoreError, PartOrPlatform};
use crate::ports::StsApi;

/// The SDK configuration `cfg` with the credentials of `role`.
pub(super) async fn assume_role(
    cfg: aws_config::SdkConfig,
    role: &AssumeRole,
    settings: &AwsSettings,
) -> aws_config::SdkConfig {
    // The STS client of the provider is built from the configuration it is
    // given: the `sts` override must be in it.
    let sts_cfg = match settings.endpoints.get("sts").filter(|u| !u.trim().is_empty()) {
        Some(url) => cfg.to_builder().endpoint_url(url.clone()).build(),
        None => cfg.clone(),
    };
    let mut b = AssumeRoleProvider::builder(role.role_arn.clone())
        .session_name(role.session_name.as_deref().unwrap_or(DEFAULT_SESSION_NAME))
        .configure(&sts_cfg);
    if let Some(id) = &role.external_id {
        b = b.external_id(id.clone());
    }
    let provider = AssumedRole {
        inner: b.build().await,
        role_arn: role.role_arn.clone(),
    };
    cfg.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// The SDK's assume-role provider, whose failures name the role.
#[derive(Debug)]
struct AssumedRole {
    inner: AssumeRoleProvider,
    role_arn: String,
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.inner.provide_credentials().await.map_err(|e| {
                CredentialsError::provider_error(AssumeRoleFailed {
                    role_arn: self.role_arn.clone(),
                    detail: super::error::chain(&e),
                })
            })
        })
    }
}

/// The role of `assume_role.role_arn` could not be assumed.
#[derive(Debug)]
pub(crate) struct AssumeRoleFailed {
    /// The role.
    pub role_arn: String,
    /// What STS (or the chain's credentials) said.
    pub detail: String,
}

impl fmt::Display for AssumeRoleFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if super::error::EXPIRED.iter().any(|c| self.detail.contains(c)) {
            return write!(
                f,
                "could not assume the role {} (provider setting assume_role.role_arn): the source credentials have expired ({}). Get fresh ones and run again: `aws sso login` for an SSO profile (AWS_PROFILE or the provider's `profile`), or a new AWS_SESSION_TOKEN with its keys",
                self.role_arn, self.detail
            );
        }
        write!(
            f,
            "could not assume the role {} (provider setting assume_role.role_arn): {}. Check that the role exists, that its trust policy lets the identity of the AWS credentials chain (profile, environment, SSO, instance role) call sts:AssumeRole on it, and that assume_role.external_id is what the trust policy's sts:ExternalId condition expects",
            self.role_arn, self.detail
        )
    }
}

impl StdError for AssumeRoleFailed {}

/// The account id of an ARN (`arn:aws:sts::123456789012:assumed-role/…`).
pub fn account_of(arn: &str) -> Option<&str> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// The guard of `allowed_account_ids`, and the early check of
/// `assume_role`: asks STS who the caller is when either is set (no call
/// otherwise) and returns the caller's ARN.
///
/// Errors are [`CoreError::Platform`] naming the setting: the account is
/// not allowed (expected and actual account), or the role could not be
/// assumed. Other failures (no or expired credentials, an unreachable
/// endpoint) are the port's error.
pub async fn verify_identity(settings: &AwsSettings, sts: &dyn StsApi) -> Result<Option<String>, CoreError> {
    if settings.allowed_account_ids.is_empty() && settings.assume_role.is_none() {
        return Ok(None);
    }
    let arn = match sts.caller_arn().await {
        Ok(arn) => arn,
        Err(e) if e.code == super::error::ASSUME_ROLE_FAILED => {
            return Err(CoreError::Platform {
                setting: "assume_role.role_arn",
                message: e.message,
            });
        }
        Err(e) => return Err(CoreError::port(PartOrPlatform::Platform, "GetCallerIdentity", e)),
    };
    if settings.allowed_account_ids.is_empty() {
        return Ok(Some(arn));
    }
    let actual = account_of(&arn).unwrap_or("(unknown)");
    if settings.allowed_account_ids.iter().any(|a| a == actual) {
        return Ok(Some(arn));
    }
    let via = match &settings.assume_role {
        Some(r) => format!(" (assumed role {})", r.role_arn),
        None => String::new(),
    };
    Err(CoreError::Platform {
        setting: "allowed_account_ids",
        message: format!(
            "the AWS credentials are in account {actual}{via}, caller {arn}, but allowed_account_ids allows only {}. Nothing was changed. Use the credentials of an allowed account (AWS_PROFILE or the provider's `profile`, or assume_role.role_arn), or, if {actual} is the account this configuration is meant for, add it to allowed_account_ids",
            settings.allowed_account_ids.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeCloud;

    fn settings(allowed: &[&str]) -> AwsSettings {
        AwsSettings {
            allowed_account_ids: allowed.iter().map(|s| (*s).to_owned()).collect(),
            ..AwsSettings::default()
        }
    }

    #[test]
    fn account_is_the_fifth_field() {
        assert_eq!(
            account_of("arn:aws:sts::536580886816:assumed-role/deployer/bbws"),
            Some("536580886816")
        );
        assert_eq!(account_of("arn:aws:iam::123456789012:user/x"), Some("123456789012"));
        assert_eq!(account_of("arn:aws:iam::12345:user/x"), None);
        assert_eq!(account_of("not an arn"), None);
    }

    #[tokio::test]
    async fn no_guard_no_call() {
        let cloud = FakeCloud::new();
        let ports = cloud.ports();
        assert_eq!(
            verify_identity(&settings(&[]), ports.sts.as_ref()).await.ok(),
            Some(None)
        );
        assert!(cloud.calls_to("sts.GetCallerIdentity").is_empty());
    }

    #[tokio::test]
    async fn allowed_account_passes_and_another_fails_naming_both() {
        let cloud = FakeCloud::new();
        let ports = cloud.ports();
        let caller = crate::fake::CALLER_ARN;
        let own = account_of(caller).expect("the fake caller has an account");
        let ok = verify_identity(&settings(&["999999999999", own]), ports.sts.as_ref()).await;
        assert_eq!(ok.ok(), Some(Some(caller.to_owned())));
        let err = verify_identity(&settings(&["536580886816"]), ports.sts.as_ref()).await;
        match err {
            Err(CoreError::Platform { setting, message }) => {
                assert_eq!(setting, "allowed_account_ids");
                assert!(message.contains(own) && message.contains("536580886816"), "{message}");
            }
            other => panic!("expected a platform error, got {other:?}"),
        }
    }
}
