//! The platform's shared things, resolved once per engine: the load
//! balancer and database endpoint (`PlatformFacts`) and the MySQL admin
//! connection.

use std::sync::Arc;

use super::Engine;
use crate::error::{CoreError, PartOrPlatform};
use crate::parts::{ListenerFacts, PlatformFacts};
use crate::ports::{MysqlAdmin, PortError, PortErrorKind};

impl Engine {
    /// Each pool listener's load balancer, and the database endpoint,
    /// resolved once per engine.
    pub async fn facts(&self) -> Result<&PlatformFacts, CoreError> {
        self.facts
            .get_or_try_init(|| async {
                let p = &self.platform;
                let (listeners, (host, port)) =
                    futures::try_join!(self.pool_facts(&p.listener_arns), self.database_endpoint())?;
                Ok(PlatformFacts {
                    listeners,
                    database_host: host,
                    database_port: port,
                })
            })
            .await
    }

    /// The pool's load balancers, asked together; when that fails for a
    /// missing listener, asked one by one to name it.
    async fn pool_facts(&self, listener_arns: &[String]) -> Result<Vec<ListenerFacts>, CoreError> {
        if listener_arns.len() > 1 {
            match self.ports.elbv2.load_balancers_of_listeners(listener_arns).await {
                Ok(facts) => return Ok(facts),
                Err(e) if !matches!(e.kind, PortErrorKind::NotFound | PortErrorKind::InvalidInput) => {
                    return Err(CoreError::port(PartOrPlatform::Platform, "DescribeListeners", e));
                }
                Err(_) => {}
            }
        }
        futures::future::try_join_all(listener_arns.iter().map(|l| self.listener_facts(l))).await
    }

    /// One listener's load balancer; a missing one names the setting.
    async fn listener_facts(&self, listener_arn: &str) -> Result<ListenerFacts, CoreError> {
        let setting = if self.platform.listener_arns.len() > 1 {
            "listener_arns"
        } else {
            "listener_arn"
        };
        self.ports
            .elbv2
            .load_balancer_of_listener(listener_arn)
            .await
            .map_err(|e| match e.kind {
                PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                    setting,
                    message: format!(
                        "listener {listener_arn:?} was not found ({e}); set {setting} to the ARN of the environment's shared HTTPS listener (aws elbv2 describe-listeners)"
                    ),
                },
                _ => CoreError::port(PartOrPlatform::Platform, "DescribeListeners", e),
            })
    }

    /// Plan time: that `alarm_topic_arn`, when set, names a topic that
    /// exists. CloudWatch accepts an alarm to any well-formed topic ARN,
    /// so a mistyped or deleted topic would silence every alarm unseen.
    /// Asked once per engine while it answers yes.
    pub async fn check_alarm_topic(&self) -> Result<(), CoreError> {
        let Some(topic) = &self.platform.alarm_topic_arn else {
            return Ok(());
        };
        self.alarm_topic
            .get_or_try_init(|| async {
                match self.ports.topics.topic_exists(topic).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(CoreError::Platform {
                        setting: "alarm_topic_arn",
                        message: format!(
                            "SNS topic {topic:?} does not exist; create it (aws sns create-topic) or set alarm_topic_arn to the environment's alarm topic"
                        ),
                    }),
                    Err(e) => Err(CoreError::port(PartOrPlatform::Platform, "GetTopicAttributes", e)),
                }
            })
            .await
            .copied()
    }

    async fn database_endpoint(&self) -> Result<(String, u16), CoreError> {
        let db = &self.platform.database;
        if let (Some(host), Some(port)) = (&db.host, db.port) {
            return Ok((host.clone(), port));
        }
        let (host, port) = self
            .ports
            .rds
            .instance_endpoint(&db.instance_identifier)
            .await
            .map_err(|e| match e.kind {
                PortErrorKind::NotFound => CoreError::Platform {
                    setting: "database.instance_identifier",
                    message: format!(
                        "RDS instance {:?} was not found ({e}); set it to the identifier of the environment's shared MySQL instance, or set database.host and database.port",
                        db.instance_identifier
                    ),
                },
                _ => CoreError::port(PartOrPlatform::Platform, "DescribeDBInstances", e),
            })?;
        Ok((db.host.clone().unwrap_or(host), db.port.unwrap_or(port)))
    }

    /// The MySQL admin connection, opened once with the admin secret (or
    /// an IAM token).
    pub(super) async fn mysql(&self) -> Result<&Arc<dyn MysqlAdmin>, CoreError> {
        self.mysql
            .get_or_try_init(|| async {
                let facts = self.facts().await?;
                let db = &self.platform.database;
                let login = match db.admin_auth {
                    crate::spec::AdminAuth::Password => {
                        let admin = self.admin_secret().await?;
                        db.login(
                            &facts.database_host,
                            facts.database_port,
                            &admin.username,
                            &admin.password,
                        )
                    }
                    crate::spec::AdminAuth::Iam => self.iam_login(&facts.database_host, facts.database_port).await?,
                };
                self.ports
                    .mysql
                    .connect(&login)
                    .await
                    .map_err(|e| mysql_connect_error(&login, &e))
            })
            .await
    }

    /// The admin's `{"username","password"}` from `database.admin_secret_arn`.
    async fn admin_secret(&self) -> Result<AdminCredentials, CoreError> {
        let arn = &self.platform.database.admin_secret_arn;
        let raw = self.ports.secrets.get_secret_value(arn).await.map_err(|e| match e.kind {
            PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                setting: "database.admin_secret_arn",
                message: format!("the admin secret {arn:?} could not be read ({e}); it must hold JSON {{\"username\",\"password\"}} of the MySQL admin"),
            },
            _ => CoreError::port(PartOrPlatform::Platform, "GetSecretValue", e),
        })?;
        serde_json::from_str(&raw).map_err(|_| CoreError::Platform {
            setting: "database.admin_secret_arn",
            message: format!("the admin secret {arn:?} is not JSON with \"username\" and \"password\""),
        })
    }

    /// An RDS IAM login: the user from `database.admin_username` (else the
    /// admin secret's), a fresh token as its password.
    async fn iam_login(&self, host: &str, port: u16) -> Result<crate::ports::MysqlLogin, CoreError> {
        let db = &self.platform.database;
        let user = match &db.admin_username {
            Some(u) => u.clone(),
            None if !db.admin_secret_arn.is_empty() => self.admin_secret().await?.username,
            None => {
                return Err(CoreError::Platform {
                    setting: "database.admin_username",
                    message: "admin_auth = \"iam\" needs the MySQL user to log in as: set database.admin_username"
                        .into(),
                });
            }
        };
        let token = self
            .ports
            .rds
            .auth_token(host, port, &user)
            .await
            .map_err(|e| CoreError::Platform {
                setting: "database.admin_auth",
                message: format!("could not sign an RDS IAM authentication token for {user:?}: {e}"),
            })?;
        let mut login = db.login(host, port, &user, &token);
        login.cleartext = true;
        Ok(login)
    }
}

/// The admin's credentials in `database.admin_secret_arn`.
#[derive(serde::Deserialize)]
struct AdminCredentials {
    username: String,
    password: String,
}

/// A failed admin login, as a diagnostic naming the setting to fix.
fn mysql_connect_error(login: &crate::ports::MysqlLogin, e: &PortError) -> CoreError {
    let (host, port, user) = (&login.host, login.port, &login.user);
    let (setting, advice) = match e.code.as_str() {
        "TlsHandshakeFailed" => (
            "database.ssl_ca",
            "pass the CA that signed the server's certificate in database.ssl_ca (PEM text; for RDS the AWS global bundle, ssl_ca = file(\"global-bundle.pem\")), or the host name the certificate names in database.host",
        ),
        "PlaintextPasswordWithoutTls" | "CleartextWithoutVerifiedTls" | "ER_SECURE_TRANSPORT_REQUIRED" => (
            "database.ssl_mode",
            "use TLS: database.ssl_mode = \"VERIFY_IDENTITY\" (the default)",
        ),
        _ => (
            "database",
            "check database.host/port (or the RDS endpoint) and the credentials in database.admin_secret_arn",
        ),
    };
    CoreError::Platform {
        setting,
        message: format!("cannot administer MySQL at {host}:{port} as {user:?}: {e}. To fix: {advice}"),
    }
}
