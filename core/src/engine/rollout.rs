//! Rollout: waiting for ECS to finish the service's deployment, reporting
//! a deployment that ECS's circuit breaker failed (and rolled back), and
//! pointing the service back at its previous revision where the breaker
//! cannot act.

use super::apply::Run;
use super::{StepFailure, StepResult, fail};
use crate::error::CoreError;
use crate::parts::{DeploymentStatus, ObservedDeployment, ObservedService, Part, RolloutState};
use crate::ports::{PortError, PortErrorKind};

/// How often a steady-state wait asks ECS.
const STEADY_STATE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Where a deployment stands, judged from one DescribeServices.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The PRIMARY deployment runs the revision asked for and completed.
    Done,
    /// ECS failed the deployment of the revision asked for.
    Failed {
        /// ECS's `rolloutStateReason`.
        reason: String,
    },
    /// Neither yet.
    Waiting,
}

/// Judges a service's deployments against the revision and count asked
/// for. Deployments in `before` (the observation the plan came from) are
/// not this run's: an old FAILED one says nothing about this change.
pub(super) fn judge(s: &ObservedService, target: &str, want: u32, before: &[String]) -> Verdict {
    let ours = |d: &&ObservedDeployment| !before.contains(&d.id) && d.task_definition_arn == target;
    if let Some(d) = s
        .deployments
        .iter()
        .filter(ours)
        .find(|d| d.rollout_state == Some(RolloutState::Failed))
    {
        return Verdict::Failed {
            reason: d.rollout_state_reason.clone(),
        };
    }
    let Some(p) = s.primary() else {
        return Verdict::Waiting;
    };
    let runs = p.task_definition_arn == target && p.running_count == want && s.desired_count == want;
    let settled = match p.rollout_state {
        Some(state) => state == RolloutState::Completed,
        // No rollout state (ECS reports none for some deployment types):
        // steady means the older deployments have drained.
        None => s.deployments.iter().all(|d| d.status != DeploymentStatus::Active),
    };
    if runs && settled {
        Verdict::Done
    } else {
        Verdict::Waiting
    }
}

/// A short account of the PRIMARY deployment, for messages.
fn describe_primary(s: Option<&ObservedService>, want: u32) -> String {
    match s.and_then(ObservedService::primary) {
        None => "no deployment reported".to_owned(),
        Some(p) => format!(
            "deployment {} of {} is {}: {} of {want} tasks running, {} pending",
            p.id,
            p.task_definition_arn,
            p.rollout_state.map_or("without a rollout state", RolloutState::as_str),
            p.running_count,
            p.pending_count
        ),
    }
}

impl Run<'_> {
    /// Polls the service until ECS completes the deployment of `target`.
    /// A deployment ECS fails is reported with what ECS says and the
    /// revision the service runs after ECS's rollback; one that neither
    /// completes nor fails in time is pointed back at the revision it ran
    /// before. Either way the step fails and says so.
    pub(super) async fn wait_for_steady_state(&self, target: &str) -> StepResult<()> {
        let ports = &self.engine.ports;
        let p = &self.engine.platform;
        let name = self.spec.names().service;
        let want = self.spec.effective_desired_count();
        let timeout = self.spec.steady_state_timeout;
        let before: Vec<String> = self
            .observed
            .service
            .iter()
            .flat_map(|s| s.deployments.iter().map(|d| d.id.clone()))
            .collect();
        let started = tokio::time::Instant::now();
        let mut last = None;
        loop {
            let now = ports
                .ecs
                .describe_services(&p.cluster, std::slice::from_ref(&name))
                .await
                .map_err(fail("wait for", Part::Service, "DescribeServices"))?;
            if let Some(s) = now.into_iter().next() {
                match judge(&s, target, want, &before) {
                    Verdict::Done => return Ok(()),
                    Verdict::Failed { reason } => return Err(deployment_failed(target, &s, &reason)),
                    Verdict::Waiting => last = Some(s),
                }
            }
            if started.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(STEADY_STATE_POLL.min(timeout)).await;
        }
        Err(self.timed_out(&name, last.as_ref(), want).await)
    }

    /// The wait ran out with the deployment still IN_PROGRESS. ECS's
    /// circuit breaker counts tasks that fail (exit, fail health checks);
    /// it cannot act on tasks that neither start nor fail — held PENDING
    /// for capacity, an ENI or an image pull that hangs — and leaves such a
    /// deployment IN_PROGRESS indefinitely. That is the one case where bbws
    /// itself points the service back at the revision it ran before.
    async fn timed_out(&self, name: &str, last: Option<&ObservedService>, want: u32) -> StepFailure {
        let p = &self.engine.platform;
        let mut message = format!(
            "the service did not reach a steady state within {}s ({})",
            self.spec.steady_state_timeout.as_secs(),
            describe_primary(last, want)
        );
        if let Some(previous) = &self.observed.service
            && !previous.task_definition_arn.is_empty()
        {
            let back = self
                .engine
                .ports
                .ecs
                .update_service(&p.cluster, name, &previous.task_definition_arn, previous.desired_count)
                .await;
            if let Err(e) = back {
                return fail("roll back", Part::Service, "UpdateService")(e);
            }
            message.push_str(&format!(
                "; rolled the service back to {} — fix the image or settings and apply again",
                previous.task_definition_arn
            ));
        }
        not_stable("ServiceNotStable", message)
    }
}

/// ECS failed the deployment of `target`; with the circuit breaker's
/// rollback, the service already runs the last revision that completed.
fn deployment_failed(target: &str, s: &ObservedService, reason: &str) -> StepFailure {
    let now = s
        .primary()
        .map_or(s.task_definition_arn.as_str(), |p| p.task_definition_arn.as_str());
    let after = if now != target && !now.is_empty() {
        format!("ECS rolled the service back: it runs {now} now")
    } else {
        "no earlier revision had completed, so ECS stopped launching tasks".to_owned()
    };
    not_stable(
        "DeploymentFailed",
        format!(
            "ECS's deployment circuit breaker failed the deployment of {target} ({reason}); {after} — fix the image or settings and apply again"
        ),
    )
}

fn not_stable(code: &str, message: String) -> StepFailure {
    StepFailure {
        step: "wait for steady state".into(),
        part: Part::Service,
        error: CoreError::port(
            Part::Service,
            "DescribeServices",
            PortError::new(PortErrorKind::Other, code, message),
        ),
    }
}
