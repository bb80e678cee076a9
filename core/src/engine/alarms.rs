//! The tenant's alarms: put after the service (whose `bbws:alarms` tag,
//! written first, tells observation they exist), deleted before the
//! marker goes. Alarms are found by name; one under the tenant's name
//! whose description lacks the tenant's owner line is someone else's and
//! is never overwritten.

use super::apply::Run;
use super::rollback::Created;
use super::{Engine, StepFailure, StepResult, fail};
use crate::error::CoreError;
use crate::naming::{TAG_ALARMS, TAG_ALARMS_ON};
use crate::observed::ObservedTenant;
use crate::parts::{DesiredTenant, Part, Tags};
use crate::plan::PartAction;
use crate::ports::AlarmDefinition;

impl Run<'_> {
    /// Converges the alarms as the plan says.
    pub(super) async fn alarms_stage(&self, desired: &DesiredTenant) -> StepResult<()> {
        let action = self.action(Part::Alarms).clone();
        match (&action, &desired.alarms) {
            (PartAction::Delete, _) => self
                .engine
                .delete_alarms(self.observed)
                .await
                .map_err(|error| StepFailure {
                    step: "delete alarms".into(),
                    part: Part::Alarms,
                    error,
                }),
            (PartAction::Create | PartAction::Update(_), Some(want)) => {
                let create = action == PartAction::Create;
                let defined = want.definitions(&desired.service.target_group_arn);
                if create {
                    self.refuse_foreign_alarms(&defined).await?;
                }
                self.mark_alarms().await?;
                if create {
                    self.record(Created::Alarms(want.names.to_vec()));
                }
                self.put_alarms(&defined, &want.tags, create).await
            }
            _ => Ok(()),
        }
    }

    /// Before the first put: no alarm of these names may exist that is
    /// not the tenant's (`PutMetricAlarm` would overwrite it).
    async fn refuse_foreign_alarms(&self, defined: &[AlarmDefinition]) -> StepResult<()> {
        let names: Vec<String> = defined.iter().map(|a| a.name.clone()).collect();
        let found = (self.ports().alarms.describe_alarms(&names).await).map_err(fail(
            "create",
            Part::Alarms,
            "DescribeAlarms",
        ))?;
        let owner = crate::naming::alarm_owner_line(self.spec.platform.environment, &self.spec.tenant_id);
        match found.iter().find(|a| !a.definition.description.starts_with(&owner)) {
            Some(a) => Err(StepFailure {
                step: "create alarms".into(),
                part: Part::Alarms,
                error: CoreError::NotOwned {
                    part: Part::Alarms,
                    name: a.definition.name.clone(),
                    tenant_id: self.spec.tenant_id.clone(),
                    found: "an alarm bbws did not make for this tenant (its description lacks the owner line)".into(),
                },
            }),
            None => Ok(()),
        }
    }

    /// The service's marker, unless it has it.
    async fn mark_alarms(&self) -> StepResult<()> {
        let found = (self.observed.service.as_ref()).filter(|s| s.tags.contains_key(TAG_ALARMS));
        if found.is_some() {
            return Ok(());
        }
        let arn = self.service_arn(Part::Alarms).await?;
        let tags = Tags::from([(TAG_ALARMS.to_owned(), TAG_ALARMS_ON.to_owned())]);
        (self.ports().ecs.tag_resource(&arn, &tags).await).map_err(fail("update", Part::Service, "TagResource"))
    }

    /// Puts each alarm that is missing or not as defined (all of them on a
    /// create).
    async fn put_alarms(&self, defined: &[AlarmDefinition], tags: &Tags, create: bool) -> StepResult<()> {
        let step = if create { "create" } else { "update" };
        for a in defined {
            let as_is = self.observed.alarms.iter().any(|o| o.is(a));
            if create || !as_is {
                (self.ports().alarms.put_alarm(a, tags).await).map_err(fail(step, Part::Alarms, "PutMetricAlarm"))?;
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Deletes the tenant's alarms, then the service's marker: what
    /// unsetting `alarm_topic_arn` and destroying do.
    pub(super) async fn delete_alarms(&self, observed: &ObservedTenant) -> Result<(), CoreError> {
        let names: Vec<String> = observed.alarms.iter().map(|a| a.definition.name.clone()).collect();
        if !names.is_empty() {
            (self.ports.alarms.delete_alarms(&names).await)
                .map_err(|e| CoreError::port(Part::Alarms, "DeleteAlarms", e))?;
        }
        if let Some(s) = observed.service.as_ref().filter(|s| s.tags.contains_key(TAG_ALARMS)) {
            let keys = [TAG_ALARMS.to_owned()];
            super::ignore_not_found(self.ports.ecs.untag_resource(&s.arn, &keys).await)
                .map_err(|e| CoreError::port(Part::Service, "UntagResource", e))?;
        }
        Ok(())
    }
}
