"""Probe the running moto with the AWS calls bbws makes, and print one line per
call: `works`, `quirk` (works, but unlike AWS) or `FAILS` (with the error).
MOTO_NOTES.md is the digest of its output. Cleans up everything it creates
(tenant id 999000000001, subdomains `probe-<time>`), so it is safe on a shared stack.

usage: $BBWS_STACK_DIR/venv/bin/python acceptance-tests/stack/moto_probe.py [SETTINGS_JSON]
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config

settings_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("BBWS_STACK_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", ".bbws"), "settings.json")
S = json.load(open(settings_path))
kw = dict(endpoint_url=S["endpoint"], region_name=S["region"], aws_access_key_id="test", aws_secret_access_key="test",
          config=Config(retries={"max_attempts": 1}))
ecs, elb, r53, efs, sm, logs, rds, sts = (boto3.client(n, **kw) for n in
                                         ["ecs", "elbv2", "route53", "efs", "secretsmanager", "logs", "rds", "sts"])
ENV, T = S["environment"], "999000000001"
TAGS = [{"Key": "bbws:tenant", "Value": T}, {"Key": "bbws:environment", "Value": ENV}]
ECS_TAGS = [{"key": t["Key"], "value": t["Value"]} for t in TAGS]
FQDN = f"probe-{int(time.time())}.{S['domain']}"  # unique per run: moto keeps a journal of record changes
failures = 0


def report(kind, name, note=""):
    print(f"{kind:6} {name}" + (f" -- {note}" if note else ""))


def check(name, fn, quirk=None, info=None):
    """Run fn (raising = FAILS). `quirk(result) -> str|None` flags a difference
    from AWS; `info(result) -> str` is a plain note."""
    global failures
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 -- the report is the point
        failures += 1
        report("FAILS", name, f"{type(e).__name__}: {e}".replace("\n", " ")[:400])
        return None
    q = quirk(result) if quirk else None
    report("quirk" if q else "works", name, q or (info(result) if info else ""))
    return result


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return getattr(e, "response", {}).get("Error", {}).get("Code") or type(e).__name__
    return None


def tagmap(tags, k="Key", v="Value"):
    return {t[k]: t[v] for t in tags or []}


# --- identity, RDS
check("sts get_caller_identity", lambda: sts.get_caller_identity(),
      info=lambda r: f"Account {r['Account']}, Arn {r['Arn']}")
check("rds describe_db_instances(DBInstanceIdentifier)",
      lambda: rds.describe_db_instances(DBInstanceIdentifier=S["database"]["instance_identifier"])["DBInstances"][0],
      info=lambda r: f"Endpoint {r['Endpoint']} (a fake hostname; the port is the one given at create/modify): use database.host")
check("rds describe_db_instances(missing)", lambda: error_of(lambda: rds.describe_db_instances(DBInstanceIdentifier="nope")),
      lambda code: None if code == "DBInstanceNotFound" else f"error {code}")

# --- Secrets Manager
name = f"{ENV}-{T}-db-credentials"
secret = check("secretsmanager create_secret(Tags)", lambda: sm.create_secret(
    Name=name, SecretString=json.dumps({"password": "x"}), Tags=TAGS, Description="probe"))
arn = secret["ARN"]
check("secretsmanager describe_secret", lambda: sm.describe_secret(SecretId=name),
      lambda r: None if tagmap(r["Tags"]) == tagmap(TAGS) else f"tags {r.get('Tags')}")
check("secretsmanager get_secret_value", lambda: sm.get_secret_value(SecretId=arn),
      lambda r: None if json.loads(r["SecretString"]) == {"password": "x"} else r["SecretString"])
check("secretsmanager put_secret_value", lambda: (sm.put_secret_value(SecretId=arn, SecretString='{"password":"y"}'),
                                                  sm.get_secret_value(SecretId=arn)["SecretString"])[1],
      lambda s: None if "y" in s else f"read back {s}")
check("secretsmanager list_secrets(Filters tag-key)",
      lambda: [x["Name"] for x in sm.list_secrets(Filters=[{"Key": "tag-key", "Values": ["bbws:tenant"]}])["SecretList"]],
      lambda names: None if name in names else f"not listed: {names}")
check("secretsmanager delete_secret(RecoveryWindowInDays=7)",
      lambda: sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7))
check("secretsmanager describe_secret(scheduled for deletion)", lambda: sm.describe_secret(SecretId=arn),
      lambda r: ("DeletedDate is set, but to the scheduled purge time (now + 7 days), not the time of the delete "
                 f"as on AWS: {r.get('DeletedDate')}") if r.get("DeletedDate") and r["DeletedDate"].timestamp() > time.time() + 3600
      else (None if r.get("DeletedDate") else "no DeletedDate"))
check("secretsmanager get_secret_value(scheduled for deletion)", lambda: error_of(lambda: sm.get_secret_value(SecretId=arn)),
      lambda code: None if code == "InvalidRequestException" else f"error {code}")
check("secretsmanager list_secrets(scheduled for deletion)", lambda: (
    [x["Name"] for x in sm.list_secrets(Filters=[{"Key": "tag-key", "Values": ["bbws:tenant"]}])["SecretList"]],
    [x["Name"] for x in sm.list_secrets(IncludePlannedDeletion=True, Filters=[{"Key": "tag-key", "Values": ["bbws:tenant"]}])["SecretList"]]),
    lambda r: None if name not in r[0] and name in r[1] else f"{r}")
check("secretsmanager create_secret(name scheduled for deletion)",
      lambda: error_of(lambda: sm.create_secret(Name=name, SecretString="{}")),
      lambda code: f"error {code} (AWS answers InvalidRequestException)" if code != "InvalidRequestException" else None)
check("secretsmanager restore_secret", lambda: (sm.restore_secret(SecretId=arn), sm.describe_secret(SecretId=arn))[1],
      lambda r: "DeletedDate still set" if r.get("DeletedDate") else None)
check("secretsmanager delete_secret(ForceDeleteWithoutRecovery)",
      lambda: (sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True), error_of(lambda: sm.describe_secret(SecretId=arn)))[1],
      lambda code: None if code == "ResourceNotFoundException" else f"describe afterwards: {code}")

# --- CloudWatch Logs
lg = f"/ecs/{ENV}-{T}"
lg_arn = f"arn:aws:logs:{S['region']}:123456789012:log-group:{lg}"
check("logs create_log_group(tags)", lambda: logs.create_log_group(logGroupName=lg, tags=tagmap(TAGS)))
check("logs create_log_group(exists)", lambda: error_of(lambda: logs.create_log_group(logGroupName=lg)),
      lambda code: None if code == "ResourceAlreadyExistsException" else f"error {code}")
check("logs put_retention_policy(30)", lambda: logs.put_retention_policy(logGroupName=lg, retentionInDays=30))
check("logs put_retention_policy(31, invalid on AWS)", lambda: error_of(lambda: logs.put_retention_policy(logGroupName=lg, retentionInDays=31)),
      lambda code: "accepted (AWS rejects values outside 1,3,5,7,14,30,60,90,...)" if code is None else None)
logs.put_retention_policy(logGroupName=lg, retentionInDays=30)
check("logs describe_log_groups(logGroupNamePrefix)", lambda: logs.describe_log_groups(logGroupNamePrefix=lg)["logGroups"],
      lambda g: None if g and g[0]["retentionInDays"] == 30 else f"{g}")
check("logs list_tags_for_resource(log group ARN without :*)", lambda: logs.list_tags_for_resource(resourceArn=lg_arn)["tags"],
      lambda t: None if t == tagmap(TAGS) else f"{t}")
check("logs list_tags_log_group (deprecated)", lambda: logs.list_tags_log_group(logGroupName=lg)["tags"],
      lambda t: None if t == tagmap(TAGS) else f"{t}")
check("logs tag_resource / untag_resource", lambda: (logs.tag_resource(resourceArn=lg_arn, tags={"k": "v"}),
                                                     logs.untag_resource(resourceArn=lg_arn, tagKeys=["k"]),
                                                     logs.list_tags_for_resource(resourceArn=lg_arn)["tags"])[2],
      lambda t: None if t == tagmap(TAGS) else f"{t}")
check("logs create_log_stream + put_log_events + get_log_events", lambda: (
    logs.create_log_stream(logGroupName=lg, logStreamName="audit"),
    logs.put_log_events(logGroupName=lg, logStreamName="audit", logEvents=[{"timestamp": int(time.time() * 1000), "message": "{}"}]),
    logs.get_log_events(logGroupName=lg, logStreamName="audit")["events"])[2],
    lambda ev: None if len(ev) == 1 else f"{ev}")
check("logs delete_log_group", lambda: logs.delete_log_group(logGroupName=lg))
check("logs delete_log_group(missing)", lambda: error_of(lambda: logs.delete_log_group(logGroupName=lg)),
      lambda code: None if code == "ResourceNotFoundException" else f"error {code}")

# --- EFS
ap = check("efs create_access_point(Tags, PosixUser, RootDirectory+CreationInfo)", lambda: efs.create_access_point(
    ClientToken=f"probe-{T}", FileSystemId=S["efs_file_system_id"], Tags=TAGS + [{"Key": "Name", "Value": f"{ENV}-{T}-ap"}],
    PosixUser={"Uid": 33, "Gid": 33}, RootDirectory={"Path": f"/{T}", "CreationInfo": {"OwnerUid": 33, "OwnerGid": 33, "Permissions": "0755"}}),
    lambda r: None if r["LifeCycleState"] == "available" and r["RootDirectory"]["Path"] == f"/{T}" else f"{r}")
ap_id = ap["AccessPointId"]
dup = check("efs create_access_point(same ClientToken)", lambda: efs.create_access_point(
    ClientToken=f"probe-{T}", FileSystemId=S["efs_file_system_id"], PosixUser={"Uid": 33, "Gid": 33}, RootDirectory={"Path": f"/{T}"}),
    lambda r: "not idempotent: a second access point is created (AWS returns the first)" if r["AccessPointId"] != ap_id else None)
if dup and dup["AccessPointId"] != ap_id:
    efs.delete_access_point(AccessPointId=dup["AccessPointId"])
check("efs describe_access_points(FileSystemId)",
      lambda: [a for a in efs.describe_access_points(FileSystemId=S["efs_file_system_id"])["AccessPoints"] if a["AccessPointId"] == ap_id],
      lambda a: None if a and a[0].get("Name") == f"{ENV}-{T}-ap" and tagmap(a[0]["Tags"])["bbws:tenant"] == T else f"{a}")
check("efs describe_access_points(AccessPointId)", lambda: efs.describe_access_points(AccessPointId=ap_id)["AccessPoints"],
      lambda a: None if len(a) == 1 else f"{a}")
check("efs list_tags_for_resource(access point)", lambda: tagmap(efs.list_tags_for_resource(ResourceId=ap_id)["Tags"]),
      lambda t: None if t.get("bbws:tenant") == T else f"{t}")
check("efs delete_access_point", lambda: efs.delete_access_point(AccessPointId=ap_id))
check("efs delete_access_point(missing)", lambda: error_of(lambda: efs.delete_access_point(AccessPointId=ap_id)),
      lambda code: "succeeds (AWS: AccessPointNotFound)" if code is None else (None if code == "AccessPointNotFound" else f"error {code}"))

# --- ELBv2
tg_name = f"{ENV}-{T}-tg"
tg_args = dict(Name=tg_name, Protocol="HTTP", Port=80, VpcId=S["vpc_id"], TargetType="ip", HealthCheckProtocol="HTTP",
               HealthCheckPath="/wp-login.php", Matcher={"HttpCode": "200-399"}, HealthCheckIntervalSeconds=30,
               HealthyThresholdCount=2, UnhealthyThresholdCount=3)
tg = check("elbv2 create_target_group(ip, health check /wp-login.php, Tags)",
           lambda: elb.create_target_group(**tg_args, Tags=TAGS)["TargetGroups"][0],
           lambda r: None if r["TargetType"] == "ip" and r["HealthCheckPath"] == "/wp-login.php" else f"{r}")
tg_arn = tg["TargetGroupArn"]
check("elbv2 create_target_group(same name, same settings)", lambda: error_of(lambda: elb.create_target_group(**tg_args)),
      lambda code: f"error {code} (AWS returns the existing group)" if code else None)
check("elbv2 describe_target_groups(Names)", lambda: elb.describe_target_groups(Names=[tg_name])["TargetGroups"])
check("elbv2 describe_tags(target group)", lambda: tagmap(elb.describe_tags(ResourceArns=[tg_arn])["TagDescriptions"][0]["Tags"]),
      lambda t: None if t == tagmap(TAGS) else f"{t}")
check("elbv2 modify_target_group(HealthCheckPath)",
      lambda: elb.modify_target_group(TargetGroupArn=tg_arn, HealthCheckPath="/wp-login.php")["TargetGroups"][0])
check("elbv2 describe_target_health", lambda: elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"],
      lambda t: "always empty: no targets are ever registered (ECS tasks do not run)" if not t else None)

L = S["listener_arn"]
used = {r["Priority"] for r in elb.describe_rules(ListenerArn=L)["Rules"]}
prio = next(p for p in range(49000, 50000) if str(p) not in used)
host = lambda h: [{"Field": "host-header", "HostHeaderConfig": {"Values": [h]}}]  # noqa: E731
fwd = [{"Type": "forward", "TargetGroupArn": tg_arn}]
fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/html", "MessageBody": "<h1>suspended</h1>"}}]
rule = check("elbv2 create_rule(host-header, forward, Tags) on the HTTPS listener",
             lambda: elb.create_rule(ListenerArn=L, Priority=prio, Conditions=host(FQDN), Actions=fwd, Tags=TAGS)["Rules"][0])
rule_arn = rule["RuleArn"]
check("elbv2 create_rule(priority in use)", lambda: error_of(lambda: elb.create_rule(ListenerArn=L, Priority=prio, Conditions=host("x." + FQDN), Actions=fwd)),
      lambda code: None if code == "PriorityInUse" else f"error {code}")
check("elbv2 describe_tags(rule ARN)", lambda: tagmap(elb.describe_tags(ResourceArns=[rule_arn])["TagDescriptions"][0]["Tags"]),
      lambda t: None if t == tagmap(TAGS) else f"{t}")
check("elbv2 modify_rule(conditions)", lambda: elb.modify_rule(RuleArn=rule_arn, Conditions=host("b" + FQDN))["Rules"][0]["Conditions"],
      lambda c: None if c[0]["HostHeaderConfig"]["Values"] == ["b" + FQDN] else f"{c}")
check("elbv2 modify_rule(fixed-response action)", lambda: elb.modify_rule(RuleArn=rule_arn, Actions=fixed)["Rules"][0]["Actions"],
      lambda a: None if a[0]["Type"] == "fixed-response" else f"{a}")
check("elbv2 modify_rule(back to forward)", lambda: elb.modify_rule(RuleArn=rule_arn, Conditions=host(FQDN), Actions=fwd)["Rules"][0])
check("elbv2 describe_rules(RuleArns)", lambda: elb.describe_rules(RuleArns=[rule_arn])["Rules"][0],
      lambda r: None if r["Priority"] == str(prio) and r["Actions"][0]["Type"] == "forward" else f"{r}")


def all_rules():
    out, marker = [], None
    for _ in range(1000):
        page = elb.describe_rules(ListenerArn=L, PageSize=2, **({"Marker": marker} if marker else {}))
        out += page["Rules"]
        marker = page.get("NextMarker")
        if not marker:
            return out
    raise RuntimeError("pagination does not end")


check("elbv2 describe_rules(ListenerArn, PageSize/Marker)", all_rules,
      lambda rs: None if rule_arn in [r["RuleArn"] for r in rs] and rs[-1]["IsDefault"] else f"{len(rs)} rules")
check("elbv2 create_rule(old-style Values + ForwardConfig)", lambda: elb.create_rule(
    ListenerArn=L, Priority=prio + 1 if str(prio + 1) not in used else prio - 1,
    Conditions=[{"Field": "host-header", "Values": ["old." + FQDN]}],
    Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg_arn, "Weight": 1}]}}])["Rules"][0],
    lambda r: ("echoed back only in the form sent: Conditions has Values but no HostHeaderConfig, Actions has ForwardConfig "
               "but no TargetGroupArn (AWS fills in both forms); send and read HostHeaderConfig + TargetGroupArn")
    if "HostHeaderConfig" not in r["Conditions"][0] or "TargetGroupArn" not in r["Actions"][0] else None)
for r in elb.describe_rules(ListenerArn=L)["Rules"]:
    if r["Conditions"] and r["Conditions"][0].get("Values") == ["old." + FQDN]:
        elb.delete_rule(RuleArn=r["RuleArn"])
new_prio = next(p for p in range(47000, 48000) if str(p) not in used)
check("elbv2 set_rule_priorities(free priority)", lambda: elb.set_rule_priorities(RulePriorities=[{"RuleArn": rule_arn, "Priority": new_prio}])["Rules"],
      lambda r: None if r[0]["Priority"] == str(new_prio) else f"{r}")
fixed_rule = check("elbv2 create_rule(fixed-response)", lambda: elb.create_rule(
    ListenerArn=L, Priority=next(p for p in range(48000, 49000) if str(p) not in used), Conditions=host("s" + FQDN), Actions=fixed, Tags=TAGS)["Rules"][0])
check("elbv2 delete_rule(fixed-response rule)", lambda: elb.delete_rule(RuleArn=fixed_rule["RuleArn"]))

# --- Route53
lb = elb.describe_load_balancers(LoadBalancerArns=[S["load_balancer_arn"]])["LoadBalancers"][0]
Z = S["hosted_zone_id"]
alias = {"Name": FQDN, "Type": "A", "AliasTarget": {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"], "EvaluateTargetHealth": True}}
cname = {"Name": "c" + FQDN, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": lb["DNSName"]}]}
change = lambda action, rrs: r53.change_resource_record_sets(HostedZoneId=Z, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrs}]})  # noqa: E731
check("route53 change_resource_record_sets(UPSERT A alias to the ALB)", lambda: change("UPSERT", alias)["ChangeInfo"],
      info=lambda c: f"ALB alias target: HostedZoneId {lb['CanonicalHostedZoneId']}, DNSName {lb['DNSName']}; change status {c['Status']} at once")
check("route53 change_resource_record_sets(UPSERT CNAME)", lambda: change("UPSERT", cname))
check("route53 list_resource_record_sets", lambda: {(r["Name"], r["Type"]): r for r in r53.list_resource_record_sets(HostedZoneId=Z)["ResourceRecordSets"]},
      lambda rs: None if (FQDN + ".", "A") in rs and rs[(FQDN + ".", "A")]["AliasTarget"]["DNSName"].rstrip(".") == lb["DNSName"]
      and ("c" + FQDN + ".", "CNAME") in rs else f"{list(rs)}")
check("route53 list_resource_record_sets(StartRecordName/Type, MaxItems=1)",
      lambda: r53.list_resource_record_sets(HostedZoneId=Z, StartRecordName=FQDN, StartRecordType="A", MaxItems="1")["ResourceRecordSets"],
      lambda rs: None if rs and rs[0]["Name"] == FQDN + "." else f"{rs}")
def create_existing():
    code = error_of(lambda: change("CREATE", cname))
    n = [(r["Name"], r["Type"]) for r in r53.list_resource_record_sets(HostedZoneId=Z)["ResourceRecordSets"]].count(("c" + FQDN + ".", "CNAME"))
    return code, n


check("route53 CREATE(record that exists, made by UPSERT)", create_existing,
      lambda r: f"no error: a DUPLICATE record set is added ({r[1]} CNAMEs listed); moto detects duplicates only against "
                "an identical earlier CREATE (AWS: InvalidChangeBatch). Use UPSERT." if r[0] is None else
      (None if r[0] == "InvalidChangeBatch" else f"error {r[0]}"))
check("route53 DELETE(TTL/values that do not match)", lambda: error_of(lambda: change("DELETE", dict(cname, ResourceRecords=[{"Value": "other.example"}]))),
      lambda code: "succeeds and deletes the record (AWS: InvalidChangeBatch)" if code is None else
      (None if code == "InvalidChangeBatch" else f"error {code} 'Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]...' "
       "(AWS: InvalidChangeBatch); moto checks DELETEs against its journal of earlier CREATE/UPSERTs, not the live records"))
check("route53 DELETE(A alias with another DNSName)", lambda: error_of(lambda: change("DELETE", dict(alias, AliasTarget=dict(alias["AliasTarget"], DNSName="other.example")))),
      lambda code: "succeeds and deletes the record: AliasTarget is not compared (AWS: InvalidChangeBatch)" if code is None else None)
change("UPSERT", alias)
check("route53 DELETE A alias", lambda: change("DELETE", alias))
check("route53 DELETE CNAME", lambda: change("DELETE", cname))
check("route53 DELETE(record already deleted)", lambda: error_of(lambda: change("DELETE", cname)),
      lambda code: "succeeds (AWS: InvalidChangeBatch)" if code is None else None)
check("route53 list_resource_record_sets(after the DELETEs)",
      lambda: [r["Name"] for r in r53.list_resource_record_sets(HostedZoneId=Z)["ResourceRecordSets"] if FQDN in r["Name"]],
      lambda names: f"left behind: {names}" if names else None)

# --- ECS
family = f"{ENV}-{T}"
td_args = dict(
    family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="512", memory="1024",
    executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    containerDefinitions=[{
        "name": "wordpress", "image": "wordpress:6.6-php8.3-apache", "essential": True,
        "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
        "environment": [{"name": "WP_DEBUG", "value": "false"}],
        "secrets": [{"name": "WORDPRESS_DB_PASSWORD", "valueFrom": f"arn:aws:secretsmanager:{S['region']}:123456789012:secret:{ENV}-{T}-db-credentials-AbCdEf:password::"}],
        "mountPoints": [{"sourceVolume": "wp-content", "containerPath": "/var/www/html/wp-content"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": lg, "awslogs-region": S["region"], "awslogs-stream-prefix": "wordpress"}},
    }],
    volumes=[{"name": "wp-content", "efsVolumeConfiguration": {"fileSystemId": S["efs_file_system_id"], "transitEncryption": "ENABLED",
                                                               "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"}}}],
    tags=ECS_TAGS)
td1 = check("ecs register_task_definition(Fargate, awsvpc, EFS access point, secret valueFrom, tags)",
            lambda: ecs.register_task_definition(**td_args)["taskDefinition"],
            lambda t: None if t["volumes"][0]["efsVolumeConfiguration"]["authorizationConfig"]["accessPointId"] == "fsap-0123456789abcdef0" else f"{t}")
td2 = check("ecs register_task_definition(revision 2)", lambda: ecs.register_task_definition(**dict(td_args, cpu="1024", memory="2048"))["taskDefinition"],
            lambda t: None if t["revision"] == td1["revision"] + 1 else f"revision {t['revision']}")
check("ecs register_task_definition(cpu/memory Fargate rejects: 333/1024)",
      lambda: error_of(lambda: ecs.register_task_definition(**dict(td_args, cpu="333"))),
      lambda code: "accepted (no Fargate cpu/memory validation): validate in bbws" if code is None else None)
check("ecs describe_task_definition(family, include TAGS)", lambda: ecs.describe_task_definition(taskDefinition=family, include=["TAGS"]),
      lambda r: None if tagmap(r.get("tags"), "key", "value") == tagmap(TAGS) else f"tags {r.get('tags')}")
ni = {"awsvpcConfiguration": {"subnets": S["subnet_ids"], "securityGroups": S["security_group_ids"], "assignPublicIp": "DISABLED"}}
svc_name = f"{ENV}-{T}-service"
svc_args = dict(cluster=S["cluster"], serviceName=svc_name, taskDefinition=td1["taskDefinitionArn"], desiredCount=2, launchType="FARGATE",
                networkConfiguration=ni, loadBalancers=[{"targetGroupArn": tg_arn, "containerName": "wordpress", "containerPort": 80}],
                deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100},
                healthCheckGracePeriodSeconds=60, propagateTags="SERVICE", enableECSManagedTags=True, tags=ECS_TAGS)
check("ecs create_service(FARGATE, awsvpc subnets+securityGroups, loadBalancers, tags)", lambda: ecs.create_service(**svc_args)["service"],
      lambda s: None if s["loadBalancers"] and tagmap(s["tags"], "key", "value") == tagmap(TAGS) else f"{s}")
check("ecs create_service(awsvpc without securityGroups)", lambda: error_of(lambda: ecs.create_service(
    cluster=S["cluster"], serviceName=f"{ENV}-{T}-nosg", taskDefinition=family, desiredCount=0, launchType="FARGATE",
    networkConfiguration={"awsvpcConfiguration": {"subnets": S["subnet_ids"]}})),
    lambda code: f"error {code}: HTTP 500 from moto (KeyError 'securityGroups' in moto/ecs/models.py _validate_network); always send securityGroups" if code else None)
check("ecs create_service(same name, service ACTIVE)", lambda: ecs.create_service(**dict(svc_args, tags=[], loadBalancers=[]))["service"],
      lambda s: "no error: the existing service is silently REPLACED (loadBalancers and tags now empty); AWS answers "
                "InvalidParameterException 'Creation of service was not idempotent'. Describe before create." if not s["loadBalancers"] else None)
ecs.update_service(cluster=S["cluster"], service=svc_name, desiredCount=2)
ecs.tag_resource(resourceArn=f"arn:aws:ecs:{S['region']}:123456789012:service/{S['cluster']}/{svc_name}", tags=ECS_TAGS)
check("ecs update_service(taskDefinition, desiredCount)", lambda: ecs.update_service(
    cluster=S["cluster"], service=svc_name, taskDefinition=td2["taskDefinitionArn"], desiredCount=3)["service"],
    lambda s: (f"taskDefinition/desiredCount updated, runningCount jumps to desiredCount ({s['runningCount']}); deployments[] "
               f"is not touched (PRIMARY still {s['deployments'][0]['taskDefinition'].split('/')[-1]}, rolloutState "
               f"{s['deployments'][0]['rolloutState']} forever): no rollout or circuit-breaker rollback is emulated")
    if s["taskDefinition"] == td2["taskDefinitionArn"] else f"{s['taskDefinition']}")
check("ecs describe_services(include TAGS)", lambda: ecs.describe_services(cluster=S["cluster"], services=[svc_name, "missing-service"], include=["TAGS"]),
      lambda r: None if tagmap(r["services"][0]["tags"], "key", "value") == tagmap(TAGS) and r["failures"][0]["reason"] == "MISSING" else f"{r}")
check("ecs list_tasks(serviceName)", lambda: ecs.list_tasks(cluster=S["cluster"], serviceName=svc_name)["taskArns"],
      lambda t: "empty: services start no tasks" if not t else None)
check("ecs delete_service(force=True)", lambda: ecs.delete_service(cluster=S["cluster"], service=svc_name, force=True)["service"],
      lambda s: None if s["status"] == "INACTIVE" else f"status {s['status']}")
check("ecs describe_services(deleted)", lambda: ecs.describe_services(cluster=S["cluster"], services=[svc_name])["services"],
      lambda s: None if s and s[0]["status"] == "INACTIVE" else f"{s}")
check("ecs list_services(after delete)", lambda: ecs.list_services(cluster=S["cluster"])["serviceArns"],
      lambda arns: "still lists the INACTIVE service (AWS lists only ACTIVE/DRAINING)" if any(a.endswith("/" + svc_name) for a in arns) else None)
check("ecs update_service(deleted service)", lambda: error_of(lambda: ecs.update_service(cluster=S["cluster"], service=svc_name, desiredCount=1)),
      lambda code: "succeeds on the INACTIVE service (AWS: ServiceNotActiveException)" if code is None else None)
check("ecs create_service(name of an INACTIVE service)", lambda: ecs.create_service(**svc_args)["service"]["status"],
      lambda st: None if st == "ACTIVE" else st)
ecs.delete_service(cluster=S["cluster"], service=svc_name, force=True)
check("ecs deregister_task_definition", lambda: ecs.deregister_task_definition(taskDefinition=td2["taskDefinitionArn"])["taskDefinition"]["status"],
      lambda st: None if st == "INACTIVE" else st)
check("ecs delete_task_definitions", lambda: ecs.delete_task_definitions(taskDefinitions=[td2["taskDefinitionArn"]])["taskDefinitions"][0]["status"],
      lambda st: None if st == "DELETE_IN_PROGRESS" else st)
ecs.deregister_task_definition(taskDefinition=td1["taskDefinitionArn"])

# --- ELBv2 clean-up (after the service is gone)
check("elbv2 delete_rule", lambda: elb.delete_rule(RuleArn=rule_arn))
check("elbv2 delete_rule(missing)", lambda: error_of(lambda: elb.delete_rule(RuleArn=rule_arn)),
      lambda code: "succeeds (AWS: RuleNotFound)" if code is None else None)
check("elbv2 describe_rules(RuleArns, deleted)", lambda: error_of(lambda: elb.describe_rules(RuleArns=[rule_arn])),
      lambda code: None if code == "RuleNotFound" else f"error {code}")
check("elbv2 delete_target_group", lambda: elb.delete_target_group(TargetGroupArn=tg_arn))
check("elbv2 delete_target_group(missing)", lambda: error_of(lambda: elb.delete_target_group(TargetGroupArn=tg_arn)),
      info=lambda code: f"error {code}")

sys.exit(1 if failures else 0)
