"""AWS's request rates as token buckets, for `aws_faults.py --aws-rates`.

AWS throttles each account per Region with token buckets: a request takes a
token; a bucket holds at most `capacity` tokens (the burst) and gains
`refill` tokens per second (the sustained rate); a request that finds its
bucket empty is answered with the service's throttling error. moto never
throttles, so without this an emulator run says nothing about how a fleet
apply fares against AWS.

The table below is the one place the rates live. `source` says where each
comes from:

  published  AWS documents the figure for that action (the page is named in
             the row's note);
  assumed    AWS publishes no figure for it; the rate is a guess in the
             range of the service's published ones, stated here and in the
             README so that nobody reads it as AWS's.

The figures marked published are those of the pages named, as they were
known when the table was written (in the stored copies searchable here only
the ECS page's worked example — cluster read actions, 50 and 20 — and
Route53's five a second could be read again): check them against the live
pages before relying on one.

A bucket is per service and action, except where AWS documents one shared
by several actions (`shared` set: Secrets Manager's combined write quota,
Route53's one per-account rate for every request).

Pure: no IO, the clock is passed in, so `test_aws_rates.py` can check the
buckets without waiting.
"""

import threading
import time
from dataclasses import dataclass

ECS_PAGE = "ECS API Reference, 'Request throttling for the Amazon ECS API'"
LOGS_PAGE = "CloudWatch Logs quotas (AWS General Reference, 'CloudWatch Logs endpoints and quotas')"
SECRETS_PAGE = "Secrets Manager quotas ('AWS Secrets Manager quotas')"
ROUTE53_PAGE = "Route 53 quotas ('Quotas on API requests': five requests per second per account)"


@dataclass(frozen=True)
class Rate:
    service: str  # the SigV4 signing name (credential scope)
    actions: tuple  # the actions it covers; ("*",) for every action
    capacity: float  # bucket size: the burst
    refill: float  # tokens per second: the sustained rate
    source: str  # "published" or "assumed"
    note: str
    shared: bool = False  # one bucket for all `actions` (else one each)


RATES = [
    # ECS: per action, per account and Region. Cluster read actions are
    # 50 / 20 (the page's worked example); the others as its table lists.
    Rate("ecs", ("DescribeClusters", "ListClusters"), 50, 20, "published", ECS_PAGE + ": cluster read actions"),
    Rate("ecs", ("DescribeServices", "ListServices"), 100, 20, "published", ECS_PAGE + ": service read actions"),
    Rate("ecs", ("CreateService", "UpdateService", "DeleteService"), 50, 5, "published",
         ECS_PAGE + ": service modification actions"),
    Rate("ecs", ("DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"), 100, 20, "published",
         ECS_PAGE + ": task definition read actions"),
    Rate("ecs", ("RegisterTaskDefinition", "DeregisterTaskDefinition", "DeleteTaskDefinitions"), 20, 1, "published",
         ECS_PAGE + ": task definition modification actions"),
    Rate("ecs", ("DescribeTasks", "ListTasks"), 100, 20, "published", ECS_PAGE + ": task read actions"),
    Rate("ecs", ("TagResource", "UntagResource", "ListTagsForResource"), 50, 5, "assumed",
         "ECS tag actions: not in the page's table; as its modification actions"),
    Rate("ecs", ("*",), 50, 5, "assumed", "any other ECS action"),
    # Route53: one rate for every request of the account.
    Rate("route53", ("*",), 5, 5, "published", ROUTE53_PAGE, shared=True),
    # ELBv2 publishes no API rates.
    Rate("elasticloadbalancing", ("Describe*",), 20, 10, "assumed", "ELBv2 describe actions (no published rate)"),
    Rate("elasticloadbalancing", ("*",), 10, 5, "assumed", "ELBv2 mutating actions (no published rate)"),
    # Secrets Manager: two documented combined quotas.
    Rate("secretsmanager", ("GetSecretValue", "DescribeSecret"), 10000, 10000, "published",
         SECRETS_PAGE + ": DescribeSecret and GetSecretValue combined", shared=True),
    Rate("secretsmanager", ("ListSecrets",), 100, 100, "assumed", "ListSecrets (no separate figure found)"),
    Rate("secretsmanager", ("*",), 50, 50, "published",
         SECRETS_PAGE + ": the combined rate of the write actions (create, put, update, tag, delete, restore)",
         shared=True),
    # EFS publishes no API rates.
    Rate("elasticfilesystem", ("Describe*", "ListTagsForResource"), 20, 10, "assumed",
         "EFS describe actions (no published rate)"),
    Rate("elasticfilesystem", ("*",), 10, 5, "assumed", "EFS mutating actions (no published rate)"),
    # CloudWatch Logs: per action, as its quotas page lists.
    Rate("logs", ("CreateLogGroup",), 5, 5, "published", LOGS_PAGE + ": CreateLogGroup 5 TPS"),
    Rate("logs", ("PutRetentionPolicy", "DeleteRetentionPolicy"), 5, 5, "published", LOGS_PAGE + ": 5 TPS"),
    Rate("logs", ("DeleteLogGroup", "DescribeLogGroups"), 10, 10, "published", LOGS_PAGE + ": 10 TPS"),
    Rate("logs", ("CreateLogStream",), 50, 50, "published", LOGS_PAGE + ": CreateLogStream 50 TPS"),
    Rate("logs", ("PutLogEvents",), 5000, 5000, "published", LOGS_PAGE + ": PutLogEvents 5,000 TPS"),
    Rate("logs", ("*",), 5, 5, "assumed", "other Logs actions (tags): as the lowest published Logs rate"),
    # Resource Groups Tagging API, RDS, STS: rates assumed.
    Rate("tagging", ("*",), 10, 5, "assumed", "GetResources (no published rate)"),
    Rate("rds", ("*",), 20, 10, "assumed", "RDS describe actions (no published rate)"),
    Rate("sts", ("*",), 100, 100, "assumed", "STS (no published rate for these calls)"),
]


def _matches(pattern, action):
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return action.startswith(pattern[:-1])
    return pattern == action


def rate_for(service, action):
    """The first row of `RATES` that covers `service` and `action`, or None
    (a service the table does not name is not throttled)."""
    for rate in RATES:
        if rate.service == service and any(_matches(p, action) for p in rate.actions):
            return rate
    return None


class TokenBucket:
    """A bucket of `capacity` tokens, full at the start, refilled at `refill`
    tokens per second (continuously), never above `capacity`."""

    def __init__(self, capacity, refill, now):
        self.capacity = float(capacity)
        self.refill = float(refill)
        self.tokens = float(capacity)
        self.stamp = now

    def take(self, now):
        """Takes one token at time `now` (seconds); False if there is none."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill)
        self.stamp = max(self.stamp, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Limiter:
    """All buckets of one account: `allow(service, action)` is False when
    AWS would throttle that request now."""

    def __init__(self, clock=time.monotonic, scale=1.0):
        self.clock = clock
        # `scale` multiplies every rate (0.5: half AWS's rates), for runs
        # that want to see a harsher account; 1.0 is AWS's.
        self.scale = scale
        self.buckets = {}
        self.lock = threading.Lock()

    def key(self, service, action):
        rate = rate_for(service, action)
        if rate is None:
            return None, None
        return (service, rate.actions if rate.shared else action), rate

    def allow(self, service, action):
        key, rate = self.key(service, action)
        if key is None:
            return True
        with self.lock:
            now = self.clock()
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(rate.capacity * self.scale, rate.refill * self.scale, now)
                self.buckets[key] = bucket
            return bucket.take(now)


def markdown_table():
    """The table as the README shows it."""
    lines = ["| service | actions | bucket | refill /s | source |", "|---|---|---|---|---|"]
    seen = set()
    for r in RATES:
        rest = "any other" if r.service in seen else "every action"
        seen.add(r.service)
        acts = ", ".join(rest if a == "*" else a for a in r.actions)
        shared = " (one bucket)" if r.shared else ""
        lines.append(f"| {r.service} | {acts}{shared} | {r.capacity:g} | {r.refill:g} | {r.source}: {r.note} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
