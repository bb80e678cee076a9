//! Secrets Manager.

use async_trait::async_trait;

use super::*;

const NOT_FOUND: &str = "ResourceNotFoundException";
const INVALID_REQUEST: &str = "InvalidRequestException";
const MARKED_FOR_DELETION: &str = "You can't perform this operation on the secret because it was marked for deletion.";

/// A new ARN for the secret `name`: AWS appends `-` and six random characters.
pub(super) fn secret_arn(s: &mut FakeState, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut n = u64::from_str_radix(&s.hex(16), 16).unwrap_or_default();
    let mut suffix = String::new();
    for _ in 0..6 {
        suffix.push(ALPHABET[(n % ALPHABET.len() as u64) as usize] as char);
        n /= ALPHABET.len() as u64;
    }
    format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}-{suffix}")
}

fn valid_secret_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

impl FakeState {
    /// The secret by name, full ARN or partial ARN (without the suffix).
    fn secret_key(&self, id: &str) -> Option<String> {
        if self.secrets.contains_key(id) {
            return Some(id.to_owned());
        }
        self.secrets
            .values()
            .find(|s| s.arn == id || s.arn.rsplit_once('-').is_some_and(|(partial, _)| partial == id))
            .map(|s| s.name.clone())
    }

    fn secret_mut(&mut self, id: &str) -> PortResult<&mut FakeSecret> {
        let key = self
            .secret_key(id)
            .ok_or_else(|| not_found(NOT_FOUND, "Secrets Manager can't find the specified secret."))?;
        self.secrets
            .get_mut(&key)
            .ok_or_else(|| not_found(NOT_FOUND, "Secrets Manager can't find the specified secret."))
    }

    fn live_secret_mut(&mut self, id: &str) -> PortResult<&mut FakeSecret> {
        let secret = self.secret_mut(id)?;
        if secret.pending_deletion {
            return Err(invalid(INVALID_REQUEST, MARKED_FOR_DELETION));
        }
        Ok(secret)
    }
}

impl FakeSecret {
    fn observe(&self) -> ObservedSecret {
        ObservedSecret {
            arn: self.arn.clone(),
            name: self.name.clone(),
            tags: self.tags.clone(),
            pending_deletion: self.pending_deletion,
            description: self.description.clone(),
        }
    }
}

fn check_value(value: &str) -> PortResult<()> {
    if value.is_empty() || value.len() > 65_536 {
        return Err(invalid(
            "InvalidParameterException",
            "SecretString must be 1 to 65536 bytes",
        ));
    }
    Ok(())
}

#[async_trait]
impl SecretsApi for Port {
    async fn describe_secret(&self, name: &str) -> PortResult<Option<ObservedSecret>> {
        self.0
            .call("secrets.DescribeSecret", name, |s| {
                Ok(s.secret_key(name)
                    .and_then(|k| s.secrets.get(&k))
                    .map(FakeSecret::observe))
            })
            .await
    }

    async fn list_secrets(&self, prefix: &str) -> PortResult<Vec<ObservedSecret>> {
        self.0
            .call("secrets.ListSecrets", prefix, |s| {
                Ok(s.secrets
                    .values()
                    .filter(|x| x.name.starts_with(prefix))
                    .map(FakeSecret::observe)
                    .collect())
            })
            .await
    }

    async fn create_secret(&self, spec: &SecretSpec, value: &str) -> PortResult<ObservedSecret> {
        self.0
            .call("secrets.CreateSecret", spec.name.clone(), |s| {
                if !valid_secret_name(&spec.name) {
                    return Err(invalid("ValidationException", format!("invalid secret name {:?}", spec.name)));
                }
                check_value(value)?;
                check_tags(&spec.tags, "ValidationException")?;
                match s.secrets.get(&spec.name) {
                    Some(existing) if existing.pending_deletion => {
                        return Err(exists(
                            INVALID_REQUEST,
                            "You can't create this secret because a secret with this name is already scheduled for deletion.",
                        ));
                    }
                    // Like Secrets Manager: the same ClientRequestToken and
                    // value again is the same request, answered with the
                    // secret it made.
                    Some(existing)
                        if s.made_with_token("secrets.CreateSecret", spec.client_token.as_ref())
                            == Some(&spec.name)
                            && existing.value == value =>
                    {
                        return Ok(existing.observe());
                    }
                    Some(_) => {
                        return Err(exists(
                            "ResourceExistsException",
                            format!("The operation failed because the secret {} already exists.", spec.name),
                        ));
                    }
                    None => {}
                }
                let arn = secret_arn(s, &spec.name);
                let secret = FakeSecret {
                    arn,
                    name: spec.name.clone(),
                    value: value.to_owned(),
                    tags: spec.tags.clone(),
                    pending_deletion: false,
                    description: Some(spec.description.clone()),
                };
                let observed = secret.observe();
                s.secrets.insert(spec.name.clone(), secret);
                s.remember_token("secrets.CreateSecret", spec.client_token.as_ref(), spec.name.clone());
                Ok(observed)
            })
            .await
    }

    async fn get_secret_value(&self, arn: &str) -> PortResult<String> {
        self.0
            .call("secrets.GetSecretValue", arn, |s| {
                Ok(s.live_secret_mut(arn)?.value.clone())
            })
            .await
    }

    async fn put_secret_value(&self, arn: &str, value: &str) -> PortResult<()> {
        self.0
            .call("secrets.PutSecretValue", arn, |s| {
                check_value(value)?;
                s.live_secret_mut(arn)?.value = value.to_owned();
                Ok(())
            })
            .await
    }

    async fn delete_secret(&self, arn: &str, recovery_window_days: u32) -> PortResult<()> {
        self.0
            .call("secrets.DeleteSecret", arn, |s| {
                if recovery_window_days == 0 {
                    // ForceDeleteWithoutRecovery: allowed even while pending.
                    let name = s.secret_mut(arn)?.name.clone();
                    s.secrets.remove(&name);
                    return Ok(());
                }
                if !(7..=30).contains(&recovery_window_days) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!("RecoveryWindowInDays {recovery_window_days} must be 7 to 30 (or 0: delete without recovery)"),
                    ));
                }
                // Scheduling again what is scheduled changes nothing (a
                // retry after a lost answer); AWS's refusal is the port's
                // to absorb, so the fake answers as the port does.
                s.secret_mut(arn)?.pending_deletion = true;
                Ok(())
            })
            .await
    }

    async fn restore_secret(&self, arn: &str) -> PortResult<()> {
        self.0
            .call("secrets.RestoreSecret", arn, |s| {
                s.secret_mut(arn)?.pending_deletion = false;
                Ok(())
            })
            .await
    }

    async fn set_description(&self, arn: &str, description: &str) -> PortResult<()> {
        self.0
            .call("secrets.UpdateSecret", arn, |s| {
                s.live_secret_mut(arn)?.description = Some(description.to_owned());
                Ok(())
            })
            .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.0
            .call("secrets.TagResource", arn, |s| {
                let secret = s.live_secret_mut(arn)?;
                secret.tags = merged_tags(&secret.tags, tags, "ValidationException")?;
                Ok(())
            })
            .await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.0
            .call("secrets.UntagResource", arn, |s| {
                let secret = s.live_secret_mut(arn)?;
                untagged(&mut secret.tags, keys, "ValidationException")
            })
            .await
    }
}
