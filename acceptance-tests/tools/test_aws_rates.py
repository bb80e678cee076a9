"""Tests of the token buckets in aws_rates.py, on a clock the test moves.

    python3 test_aws_rates.py     (tests/throttling.rs runs it)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aws_rates import RATES, Limiter, TokenBucket, rate_for  # noqa: E402


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class TokenBucketTest(unittest.TestCase):
    def test_a_full_bucket_serves_its_burst_then_refuses(self):
        b = TokenBucket(5, 1, now=0.0)
        self.assertEqual([b.take(0.0) for _ in range(6)], [True] * 5 + [False])

    def test_it_refills_at_its_rate_and_never_above_capacity(self):
        b = TokenBucket(5, 2, now=0.0)
        for _ in range(5):
            b.take(0.0)
        self.assertFalse(b.take(0.0))
        self.assertFalse(b.take(0.4))  # 0.8 tokens: not yet one
        self.assertTrue(b.take(0.5))  # 1.0 token
        self.assertFalse(b.take(0.5))
        # An hour idle: full again, five and no more.
        self.assertEqual(sum(b.take(3600.0) for _ in range(10)), 5)

    def test_the_sustained_rate_over_time(self):
        b = TokenBucket(10, 5, now=0.0)
        served = 0
        t = 0.0
        while t < 60.0:  # 100 requests a second for a minute
            served += b.take(t)
            t += 0.01
        # The burst plus 5 a second (the last slot's refill may fall either side).
        self.assertIn(served, range(10 + 5 * 60 - 1, 10 + 5 * 60 + 2))

    def test_a_clock_that_goes_back_does_not_mint_tokens(self):
        b = TokenBucket(1, 1, now=10.0)
        self.assertTrue(b.take(10.0))
        self.assertFalse(b.take(5.0))
        self.assertFalse(b.take(10.5))
        self.assertTrue(b.take(11.0))


class LimiterTest(unittest.TestCase):
    def test_route53_is_five_a_second_for_every_action_together(self):
        clock = Clock()
        lim = Limiter(clock)
        ops = ["ChangeResourceRecordSets", "ListResourceRecordSets", "GetChange"]
        results = [lim.allow("route53", ops[i % 3]) for i in range(6)]
        self.assertEqual(results, [True] * 5 + [False])
        clock.t += 0.2
        self.assertTrue(lim.allow("route53", "GetHostedZone"))
        self.assertFalse(lim.allow("route53", "GetHostedZone"))

    def test_ecs_actions_have_buckets_of_their_own(self):
        clock = Clock()
        lim = Limiter(clock)
        self.assertEqual(sum(lim.allow("ecs", "RegisterTaskDefinition") for _ in range(30)), 20)
        # DescribeServices is not slowed by RegisterTaskDefinition's empty bucket.
        self.assertEqual(sum(lim.allow("ecs", "DescribeServices") for _ in range(150)), 100)
        # One second later: one RegisterTaskDefinition, twenty DescribeServices.
        clock.t += 1.0
        self.assertEqual(sum(lim.allow("ecs", "RegisterTaskDefinition") for _ in range(5)), 1)
        self.assertEqual(sum(lim.allow("ecs", "DescribeServices") for _ in range(50)), 20)

    def test_per_action_rows_are_per_action_even_when_listed_together(self):
        lim = Limiter(Clock())
        self.assertEqual(sum(lim.allow("ecs", "CreateService") for _ in range(60)), 50)
        self.assertEqual(sum(lim.allow("ecs", "UpdateService") for _ in range(60)), 50)

    def test_secrets_manager_writes_share_one_bucket(self):
        lim = Limiter(Clock())
        creates = sum(lim.allow("secretsmanager", "CreateSecret") for _ in range(30))
        tags = sum(lim.allow("secretsmanager", "TagResource") for _ in range(30))
        self.assertEqual((creates, tags), (30, 20))

    def test_wildcards_and_unknown_services(self):
        self.assertEqual(rate_for("elasticloadbalancing", "DescribeTags").capacity, 20)
        self.assertEqual(rate_for("elasticloadbalancing", "AddTags").capacity, 10)
        self.assertEqual(rate_for("ecs", "CreateCluster").source, "assumed")
        self.assertIsNone(rate_for("iam", "GetRole"))
        self.assertTrue(all(Limiter(Clock()).allow("iam", "GetRole") for _ in range(10000)))

    def test_scale_makes_every_bucket_smaller(self):
        lim = Limiter(Clock(), scale=0.5)
        self.assertEqual(sum(lim.allow("route53", "GetChange") for _ in range(10)), 2)

    def test_every_row_is_well_formed(self):
        for r in RATES:
            self.assertIn(r.source, ("published", "assumed"), r)
            self.assertGreater(r.capacity, 0, r)
            self.assertGreater(r.refill, 0, r)
            self.assertTrue(r.note, r)
        # Each service ends in a catch-all, so no action of a named service goes unthrottled.
        for service in {r.service for r in RATES}:
            self.assertIsNotNone(rate_for(service, "SomeActionNobodyNamed"), service)


if __name__ == "__main__":
    unittest.main(verbosity=2)
