#!/usr/bin/env python3
"""A subscriber to bbws's provisioning events, as billing or operations
would have one: an EventBridge rule on the bus matching source `bbws` (and
one tenant, so concurrent tests do not read each other's events) that
targets an SQS queue. Uses boto3 only -- never bbws-core.

usage: events_queue.py SETTINGS_JSON subscribe BUS TENANT_ID
           creates the bus (unless "default"), the queue and the rule;
           prints {"queue_url", "rule"} as JSON
       events_queue.py SETTINGS_JSON read QUEUE_URL
           prints every message on the queue (the events, parsed) as a
           JSON list, receiving until the queue answers empty twice
       events_queue.py SETTINGS_JSON unsubscribe BUS RULE QUEUE_URL
           removes the rule, the queue and the bus (unless "default")
"""
import json
import sys

import boto3


def clients(settings):
    kw = dict(
        endpoint_url=settings["endpoint"],
        region_name=settings["region"],
        aws_access_key_id=settings.get("aws_access_key_id", "test"),
        aws_secret_access_key=settings.get("aws_secret_access_key", "test"),
    )
    return boto3.client("events", **kw), boto3.client("sqs", **kw)


def subscribe(events, sqs, bus, tenant):
    if bus != "default":
        events.create_event_bus(Name=bus)
    name = f"bbws-events-{tenant}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["bbws"], "detail": {"tenant": [tenant]}}
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return {"queue_url": queue_url, "rule": name}


def read(sqs, queue_url):
    out, empty = [], 0
    while empty < 2:
        r = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = r.get("Messages", [])
        if not messages:
            empty += 1
            continue
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def unsubscribe(events, sqs, bus, rule, queue_url):
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name=rule, EventBusName=bus)
    sqs.delete_queue(QueueUrl=queue_url)
    if bus != "default":
        events.delete_event_bus(Name=bus)


def main():
    settings = json.load(open(sys.argv[1]))
    events, sqs = clients(settings)
    command, args = sys.argv[2], sys.argv[3:]
    if command == "subscribe":
        print(json.dumps(subscribe(events, sqs, *args)))
    elif command == "read":
        print(json.dumps(read(sqs, *args)))
    elif command == "unsubscribe":
        unsubscribe(events, sqs, *args)
    else:
        sys.exit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main()
