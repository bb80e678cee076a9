//! Rollout: waiting for the service to reach a steady state, and pointing
//! it back at its previous revision when it does not.

use super::apply::Run;
use super::{StepFailure, StepResult, fail};
use crate::error::CoreError;
use crate::parts::Part;
use crate::ports::{PortError, PortErrorKind};

/// How often a steady-state wait asks ECS.
const STEADY_STATE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

impl Run<'_> {
    /// Polls the service until it runs the desired tasks. An update that
    /// does not get there in time is pointed back at the revision it ran
    /// before; either way the step fails and says so.
    pub(super) async fn wait_for_steady_state(&self) -> StepResult<()> {
        let ports = &self.engine.ports;
        let p = &self.engine.platform;
        let name = self.spec.names().service;
        let want = self.spec.effective_desired_count();
        let timeout = self.spec.steady_state_timeout;
        let started = tokio::time::Instant::now();
        let mut last = None;
        loop {
            let now = ports
                .ecs
                .describe_services(&p.cluster, std::slice::from_ref(&name))
                .await
                .map_err(fail("wait for", Part::Service, "DescribeServices"))?;
            if let Some(s) = now.into_iter().next() {
                if s.running_count == want && s.desired_count == want {
                    return Ok(());
                }
                last = Some(s.running_count);
            }
            if started.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(STEADY_STATE_POLL.min(timeout)).await;
        }
        let running = last.map_or("no".to_owned(), |n| n.to_string());
        let mut message = format!(
            "the service did not reach a steady state within {}s ({running} of {want} tasks running)",
            timeout.as_secs()
        );
        if let Some(previous) = &self.observed.service
            && !previous.task_definition_arn.is_empty()
        {
            ports
                .ecs
                .update_service(&p.cluster, &name, &previous.task_definition_arn, previous.desired_count)
                .await
                .map_err(fail("roll back", Part::Service, "UpdateService"))?;
            message.push_str(&format!(
                "; rolled the service back to {} — fix the image or settings and apply again",
                previous.task_definition_arn
            ));
        }
        Err(StepFailure {
            step: "wait for steady state".into(),
            part: Part::Service,
            error: CoreError::port(
                Part::Service,
                "DescribeServices",
                PortError::new(PortErrorKind::Other, "ServiceNotStable", message),
            ),
        })
    }
}
