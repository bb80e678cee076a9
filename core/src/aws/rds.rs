//! RDS: where the shared MySQL server is.

use async_trait::async_trait;
use aws_sdk_rds::Client;

use super::error::{Endpoint, on};
use crate::ports::{PortError, PortErrorKind, PortResult, RdsApi};

/// [`RdsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsRds {
    client: Client,
    ep: Endpoint,
    /// The shared chain's credentials, which sign IAM tokens.
    credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
}

impl AwsRds {
    pub(crate) fn new(
        client: Client,
        ep: Endpoint,
        credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
    ) -> Self {
        AwsRds {
            client,
            ep,
            credentials,
        }
    }
}

#[async_trait]
impl RdsApi for AwsRds {
    async fn instance_endpoint(&self, identifier: &str) -> PortResult<(String, u16)> {
        let op = "DescribeDBInstances";
        let r = self
            .client
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let not_found = || {
            PortError::new(
                PortErrorKind::NotFound,
                "DBInstanceNotFound",
                format!("{op}: DB instance {identifier} not found"),
            )
        };
        let db = r.db_instances().first().ok_or_else(not_found)?;
        let ep = db.endpoint().ok_or_else(|| {
            PortError::new(
                PortErrorKind::Transient,
                "EndpointNotReady",
                format!(
                    "{op}: DB instance {identifier} has no endpoint yet (status {})",
                    db.db_instance_status().unwrap_or("unknown")
                ),
            )
        })?;
        let host = ep.address().unwrap_or_default().to_string();
        let port = ep.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(3306);
        if host.is_empty() {
            return Err(PortError::new(
                PortErrorKind::Transient,
                "EndpointNotReady",
                format!("{op}: DB instance {identifier} has no address yet"),
            ));
        }
        Ok((host, port))
    }

    async fn auth_token(&self, host: &str, port: u16, user: &str) -> PortResult<String> {
        use aws_credential_types::provider::ProvideCredentials as _;
        let config = self.client.config();
        let region = config.region().map(ToString::to_string).ok_or_else(|| {
            PortError::new(
                PortErrorKind::InvalidInput,
                "NoRegion",
                "an RDS IAM token is signed for a region: set the provider's region",
            )
        })?;
        let provider = self.credentials.as_ref().ok_or_else(|| {
            PortError::new(
                PortErrorKind::AccessDenied,
                "NoCredentials",
                "an RDS IAM token needs AWS credentials, and the AWS chain found none",
            )
        })?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            PortError::new(
                PortErrorKind::AccessDenied,
                "CredentialsNotLoaded",
                format!("AWS credentials for the RDS IAM token: {e}"),
            )
        })?;
        presigned_token(&credentials, &region, host, port, user, std::time::SystemTime::now())
    }
}

/// How long an RDS IAM token is valid (the most RDS accepts).
const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(900);

/// The RDS IAM authentication token: the URL
/// `https://{host}:{port}/?Action=connect&DBUser={user}` presigned with
/// SigV4 for the service `rds-db`, without its scheme.
fn presigned_token(
    credentials: &aws_credential_types::Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    now: std::time::SystemTime,
) -> PortResult<String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
    let failed = |e: &dyn std::fmt::Display| {
        PortError::new(
            PortErrorKind::Other,
            "TokenSigningFailed",
            format!("signing the RDS IAM token: {e}"),
        )
    };
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let mut url = url_encoded_query(host, port, user);
    let signable =
        SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[])).map_err(|e| failed(&e))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| failed(&e))?.into_parts();
    let mut request = http::Request::builder().uri(&url).body(()).map_err(|e| failed(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    url = request.uri().to_string();
    Ok(url.trim_start_matches("https://").to_owned())
}

fn url_encoded_query(host: &str, port: u16, user: &str) -> String {
    let user: String = url_escape(user);
    format!("https://{host}:{port}/?Action=connect&DBUser={user}")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token has the shape AWS documents for `generate-db-auth-token`:
    /// `host:port/?Action=connect&DBUser=…&X-Amz-Algorithm=AWS4-HMAC-SHA256
    /// &X-Amz-Credential=AKID/yyyymmdd/region/rds-db/aws4_request
    /// &X-Amz-Date=…&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=…`.
    #[test]
    fn the_token_is_a_presigned_connect_url() {
        let credentials = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000); // 2023-11-14T22:13:20Z
        let token = presigned_token(
            &credentials,
            "eu-west-1",
            "db.example.rds.amazonaws.com",
            3306,
            "bbws_admin",
            at,
        )
        .expect("token");
        let (head, query) = token.split_once("/?").expect("a query");
        assert_eq!(head, "db.example.rds.amazonaws.com:3306");
        let params: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(get("Action"), Some("connect"));
        assert_eq!(get("DBUser"), Some("bbws_admin"));
        assert_eq!(get("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        assert_eq!(
            get("X-Amz-Credential"),
            Some("AKIDEXAMPLE%2F20231114%2Feu-west-1%2Frds-db%2Faws4_request")
        );
        assert_eq!(get("X-Amz-Date"), Some("20231114T221320Z"));
        assert_eq!(get("X-Amz-Expires"), Some("900"));
        assert_eq!(get("X-Amz-SignedHeaders"), Some("host"));
        let signature = get("X-Amz-Signature").expect("signed");
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!token.contains("secret"));
    }
}
