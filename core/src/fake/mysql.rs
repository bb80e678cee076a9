//! The MySQL server and its admin connection.

use async_trait::async_trait;

use super::*;

/// What the real implementation accepts as a database or user name; anything
/// else is refused before it could reach SQL.
fn identifier(kind: &str, name: &str) -> PortResult<()> {
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "InvalidIdentifier",
            format!("{kind} name {name:?} must be 1 to 64 characters of [A-Za-z0-9_]"),
        ))
    }
}

fn no_user(op: &str, name: &str) -> PortError {
    PortError::new(
        PortErrorKind::NotFound,
        "ER_CANNOT_USER",
        format!("Operation {op} failed for '{name}'@'%' (1396)"),
    )
}

#[async_trait]
impl MysqlConnector for Port {
    async fn connect(&self, login: &MysqlLogin) -> PortResult<Arc<dyn MysqlAdmin>> {
        let (host, port, user, password) = (&login.host, login.port, &login.user, &login.password);
        self.0
            .call("mysql.Connect", format!("{user}@{host}:{port}"), |s| {
                if !s.mysql.addresses.contains(&(host.clone(), port)) {
                    return Err(PortError::new(
                        PortErrorKind::Transient,
                        "CR_CONN_HOST_ERROR",
                        format!("Can't connect to MySQL server on '{host}:{port}' (2003)"),
                    ));
                }
                let admin_password = if login.cleartext {
                    super::fake_iam_token(host, port, user)
                } else {
                    s.mysql.admin_password.clone()
                };
                let admin =
                    !s.mysql.admin_user.is_empty() && *user == s.mysql.admin_user && *password == admin_password;
                let tenant_user = s.mysql.users.get(user.as_str()).is_some_and(|u| {
                    !u.locked && (u.password == *password || u.retained_password.as_deref() == Some(password))
                });
                if !admin && !tenant_user {
                    return Err(PortError::new(
                        PortErrorKind::AccessDenied,
                        "ER_ACCESS_DENIED_ERROR",
                        format!("Access denied for user '{user}'@'{host}' (using password: YES) (1045)"),
                    ));
                }
                s.mysql.last_ssl_mode = Some(login.tls.mode);
                Ok(())
            })
            .await?;
        Ok(Arc::new(Admin(self.0.clone())))
    }
}

/// An admin connection to the fake server.
struct Admin(Arc<FakeCloud>);

#[async_trait]
impl MysqlAdmin for Admin {
    async fn observe(
        &self,
        databases: &[String],
        users: &[String],
    ) -> PortResult<(Vec<ObservedDatabase>, Vec<ObservedDatabaseUser>)> {
        self.0
            .call(
                "mysql.Observe",
                format!("{} {}", databases.join(","), users.join(",")),
                |s| {
                    let dbs = databases
                        .iter()
                        .filter(|d| s.mysql.databases.contains(*d))
                        .map(|d| ObservedDatabase { name: d.clone() })
                        .collect();
                    let us = users
                        .iter()
                        .filter_map(|u| {
                            s.mysql.users.get(u).map(|x| ObservedDatabaseUser {
                                name: u.clone(),
                                locked: x.locked,
                                max_connections: x.max_connections,
                                old_password_retained: x.retained_password.is_some(),
                            })
                        })
                        .collect();
                    Ok((dbs, us))
                },
            )
            .await
    }

    async fn create_database(&self, name: &str) -> PortResult<()> {
        self.0
            .call("mysql.CreateDatabase", name, |s| {
                identifier("database", name)?;
                if !s.mysql.databases.insert(name.to_owned()) {
                    return Err(exists(
                        "ER_DB_CREATE_EXISTS",
                        format!("Can't create database '{name}'; database exists (1007)"),
                    ));
                }
                Ok(())
            })
            .await
    }

    async fn database_is_empty(&self, name: &str) -> PortResult<bool> {
        self.0
            .call("mysql.DatabaseIsEmpty", name, |s| {
                identifier("database", name)?;
                Ok(s.mysql.tables.get(name).is_none_or(|&n| n == 0))
            })
            .await
    }

    async fn drop_database(&self, name: &str) -> PortResult<()> {
        self.0
            .call("mysql.DropDatabase", name, |s| {
                identifier("database", name)?;
                if !s.mysql.databases.remove(name) {
                    return Err(not_found(
                        "ER_DB_DROP_EXISTS",
                        format!("Can't drop database '{name}'; database doesn't exist (1008)"),
                    ));
                }
                s.mysql.tables.remove(name);
                s.mysql.table_rows.remove(name);
                Ok(())
            })
            .await
    }

    async fn create_user(&self, user: &MysqlUser<'_>, password: &str) -> PortResult<()> {
        let name = user.name;
        self.0
            .call("mysql.CreateUser", name, |s| {
                identifier("user", name)?;
                identifier("database", user.database)?;
                if s.mysql.users.contains_key(name) {
                    return Err(exists(
                        "ER_CANNOT_USER",
                        format!("Operation CREATE USER failed for '{name}'@'%' (1396)"),
                    ));
                }
                s.mysql.users.insert(
                    name.to_owned(),
                    FakeMysqlUser {
                        password: password.to_owned(),
                        retained_password: None,
                        max_connections: user.max_connections,
                        locked: false,
                        grants: [user.database.to_owned()].into(),
                    },
                );
                Ok(())
            })
            .await
    }

    async fn set_password(&self, user: &MysqlUser<'_>, password: &str, retain_old: bool) -> PortResult<PasswordChange> {
        let name = user.name;
        self.0
            .call("mysql.SetPassword", name, |s| {
                identifier("user", name)?;
                identifier("database", user.database)?;
                let dual = retain_old && s.mysql.dual_passwords;
                let u = s.mysql.users.get_mut(name).ok_or_else(|| no_user("ALTER USER", name))?;
                let old = std::mem::replace(&mut u.password, password.to_owned());
                u.retained_password = dual.then_some(old);
                u.max_connections = user.max_connections;
                u.grants.insert(user.database.to_owned());
                Ok(if dual {
                    PasswordChange::OldRetained
                } else {
                    PasswordChange::Replaced
                })
            })
            .await
    }

    async fn discard_old_password(&self, name: &str) -> PortResult<()> {
        self.0
            .call("mysql.DiscardOldPassword", name, |s| {
                identifier("user", name)?;
                let dual = s.mysql.dual_passwords;
                let u = s.mysql.users.get_mut(name).ok_or_else(|| no_user("ALTER USER", name))?;
                if dual {
                    u.retained_password = None;
                }
                Ok(())
            })
            .await
    }

    async fn set_max_connections(&self, name: &str, max_connections: u32) -> PortResult<()> {
        self.0
            .call("mysql.SetMaxConnections", name, |s| {
                identifier("user", name)?;
                s.mysql
                    .users
                    .get_mut(name)
                    .ok_or_else(|| no_user("ALTER USER", name))?
                    .max_connections = max_connections;
                Ok(())
            })
            .await
    }

    async fn set_locked(&self, name: &str, locked: bool) -> PortResult<()> {
        self.0
            .call("mysql.SetLocked", name, |s| {
                identifier("user", name)?;
                s.mysql
                    .users
                    .get_mut(name)
                    .ok_or_else(|| no_user("ALTER USER", name))?
                    .locked = locked;
                Ok(())
            })
            .await
    }

    async fn drop_user(&self, name: &str) -> PortResult<()> {
        self.0
            .call("mysql.DropUser", name, |s| {
                identifier("user", name)?;
                s.mysql
                    .users
                    .remove(name)
                    .map(|_| ())
                    .ok_or_else(|| no_user("DROP USER", name))
            })
            .await
    }

    async fn dump(&self, database: &str, out: tokio::sync::mpsc::Sender<DumpItem>) -> PortResult<()> {
        let tables = self
            .0
            .call("mysql.Dump", database, |s| {
                identifier("database", database)?;
                if !s.mysql.databases.contains(database) {
                    return Err(not_found(
                        "ER_BAD_DB_ERROR",
                        format!("Unknown database '{database}' (1049)"),
                    ));
                }
                Ok(s.mysql.table_rows.get(database).cloned().unwrap_or_default())
            })
            .await?;
        let gone = || PortError::new(PortErrorKind::Other, "DumpFailed", "dump: the dump's consumer stopped");
        let names = tables.keys().cloned().collect();
        out.send(DumpItem::Tables(names)).await.map_err(|_| gone())?;
        for (table, statements) in tables {
            let drop = format!("DROP TABLE IF EXISTS `{table}`");
            out.send(DumpItem::Statement(drop)).await.map_err(|_| gone())?;
            let rows = statements.len().saturating_sub(1) as u64;
            for s in statements {
                out.send(DumpItem::Statement(s)).await.map_err(|_| gone())?;
            }
            out.send(DumpItem::TableDone { table, rows })
                .await
                .map_err(|_| gone())?;
        }
        Ok(())
    }

    /// Runs a dump's statements: `DROP TABLE IF EXISTS`, `CREATE TABLE`
    /// and one-row `INSERT`s (what the fake's own dump writes), by the
    /// table name each names.
    async fn load(&self, database: &str, statements: &[String]) -> PortResult<()> {
        self.0
            .call("mysql.Load", database, |s| {
                identifier("database", database)?;
                if !s.mysql.databases.contains(database) {
                    return Err(not_found(
                        "ER_BAD_DB_ERROR",
                        format!("Unknown database '{database}' (1049)"),
                    ));
                }
                let mut tables = s.mysql.table_rows.get(database).cloned().unwrap_or_default();
                for statement in statements {
                    load_one(&mut tables, statement)?;
                }
                s.mysql.tables.insert(database.to_owned(), tables.len() as u32);
                s.mysql.table_rows.insert(database.to_owned(), tables);
                Ok(())
            })
            .await
    }
}

/// One statement of a dump, on the tables of one database.
fn load_one(tables: &mut BTreeMap<String, Vec<String>>, statement: &str) -> PortResult<()> {
    let start = crate::mysql::is_dump_statement(statement)
        .then(|| statement.find('`'))
        .flatten()
        .ok_or_else(|| invalid("ER_PARSE_ERROR", "SQL syntax error"))?;
    let name = statement[start + 1..].split('`').next().unwrap_or_default().to_owned();
    if statement.starts_with("DROP") {
        tables.remove(&name);
    } else if statement.starts_with("CREATE") {
        if tables.contains_key(&name) {
            return Err(exists(
                "ER_TABLE_EXISTS_ERROR",
                format!("Table '{name}' already exists (1050)"),
            ));
        }
        tables.insert(name, vec![statement.to_owned()]);
    } else {
        tables
            .get_mut(&name)
            .ok_or_else(|| not_found("ER_NO_SUCH_TABLE", format!("Table '{name}' doesn't exist (1146)")))?
            .push(statement.to_owned());
    }
    Ok(())
}
