#!/usr/bin/env python3
"""Independent look at one tenant's parts, for the acceptance tests.

Reads AWS through boto3 and MySQL through the `mariadb` client -- never
through bbws-core -- so the tests check the provider against a second
implementation, not against itself. Prints one JSON document.

usage: inspect_tenant.py SETTINGS_JSON TENANT_ID [SUBDOMAIN ...]
"""
import json
import subprocess
import sys

import boto3
from botocore.exceptions import ClientError


def tags_of(pairs, key="Key", value="Value"):
    return {t[key]: t[value] for t in pairs or []}


def main():
    settings = json.load(open(sys.argv[1]))
    tid = sys.argv[2]
    subdomains = sys.argv[3:] or [tid]
    env = settings["environment"]
    domain = settings["domain"].rstrip(".")
    kw = dict(
        endpoint_url=settings["endpoint"],
        region_name=settings["region"],
        aws_access_key_id=settings.get("aws_access_key_id", "test"),
        aws_secret_access_key=settings.get("aws_secret_access_key", "test"),
    )
    ecs, elb, r53 = boto3.client("ecs", **kw), boto3.client("elbv2", **kw), boto3.client("route53", **kw)
    efs, sm, logs = boto3.client("efs", **kw), boto3.client("secretsmanager", **kw), boto3.client("logs", **kw)
    out = {}

    svc = ecs.describe_services(cluster=settings["cluster"], services=[f"{env}-{tid}-service"], include=["TAGS"])
    live = [s for s in svc.get("services", []) if s.get("status") != "INACTIVE"]
    out["service"] = (
        {
            "name": live[0]["serviceName"],
            "desired_count": live[0]["desiredCount"],
            "task_definition": live[0]["taskDefinition"],
            "tags": tags_of(live[0].get("tags"), "key", "value"),
        }
        if live
        else None
    )

    arns = ecs.list_task_definitions(familyPrefix=f"{env}-{tid}", status="ACTIVE").get("taskDefinitionArns", [])
    arns = [a for a in arns if a.split("/")[-1].rsplit(":", 1)[0] == f"{env}-{tid}"]
    out["task_definitions"] = arns
    if arns:
        td = ecs.describe_task_definition(taskDefinition=arns[-1], include=["TAGS"])
        c = td["taskDefinition"]["containerDefinitions"][0]
        out["task_definition"] = {
            "family": td["taskDefinition"]["family"],
            "image": c["image"],
            "cpu": td["taskDefinition"].get("cpu"),
            "memory": td["taskDefinition"].get("memory"),
            "environment": {e["name"]: e["value"] for e in c.get("environment", [])},
            "secrets": {s["name"]: s["valueFrom"] for s in c.get("secrets", [])},
            "tags": tags_of(td.get("tags"), "key", "value"),
        }
    else:
        out["task_definition"] = None

    try:
        tgs = elb.describe_target_groups(Names=[f"{env}-{tid}-tg"])["TargetGroups"]
    except ClientError:
        tgs = []
    if tgs:
        t = tgs[0]
        tags = elb.describe_tags(ResourceArns=[t["TargetGroupArn"]])["TagDescriptions"][0]["Tags"]
        out["target_group"] = {"name": t["TargetGroupName"], "arn": t["TargetGroupArn"], "target_type": t.get("TargetType"), "tags": tags_of(tags)}
    else:
        out["target_group"] = None

    fqdns = {f"{s}.{domain}" for s in subdomains}
    rules = []
    marker = None
    while True:
        args = {"ListenerArn": settings["listener_arn"]}
        if marker:
            args["Marker"] = marker
        page = elb.describe_rules(**args)
        for r in page["Rules"]:
            if r.get("IsDefault"):
                continue
            tags = tags_of(elb.describe_tags(ResourceArns=[r["RuleArn"]])["TagDescriptions"][0]["Tags"])
            hosts = []
            for c in r.get("Conditions", []):
                if c.get("Field") == "host-header":
                    hosts += c.get("HostHeaderConfig", {}).get("Values", []) or c.get("Values", [])
            if tags.get("bbws:tenant") == tid or fqdns & set(hosts):
                rules.append({"arn": r["RuleArn"], "priority": r["Priority"], "hosts": hosts, "actions": [a["Type"] for a in r["Actions"]], "tags": tags})
        marker = page.get("NextMarker")
        if not marker:
            break
    out["listener_rules"] = rules

    records = []
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=settings["hosted_zone_id"]):
        for rr in page["ResourceRecordSets"]:
            name = rr["Name"].rstrip(".")
            if name in fqdns and rr["Type"] in ("A", "CNAME"):
                records.append({"name": name, "type": rr["Type"], "alias": rr.get("AliasTarget", {}).get("DNSName")})
    out["dns_records"] = records

    aps = efs.describe_access_points(FileSystemId=settings["efs_file_system_id"]).get("AccessPoints", [])
    out["access_points"] = [
        {"id": a["AccessPointId"], "name": a.get("Name"), "root": a.get("RootDirectory", {}).get("Path"), "tags": tags_of(a.get("Tags"))}
        for a in aps
        if tags_of(a.get("Tags")).get("bbws:tenant") == tid or a.get("Name") == f"{env}-{tid}-ap"
    ]

    try:
        s = sm.describe_secret(SecretId=f"{env}-{tid}-db-credentials")
        out["secret"] = {"name": s["Name"], "arn": s["ARN"], "deleted": "DeletedDate" in s, "tags": tags_of(s.get("Tags"))}
    except ClientError:
        out["secret"] = None

    groups = logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{env}-{tid}").get("logGroups", [])
    groups = [g for g in groups if g["logGroupName"] == f"/ecs/{env}-{tid}"]
    if groups:
        g = groups[0]
        try:
            tags = logs.list_tags_log_group(logGroupName=g["logGroupName"]).get("tags", {})
        except ClientError:
            tags = {}
        out["log_group"] = {"name": g["logGroupName"], "retention": g.get("retentionInDays"), "tags": tags}
    else:
        out["log_group"] = None

    m = settings["mysql"]
    sql = (
        f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='{tid}_db';"
        f"SELECT COUNT(*), COALESCE(MAX(JSON_VALUE(Priv,'$.account_locked')),'false') FROM mysql.global_priv WHERE User='{tid}_user';"
    )
    res = subprocess.run(
        ["mariadb", "-h", m["host"], "-P", str(m["port"]), "-u", m["admin_user"], f"-p{m['admin_password']}", "-N", "-B", "-e", sql],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    out["database"] = res[0].strip() == "1"
    count, locked = res[1].split("\t")
    out["database_user"] = {"locked": locked.strip() in ("1", "true")} if count.strip() == "1" else None
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
