#!/usr/bin/env python3
"""Out-of-band changes to one tenant's parts, for the drift tests: what an
operator with the AWS console or a mysql prompt might do behind Terraform's
back. Uses boto3 and the `mariadb` client only -- never bbws-core.

usage: oob.py SETTINGS_JSON TENANT_ID SUBDOMAIN ACTION [ARG]
actions: delete-service delete-task-definition delete-target-group
         delete-listener-rule delete-dns-record delete-access-point
         delete-secret delete-log-group delete-database delete-database-user
         set-desired-count N   set-rule-host HOST   set-log-retention DAYS
         set-scaling-max N (min 1)   deregister-scaling   (the service's scalable target)
         set-alarm-threshold N   delete-alarm   (the tenant's unhealthy-hosts alarm)
         detach-certificate   delete-certificate   (the certificate the service's
                              bbws:certificate tag names: off the listener / and deleted)
         create-cname TARGET   delete-cname TARGET   (a record bbws does not own)
         set-lease SECONDS     (the creation lease a run holds, expiring SECONDS from now;
                                negative: the expired lease of a run that was killed)
         hold-lease SECONDS    (a live run's lease: renewed every 3 s for SECONDS)
         create-a IP   delete-a IP   (a plain A record bbws does not own)
         show-record   (prints every record at the name, as JSON)
         put-log-events N   (N events "line 0".."line N-1" into the tenant's log group, two streams)
         put-metrics        (ALB and ECS metric data for the tenant, as AWS would publish it:
                             RequestCount 40 then 2 a minute apart, one 5xx, CPU 20 and 40)
"""
import json
import subprocess
import sys

import boto3


def main():
    settings = json.load(open(sys.argv[1]))
    tid, sub, action = sys.argv[2], sys.argv[3], sys.argv[4]
    arg = sys.argv[5] if len(sys.argv) > 5 else None
    env, domain = settings["environment"], settings["domain"].rstrip(".")
    fqdn = f"{sub}.{domain}"
    kw = dict(
        endpoint_url=settings["endpoint"],
        region_name=settings["region"],
        aws_access_key_id=settings.get("aws_access_key_id", "test"),
        aws_secret_access_key=settings.get("aws_secret_access_key", "test"),
    )
    ecs, elb, r53 = boto3.client("ecs", **kw), boto3.client("elbv2", **kw), boto3.client("route53", **kw)
    efs, sm, logs = boto3.client("efs", **kw), boto3.client("secretsmanager", **kw), boto3.client("logs", **kw)
    cluster, service = settings["cluster"], f"{env}-{tid}-service"

    def rule_arn():
        rules = elb.describe_rules(ListenerArn=settings["listener_arn"])["Rules"]
        for r in rules:
            for c in r.get("Conditions", []):
                hosts = c.get("Values") or c.get("HostHeaderConfig", {}).get("Values", [])
                if c.get("Field") == "host-header" and fqdn in hosts:
                    return r["RuleArn"]
        raise SystemExit(f"no listener rule for {fqdn}")

    def sql(statement):
        m = settings["mysql"]
        subprocess.run(
            ["mariadb", "-h", m["host"], "-P", str(m["port"]), "-u", m["admin_user"], f"-p{m['admin_password']}", "-e", statement],
            check=True,
        )

    if action == "delete-service":
        ecs.delete_service(cluster=cluster, service=service, force=True)
    elif action == "delete-task-definition":
        for a in ecs.list_task_definitions(familyPrefix=f"{env}-{tid}", status="ACTIVE")["taskDefinitionArns"]:
            ecs.deregister_task_definition(taskDefinition=a)
    elif action == "delete-target-group":
        # ELBv2 refuses to delete a target group a rule forwards to, so an
        # operator deletes the rule first.
        elb.delete_rule(RuleArn=rule_arn())
        arn = elb.describe_target_groups(Names=[f"{env}-{tid}-tg"])["TargetGroups"][0]["TargetGroupArn"]
        elb.delete_target_group(TargetGroupArn=arn)
    elif action == "delete-listener-rule":
        elb.delete_rule(RuleArn=rule_arn())
    elif action == "delete-dns-record":
        zone = settings["hosted_zone_id"]
        for rs in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]:
            if rs["Name"].rstrip(".") == fqdn:
                r53.change_resource_record_sets(
                    HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": rs}]}
                )
    elif action == "delete-access-point":
        for ap in efs.describe_access_points(FileSystemId=settings["efs_file_system_id"])["AccessPoints"]:
            if {t["Key"]: t["Value"] for t in ap.get("Tags", [])}.get("Name") == f"{env}-{tid}-ap":
                efs.delete_access_point(AccessPointId=ap["AccessPointId"])
    elif action in ("set-lease", "hold-lease"):
        import time
        secret = f"{env}-{tid}-db-credentials"

        def lease(expires_in):
            value = f"oob-run@{int(time.time() + expires_in)}"
            sm.tag_resource(SecretId=secret, Tags=[{"Key": "bbws:lease", "Value": value}])

        if action == "set-lease":
            lease(int(arg))
        else:
            end = time.time() + int(arg)
            while time.time() < end:
                lease(20)
                time.sleep(3)
    elif action == "delete-secret":
        sm.delete_secret(SecretId=f"{env}-{tid}-db-credentials", ForceDeleteWithoutRecovery=True)
    elif action == "delete-log-group":
        logs.delete_log_group(logGroupName=f"/ecs/{env}-{tid}")
    elif action == "delete-database":
        sql(f"DROP DATABASE `{tid}_db`")
    elif action == "delete-database-user":
        sql(f"DROP USER '{tid}_user'@'%'")
    elif action == "set-desired-count":
        ecs.update_service(cluster=cluster, service=service, desiredCount=int(arg))
    elif action in ("set-scaling-max", "deregister-scaling"):
        aas = boto3.client("application-autoscaling", **kw)
        rid = dict(ServiceNamespace="ecs", ResourceId=f"service/{cluster.rsplit('/', 1)[-1]}/{service}", ScalableDimension="ecs:service:DesiredCount")
        if action == "set-scaling-max":
            aas.register_scalable_target(MinCapacity=1, MaxCapacity=int(arg), **rid)
        else:
            aas.deregister_scalable_target(**rid)
    elif action in ("set-alarm-threshold", "delete-alarm"):
        cw = boto3.client("cloudwatch", **kw)
        name = f"{env}-{tid}-unhealthy-hosts"
        if action == "delete-alarm":
            cw.delete_alarms(AlarmNames=[name])
        else:
            a = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
            keep = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "EvaluationPeriods",
                    "DatapointsToAlarm", "ComparisonOperator", "TreatMissingData", "Metrics")
            cw.put_metric_alarm(Threshold=float(arg), **{k: a[k] for k in keep if k in a})
    elif action in ("detach-certificate", "delete-certificate"):
        tags = ecs.list_tags_for_resource(resourceArn=ecs.describe_services(cluster=cluster, services=[service])["services"][0]["serviceArn"])["tags"]
        arn = next(t["value"] for t in tags if t["key"] == "bbws:certificate")
        elb.remove_listener_certificates(ListenerArn=settings["listener_arn"], Certificates=[{"CertificateArn": arn}])
        if action == "delete-certificate":
            boto3.client("acm", **kw).delete_certificate(CertificateArn=arn)
    elif action == "set-rule-host":
        elb.modify_rule(RuleArn=rule_arn(), Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [arg]}}])
    elif action == "set-log-retention":
        logs.put_retention_policy(logGroupName=f"/ecs/{env}-{tid}", retentionInDays=int(arg))
    elif action in ("create-cname", "delete-cname"):
        change = {
            "Action": "CREATE" if action == "create-cname" else "DELETE",
            "ResourceRecordSet": {"Name": fqdn, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": arg}]},
        }
        r53.change_resource_record_sets(HostedZoneId=settings["hosted_zone_id"], ChangeBatch={"Changes": [change]})
    elif action in ("create-a", "delete-a"):
        change = {
            "Action": "CREATE" if action == "create-a" else "DELETE",
            "ResourceRecordSet": {"Name": fqdn, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": arg}]},
        }
        r53.change_resource_record_sets(HostedZoneId=settings["hosted_zone_id"], ChangeBatch={"Changes": [change]})
    elif action == "put-log-events":
        import time
        now = int(time.time() * 1000)
        group = f"/ecs/{env}-{tid}"
        for stream in ("wordpress/a", "wordpress/b"):
            try:
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
        for i in range(int(arg)):
            # Alternate streams, a millisecond apart: the reader interleaves them.
            logs.put_log_events(logGroupName=group, logStreamName=("wordpress/a", "wordpress/b")[i % 2],
                                logEvents=[{"timestamp": now - 60_000 + i, "message": f"line {i}"}])
    elif action == "put-metrics":
        import datetime
        cw = boto3.client("cloudwatch", **kw)
        # The dimensions AWS publishes: the ALB and target group as the
        # last part of their ARNs, the service by cluster and name.
        rule = rule_arn()
        lb = "/".join(rule.split(":listener-rule/", 1)[1].split("/")[:3])
        tg = elb.describe_target_groups(Names=[f"{env}-{tid}-tg"])["TargetGroups"][0]["TargetGroupArn"]
        tg = tg.rsplit(":", 1)[1]
        alb = [{"Name": "LoadBalancer", "Value": lb}, {"Name": "TargetGroup", "Value": tg}]
        svc = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service}]
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        minute = datetime.timedelta(minutes=1)
        data = [
            ("AWS/ApplicationELB", "RequestCount", alb, now, 40.0),
            ("AWS/ApplicationELB", "RequestCount", alb, now + minute, 2.0),
            ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, now, 1.0),
            ("AWS/ECS", "CPUUtilization", svc, now, 20.0),
            ("AWS/ECS", "CPUUtilization", svc, now + minute, 40.0),
        ]
        for ns, name, dims, at, value in data:
            cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value}])
    elif action == "show-record":
        sets = r53.list_resource_record_sets(HostedZoneId=settings["hosted_zone_id"])["ResourceRecordSets"]
        print(json.dumps([rs for rs in sets if rs["Name"].rstrip(".") == fqdn], default=str))
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()
