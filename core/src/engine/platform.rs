//! The platform's shared things, resolved once per engine: the load
//! balancer and database endpoint (`PlatformFacts`) and the MySQL admin
//! connection.

use std::sync::Arc;

use super::Engine;
use crate::error::{CoreError, PartOrPlatform};
use crate::parts::PlatformFacts;
use crate::ports::{MysqlAdmin, PortErrorKind};

impl Engine {
    /// The load balancer and database endpoint, resolved once per engine.
    pub async fn facts(&self) -> Result<&PlatformFacts, CoreError> {
        self.facts
            .get_or_try_init(|| async {
                let p = &self.platform;
                let lb = self.ports.elbv2.load_balancer_of_listener(&p.listener_arn);
                let db = self.database_endpoint();
                let ((dns, zone), (host, port)) = futures::try_join!(
                    async {
                        lb.await.map_err(|e| match e.kind {
                            PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                                setting: "listener_arn",
                                message: format!(
                                    "listener {:?} was not found ({e}); set listener_arn to the ARN of the environment's shared HTTPS listener (aws elbv2 describe-listeners)",
                                    p.listener_arn
                                ),
                            },
                            _ => CoreError::port(PartOrPlatform::Platform, "DescribeListeners", e),
                        })
                    },
                    db
                )?;
                Ok(PlatformFacts {
                    load_balancer_dns_name: dns,
                    load_balancer_zone_id: zone,
                    database_host: host,
                    database_port: port,
                })
            })
            .await
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

    /// The MySQL admin connection, opened once with the admin secret.
    pub(super) async fn mysql(&self) -> Result<&Arc<dyn MysqlAdmin>, CoreError> {
        self.mysql
            .get_or_try_init(|| async {
                let facts = self.facts().await?;
                let arn = &self.platform.database.admin_secret_arn;
                let raw = self.ports.secrets.get_secret_value(arn).await.map_err(|e| match e.kind {
                    PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                        setting: "database.admin_secret_arn",
                        message: format!("the admin secret {arn:?} could not be read ({e}); it must hold JSON {{\"username\",\"password\"}} of the MySQL admin"),
                    },
                    _ => CoreError::port(PartOrPlatform::Platform, "GetSecretValue", e),
                })?;
                #[derive(serde::Deserialize)]
                struct Admin {
                    username: String,
                    password: String,
                }
                let admin: Admin = serde_json::from_str(&raw).map_err(|_| CoreError::Platform {
                    setting: "database.admin_secret_arn",
                    message: format!("the admin secret {arn:?} is not JSON with \"username\" and \"password\""),
                })?;
                self.ports
                    .mysql
                    .connect(&facts.database_host, facts.database_port, &admin.username, &admin.password)
                    .await
                    .map_err(|e| CoreError::Platform {
                        setting: "database",
                        message: format!(
                            "cannot administer MySQL at {}:{} as {:?}: {e}. Check database.host/port (or the RDS endpoint) and the credentials in database.admin_secret_arn",
                            facts.database_host, facts.database_port, admin.username
                        ),
                    })
            })
            .await
    }
}
