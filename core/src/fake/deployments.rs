//! ECS deployments as ECS runs them (rolling update, the `ECS` deployment
//! controller): a change of revision (or `forceNewDeployment`) starts a new
//! PRIMARY deployment IN_PROGRESS while the previous one stays ACTIVE with
//! its running tasks; the new one COMPLETES once its tasks run, and the old
//! ones drain. A revision whose tasks exit at start (an image in
//! [`FakeState::failing_images`]) counts failed tasks until the circuit
//! breaker's threshold, then is FAILED, and with rollback ECS starts a new
//! PRIMARY deployment of the last completed revision. With
//! [`FakeState::tasks_stall`] new tasks neither start nor fail (held
//! PENDING, as when Fargate has no capacity): the deployment stays
//! IN_PROGRESS and the old one keeps serving — a stalled deployment never
//! looks like zero running tasks.
//!
//! Time in the fake is the service's observations: each DescribeServices
//! of a service moves its deployments one step.

use super::*;

/// One deployment of a fake service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeDeployment {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: DeploymentStatus,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: RolloutState,
    /// ECS's sentence about it.
    pub reason: String,
    /// The revision it runs.
    pub task_definition_arn: String,
    /// Tasks it should run.
    pub desired_count: u32,
    /// Tasks starting.
    pub pending_count: u32,
    /// Tasks running.
    pub running_count: u32,
    /// Tasks that exited at start, for the circuit breaker.
    pub failed_tasks: u32,
}

impl FakeDeployment {
    fn observe(&self) -> ObservedDeployment {
        ObservedDeployment {
            id: self.id.clone(),
            status: self.status,
            rollout_state: Some(self.rollout_state),
            rollout_state_reason: self.reason.clone(),
            task_definition_arn: self.task_definition_arn.clone(),
            desired_count: self.desired_count,
            pending_count: self.pending_count,
            running_count: self.running_count,
        }
    }
}

/// ECS's circuit breaker threshold: half the desired count, at least 3 and
/// at most 200 failed tasks.
pub fn failure_threshold(desired: u32) -> u32 {
    desired.div_ceil(2).clamp(3, 200)
}

/// What the state says about a revision's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tasks {
    Start,
    Stall,
    Fail,
}

impl FakeState {
    fn tasks_of(&self, task_definition_arn: &str) -> Tasks {
        let image = self
            .task_definitions
            .values()
            .flatten()
            .find(|t| t.arn == task_definition_arn)
            .map(|t| t.spec.image.as_str());
        if image.is_some_and(|i| self.failing_images.contains(i)) {
            Tasks::Fail
        } else if self.tasks_stall {
            Tasks::Stall
        } else {
            Tasks::Start
        }
    }

    /// Moves the deployments of service `key` one step (see the module).
    pub(super) fn advance_deployments(&mut self, key: &(String, String)) {
        let Some(td) = self
            .services
            .get(key)
            .and_then(|s| s.primary())
            .map(|d| d.task_definition_arn.clone())
        else {
            return;
        };
        let tasks = self.tasks_of(&td);
        let id = format!("ecs-svc/{}", self.hex(19));
        if let Some(svc) = self.services.get_mut(key) {
            svc.advance(tasks, id);
        }
    }
}

impl FakeService {
    /// The PRIMARY deployment.
    pub fn primary(&self) -> Option<&FakeDeployment> {
        self.deployments.iter().find(|d| d.status == DeploymentStatus::Primary)
    }

    fn primary_mut(&mut self) -> Option<&mut FakeDeployment> {
        self.deployments
            .iter_mut()
            .find(|d| d.status == DeploymentStatus::Primary)
    }

    /// Tasks running, over all deployments (what DescribeServices reports).
    pub fn running_count(&self) -> u32 {
        self.deployments.iter().map(|d| d.running_count).sum()
    }

    /// Tasks starting, over all deployments.
    pub fn pending_count(&self) -> u32 {
        self.deployments.iter().map(|d| d.pending_count).sum()
    }

    /// The deployments as DescribeServices lists them.
    pub(super) fn observed_deployments(&self) -> Vec<ObservedDeployment> {
        self.deployments.iter().map(FakeDeployment::observe).collect()
    }

    /// Starts a deployment of `task_definition_arn`: the PRIMARY one so far
    /// becomes ACTIVE and keeps its tasks.
    pub(super) fn deploy(&mut self, id: String, task_definition_arn: &str) {
        for d in &mut self.deployments {
            if d.status == DeploymentStatus::Primary {
                d.status = DeploymentStatus::Active;
            }
        }
        self.task_definition_arn = task_definition_arn.to_owned();
        self.deployments.push(FakeDeployment {
            reason: format!("ECS deployment {id} in progress."),
            id,
            status: DeploymentStatus::Primary,
            rollout_state: RolloutState::InProgress,
            task_definition_arn: task_definition_arn.to_owned(),
            desired_count: self.desired_count,
            pending_count: self.desired_count,
            running_count: 0,
            failed_tasks: 0,
        });
    }

    /// A new desired count for the PRIMARY deployment (no new deployment,
    /// as in ECS); its tasks follow on the next step.
    pub(super) fn scale(&mut self, desired_count: u32) {
        self.desired_count = desired_count;
        if let Some(p) = self.primary_mut() {
            p.desired_count = desired_count;
        }
    }

    fn advance(&mut self, tasks: Tasks, next_id: String) {
        let breaker = self.circuit_breaker;
        let Some(p) = self.primary_mut() else { return };
        match (tasks, p.rollout_state) {
            (_, RolloutState::Failed) => {}
            (Tasks::Start, _) => {
                p.running_count = p.desired_count;
                p.pending_count = 0;
                if p.rollout_state == RolloutState::InProgress {
                    p.rollout_state = RolloutState::Completed;
                    p.reason = format!("ECS deployment {} completed.", p.id);
                }
                // Completion drains every older deployment.
                self.deployments.retain(|d| d.status == DeploymentStatus::Primary);
            }
            (Tasks::Stall, _) => p.pending_count = p.desired_count.saturating_sub(p.running_count),
            (Tasks::Fail, _) => {
                p.failed_tasks += p.desired_count.max(1);
                p.pending_count = 0;
                if breaker.enable && p.failed_tasks >= failure_threshold(p.desired_count) {
                    p.rollout_state = RolloutState::Failed;
                    p.reason = format!(
                        "ECS deployment circuit breaker: tasks failed to start. ({} failed tasks)",
                        p.failed_tasks
                    );
                    if breaker.rollback {
                        self.roll_back(next_id);
                    }
                }
            }
        }
    }

    /// The circuit breaker's rollback: a new PRIMARY deployment of the
    /// newest other deployment's revision (the last one that completed);
    /// none after a failed create, which simply stops launching tasks.
    fn roll_back(&mut self, id: String) {
        let Some(previous) = self
            .deployments
            .iter()
            .rev()
            .find(|d| d.status == DeploymentStatus::Active && d.rollout_state == RolloutState::Completed)
            .map(|d| d.task_definition_arn.clone())
        else {
            return;
        };
        self.deploy(id, &previous);
        if let Some(p) = self.primary_mut() {
            p.reason = format!("ECS deployment circuit breaker: rolling back to {previous}.");
        }
    }
}
