#!/usr/bin/env python3
"""Independent look at one tenant's parts, for the acceptance tests.

Reads AWS through boto3 and MySQL through the `mariadb` client -- never
through bbws-core -- so the tests check the provider against a second
implementation, not against itself. Prints one JSON document.

usage: inspect_tenant.py SETTINGS_JSON TENANT_ID [SUBDOMAIN ...]
       inspect_tenant.py SETTINGS_JSON --fleet TENANT_ID:SUBDOMAIN ...

`--fleet` counts, for many tenants at once (one listing of each kind), how
many of each part exist (for task definitions: the ACTIVE revisions with
the latest one's content, and all ACTIVE revisions apart) -- so that a duplicate (two rules for one host, two
access points with one Name) or an orphan (a part left after a destroy) is
a number, not a guess. Parts are matched by name and by the `bbws:tenant`
tag, so a part of ours under a name bbws would not give it is counted too.
"""
import json
import subprocess
import sys

import boto3
import botocore.exceptions
from botocore.exceptions import ClientError


def tags_of(pairs, key="Key", value="Value"):
    return {t[key]: t[value] for t in pairs or []}


def clients(settings):
    kw = dict(
        endpoint_url=settings["endpoint"],
        region_name=settings["region"],
        aws_access_key_id=settings.get("aws_access_key_id", "test"),
        aws_secret_access_key=settings.get("aws_secret_access_key", "test"),
    )
    return {n: boto3.client(n, **kw) for n in ("ecs", "elbv2", "route53", "efs", "secretsmanager", "logs")}


def rule_tags(elb, arns):
    """Tags of many rules, 20 ARNs per DescribeTags. A rule listed a moment
    ago may be deleted by now (tests run side by side): a batch that names
    one is read rule by rule, and the deleted ones are left out."""
    out = {}
    for i in range(0, len(arns), 20):
        batch = arns[i : i + 20]
        try:
            found = elb.describe_tags(ResourceArns=batch)["TagDescriptions"]
        except botocore.exceptions.ClientError:
            found = [d for d in (one_rule_tags(elb, a) for a in batch) if d is not None]
        for d in found:
            out[d["ResourceArn"]] = tags_of(d.get("Tags"))
    return out


def one_rule_tags(elb, arn):
    """One rule's tag description, or None once it is gone."""
    try:
        found = elb.describe_tags(ResourceArns=[arn])["TagDescriptions"]
    except botocore.exceptions.ClientError as e:
        if "NotFound" in e.response.get("Error", {}).get("Code", ""):
            return None
        raise
    return found[0] if found else None


def task_shape(ecs, arn):
    """What a revision says, without what ECS adds when registering it."""
    td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    keep = ("containerDefinitions", "cpu", "memory", "volumes", "executionRoleArn", "taskRoleArn", "networkMode")
    return json.dumps({k: td.get(k) for k in keep}, sort_keys=True)


def fleet(settings, pairs):
    """Per tenant, the number of each part that exists (see the usage)."""
    c = clients(settings)
    env = settings["environment"]
    domain = settings["domain"].rstrip(".").lower()
    tids = [p.split(":", 1)[0] for p in pairs]
    host_of = {p.split(":", 1)[0]: f"{p.split(':', 1)[1]}.{domain}".lower() for p in pairs}
    counts = {t: {} for t in tids}

    def bump(tid, part, n=1):
        if tid in counts:
            counts[tid][part] = counts[tid].get(part, 0) + n

    names = [f"{env}-{t}-service" for t in tids]
    for i in range(0, len(names), 10):
        svc = c["ecs"].describe_services(cluster=settings["cluster"], services=names[i : i + 10])
        for s in svc.get("services", []):
            if s.get("status") != "INACTIVE":
                bump(s["serviceName"].split("-")[1], "service")
    for t in tids:
        arns = c["ecs"].list_task_definitions(familyPrefix=f"{env}-{t}", status="ACTIVE").get("taskDefinitionArns", [])
        arns = [a for a in arns if a.split("/")[-1].rsplit(":", 1)[0] == f"{env}-{t}"]
        # Revisions accumulate by design (one per change); a duplicate is a
        # revision registered twice with the same content. Counted: the
        # ACTIVE revisions whose content is the latest one's (1 when the
        # latest exists and was registered once).
        shapes = [task_shape(c["ecs"], a) for a in arns]
        bump(t, "task_definition", shapes.count(shapes[-1]) if shapes else 0)
        bump(t, "task_definition_revisions", len(arns))
    for page in c["elbv2"].get_paginator("describe_target_groups").paginate():
        for g in page["TargetGroups"]:
            parts = g["TargetGroupName"].split("-")
            # `-tgb`: the second name a move to another listener uses.
            if len(parts) == 3 and parts[0] == env and parts[2] in ("tg", "tgb"):
                bump(parts[1], "target_group")
    rules, marker = [], None
    while True:
        args = {"ListenerArn": settings["listener_arn"]}
        if marker:
            args["Marker"] = marker
        page = c["elbv2"].describe_rules(**args)
        rules += [r for r in page["Rules"] if not r.get("IsDefault")]
        marker = page.get("NextMarker")
        if not marker:
            break
    tags = rule_tags(c["elbv2"], [r["RuleArn"] for r in rules])
    for r in rules:
        hosts = set()
        for cond in r.get("Conditions", []):
            if cond.get("Field") == "host-header":
                hosts |= {h.lower() for h in (cond.get("HostHeaderConfig", {}).get("Values", []) or cond.get("Values", []))}
        owner = tags.get(r["RuleArn"], {}).get("bbws:tenant")
        for t in tids:
            if owner == t or host_of[t] in hosts:
                bump(t, "listener_rule")
    for page in c["route53"].get_paginator("list_resource_record_sets").paginate(HostedZoneId=settings["hosted_zone_id"]):
        for rr in page["ResourceRecordSets"]:
            for t in tids:
                if rr["Name"].rstrip(".").lower() == host_of[t]:
                    bump(t, "dns_record")
    aps = c["efs"].describe_access_points(FileSystemId=settings["efs_file_system_id"]).get("AccessPoints", [])
    for a in aps:
        tag = tags_of(a.get("Tags"))
        for t in tids:
            if tag.get("bbws:tenant") == t or tag.get("Name") == f"{env}-{t}-ap":
                bump(t, "access_point")
    for page in c["secretsmanager"].get_paginator("list_secrets").paginate(IncludePlannedDeletion=True):
        for s in page["SecretList"]:
            tag = tags_of(s.get("Tags"))
            for t in tids:
                if tag.get("bbws:tenant") == t or s["Name"] == f"{env}-{t}-db-credentials":
                    bump(t, "secret_deleted" if "DeletedDate" in s else "secret")
    for page in c["logs"].get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/ecs/{env}-"):
        for g in page["logGroups"]:
            bump(g["logGroupName"][len(f"/ecs/{env}-") :], "log_group")
    m = settings["mysql"]
    sql = (
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_db';"
        "SELECT User FROM mysql.global_priv WHERE User LIKE '%\\_user';"
    )
    res = subprocess.run(
        ["mariadb", "-h", m["host"], "-P", str(m["port"]), "-u", m["admin_user"], f"-p{m['admin_password']}", "-N", "-B", "-e", sql],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    for name in res:
        if name.endswith("_db"):
            bump(name[: -len("_db")], "database")
        elif name.endswith("_user"):
            bump(name[: -len("_user")], "database_user")
    print(json.dumps(counts, indent=1, sort_keys=True))


def main():
    if len(sys.argv) > 2 and sys.argv[2] == "--fleet":
        return fleet(json.load(open(sys.argv[1])), sys.argv[3:])
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
            "target_groups": [lb["targetGroupArn"].split("/")[1] for lb in live[0].get("loadBalancers", [])],
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

    # Both of the tenant's target group names (`-tgb` after a move to
    # another listener), each on its own: ELBv2 fails a call naming one
    # that does not exist.
    tgs = []
    for name in (f"{env}-{tid}-tg", f"{env}-{tid}-tgb"):
        try:
            tgs += elb.describe_target_groups(Names=[name])["TargetGroups"]
        except ClientError:
            pass
    out["target_groups"] = sorted(t["TargetGroupName"] for t in tgs)
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
            described = one_rule_tags(elb, r["RuleArn"])
            if described is None:
                continue  # deleted since the listing (a test beside this one)
            tags = tags_of(described.get("Tags"))
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
    out["scaling"] = scaling(boto3.client("application-autoscaling", **kw), settings["cluster"], f"{env}-{tid}-service")
    out["certificates"] = certificates(boto3.client("acm", **kw), elb, settings, tid)
    out["alarms"] = alarms(boto3.client("cloudwatch", **kw), f"{env}-{tid}")
    print(json.dumps(out, indent=1, sort_keys=True))


def alarms(cw, base):
    """The tenant's alarms by their SPEC names, each with its tags."""
    names = [f"{base}-5xx-rate", f"{base}-unhealthy-hosts", f"{base}-tasks-below-desired"]
    found = []
    for a in cw.describe_alarms(AlarmNames=names)["MetricAlarms"]:
        tags = tags_of(cw.list_tags_for_resource(ResourceARN=a["AlarmArn"]).get("Tags"))
        found.append({
            "name": a["AlarmName"], "description": a.get("AlarmDescription", ""), "threshold": a.get("Threshold"),
            "alarm_actions": a.get("AlarmActions", []), "ok_actions": a.get("OKActions", []),
            "metrics": [m.get("MetricStat", {}).get("Metric", {}).get("MetricName") or m.get("Expression") for m in a.get("Metrics", [])],
            "tags": tags,
        })
    return sorted(found, key=lambda a: a["name"])


def certificates(acm, elb, settings, tid):
    """Every ACM certificate tagged as the tenant's (found by listing the
    account's and reading their tags, not by bbws's markers, so a leaked
    one shows), each with whether the platform's listener serves it."""
    served = {c["CertificateArn"] for c in elb.describe_listener_certificates(ListenerArn=settings["listener_arn"])["Certificates"] if not c.get("IsDefault")}
    found = []
    for page in acm.get_paginator("list_certificates").paginate():
        for summary in page["CertificateSummaryList"]:
            arn = summary["CertificateArn"]
            # Tests run side by side: a certificate listed a moment ago may
            # be deleted by now (another test's destroy). Gone is gone.
            try:
                tags = tags_of(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags"))
                if tags.get("bbws:tenant") != tid or tags.get("bbws:environment") != settings["environment"]:
                    continue
                c = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            except acm.exceptions.ResourceNotFoundException:
                continue
            records = [o["ResourceRecord"] for o in c.get("DomainValidationOptions", []) if "ResourceRecord" in o]
            found.append({
                "arn": arn,
                "status": c["Status"],
                "domains": [c["DomainName"]] + [d for d in c.get("SubjectAlternativeNames", []) if d != c["DomainName"]],
                "validation_records": records,
                "served": arn in served,
            })
    return sorted(found, key=lambda c: c["arn"])


def scaling(aas, cluster, service):
    """The service's scalable target and its policies, or None. moto matches
    ResourceIds by substring, so the answer is filtered to the exact id."""
    rid = f"service/{cluster.rsplit('/', 1)[-1]}/{service}"
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[rid])["ScalableTargets"]
    target = next((t for t in targets if t["ResourceId"] == rid), None)
    if target is None:
        return None
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid)["ScalingPolicies"]
    shown = []
    for p in policies:
        if p["ResourceId"] != rid:
            continue
        c = p.get("TargetTrackingScalingPolicyConfiguration", {})
        m = c.get("PredefinedMetricSpecification", {})
        shown.append({"name": p["PolicyName"], "metric": m.get("PredefinedMetricType"), "target": c.get("TargetValue"), "label": m.get("ResourceLabel")})
    return {"min": target["MinCapacity"], "max": target["MaxCapacity"], "policies": sorted(shown, key=lambda p: p["name"])}


if __name__ == "__main__":
    main()
