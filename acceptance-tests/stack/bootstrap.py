"""Create, in the moto emulator, the platform one environment's tenants live
on -- idempotently (everything is looked up by name or tag first):

  VPC (10.42.0.0/16) with two subnets in eu-west-1a/b, a security group,
  an application load balancer `dev-alb` with an HTTP listener on 80 and an
  HTTPS listener on 443 (certificate from moto's ACM), both answering with a
  fixed 404 by default, the ECS cluster `dev-cluster`, the public hosted zone
  `dev.bbws.test`, the EFS file system `dev-wordpress-efs`, the RDS instance
  record `dev-shared-mysql` and the secret `bbws/dev/mysql-admin` holding the
  MariaDB admin credentials.

Prints the platform as one JSON document (the AWS half of settings.json).

usage: bootstrap.py ENDPOINT MYSQL_PORT ADMIN_PASSWORD_FILE
"""
import json
import sys

import boto3

ENDPOINT, MYSQL_PORT = sys.argv[1], int(sys.argv[2])
with open(sys.argv[3]) as f:
    ADMIN_PASSWORD = f.read().strip()
REGION, ENV, DOMAIN = "eu-west-1", "dev", "dev.bbws.test"
kw = dict(endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
ec2, elb, ecs = boto3.client("ec2", **kw), boto3.client("elbv2", **kw), boto3.client("ecs", **kw)
r53, efs, rds = boto3.client("route53", **kw), boto3.client("efs", **kw), boto3.client("rds", **kw)
sm, acm = boto3.client("secretsmanager", **kw), boto3.client("acm", **kw)
TAG = {"Key": "bbws:platform", "Value": ENV}


def tags(name):
    return [TAG, {"Key": "Name", "Value": name}]


def tagged(items):
    return [i for i in items if TAG in (i.get("Tags") or [])]


# Network
vpcs = tagged(ec2.describe_vpcs()["Vpcs"])
if vpcs:
    vpc = vpcs[0]["VpcId"]
else:
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags(f"{ENV}-vpc")}])["Vpc"]["VpcId"]
subnets = {s["AvailabilityZone"]: s["SubnetId"] for s in tagged(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"])}
for i, az in enumerate(["a", "b"]):
    if f"{REGION}{az}" not in subnets:
        subnets[f"{REGION}{az}"] = ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{az}",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(f"{ENV}-private-{az}")}],
        )["Subnet"]["SubnetId"]
subnet_ids = [subnets[f"{REGION}{az}"] for az in ["a", "b"]]
sg_name = f"{ENV}-wordpress-tasks"
sgs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [sg_name]}, {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
if sgs:
    sg = sgs[0]["GroupId"]
else:
    sg = ec2.create_security_group(
        GroupName=sg_name, Description="WordPress tasks and the ALB", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(sg_name)}],
    )["GroupId"]

# Load balancer and its listeners
try:
    lb = elb.describe_load_balancers(Names=[f"{ENV}-alb"])["LoadBalancers"][0]
except elb.exceptions.LoadBalancerNotFoundException:
    lb = elb.create_load_balancer(
        Name=f"{ENV}-alb", Subnets=subnet_ids, SecurityGroups=[sg], Scheme="internet-facing", Type="application", Tags=[TAG]
    )["LoadBalancers"][0]
listeners = {l["Port"]: l["ListenerArn"] for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
default_action = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no such site"}}]
if 80 not in listeners:
    listeners[80] = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=default_action
    )["Listeners"][0]["ListenerArn"]
if 443 not in listeners:
    # moto's ELBv2 wants a certificate it knows of; its ACM issues one without validation.
    cert = acm.request_certificate(DomainName=f"*.{DOMAIN}", SubjectAlternativeNames=[DOMAIN], IdempotencyToken=f"bbws{ENV}")["CertificateArn"]
    listeners[443] = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": cert}],
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06", DefaultActions=default_action,
    )["Listeners"][0]["ListenerArn"]

# ECS cluster
if not [c for c in ecs.describe_clusters(clusters=[f"{ENV}-cluster"])["clusters"] if c["status"] == "ACTIVE"]:
    ecs.create_cluster(clusterName=f"{ENV}-cluster", tags=[{"key": "bbws:platform", "value": ENV}])

# DNS
zones = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == DOMAIN and not z["Config"].get("PrivateZone")]
if zones:
    zone = zones[0]["Id"].split("/")[-1]
else:
    zone = r53.create_hosted_zone(Name=DOMAIN, CallerReference=f"bbws-{ENV}-zone")["HostedZone"]["Id"].split("/")[-1]

# EFS
fss = [f for f in efs.describe_file_systems()["FileSystems"] if f.get("Name") == f"{ENV}-wordpress-efs"]
if fss:
    fs = fss[0]["FileSystemId"]
else:
    fs = efs.create_file_system(CreationToken=f"{ENV}-wordpress-efs", Encrypted=True, Tags=tags(f"{ENV}-wordpress-efs"))["FileSystemId"]

# The shared MySQL instance (moto only stores the record; the server is the local MariaDB)
try:
    instance = rds.describe_db_instances(DBInstanceIdentifier=f"{ENV}-shared-mysql")["DBInstances"][0]
    if instance["Endpoint"]["Port"] != MYSQL_PORT:  # moto ignores DBPortNumber in modify_db_instance: recreate the record
        rds.delete_db_instance(DBInstanceIdentifier=f"{ENV}-shared-mysql", SkipFinalSnapshot=True)
        raise rds.exceptions.DBInstanceNotFoundFault({"Error": {"Code": "DBInstanceNotFound"}}, "DescribeDBInstances")
except rds.exceptions.DBInstanceNotFoundFault:
    rds.create_db_instance(
        DBInstanceIdentifier=f"{ENV}-shared-mysql", Engine="mysql", EngineVersion="8.0.39", DBInstanceClass="db.t3.medium",
        MasterUsername="bbws_admin", MasterUserPassword=ADMIN_PASSWORD, AllocatedStorage=20, Port=MYSQL_PORT,
        Tags=[TAG],
    )

# The MySQL admin credentials, as bbws reads them
admin = json.dumps({"username": "bbws_admin", "password": ADMIN_PASSWORD, "host": "127.0.0.1", "port": MYSQL_PORT})
secret_name = f"bbws/{ENV}/mysql-admin"
try:
    secret_arn = sm.describe_secret(SecretId=secret_name)["ARN"]
    if sm.get_secret_value(SecretId=secret_arn)["SecretString"] != admin:
        sm.put_secret_value(SecretId=secret_arn, SecretString=admin)
except sm.exceptions.ResourceNotFoundException:
    secret_arn = sm.create_secret(Name=secret_name, SecretString=admin, Tags=[TAG])["ARN"]

# The SNS topic tenant alarms notify (used by the alarms tests, which set
# the provider's alarm_topic_arn; CreateTopic of an existing name returns it)
alarm_topic = boto3.client("sns", **kw).create_topic(Name=f"{ENV}-tenant-alarms", Tags=[TAG])["TopicArn"]

print(json.dumps({
    "alarm_topic_arn": alarm_topic,
    "environment": ENV, "domain": DOMAIN, "region": REGION, "endpoint": ENDPOINT,
    "aws_access_key_id": "test", "aws_secret_access_key": "test",
    "cluster": f"{ENV}-cluster", "vpc_id": vpc, "subnet_ids": subnet_ids, "security_group_ids": [sg],
    "listener_arn": listeners[443], "http_listener_arn": listeners[80], "load_balancer_arn": lb["LoadBalancerArn"],
    "load_balancer_dns_name": lb["DNSName"], "load_balancer_zone_id": lb["CanonicalHostedZoneId"],
    "hosted_zone_id": zone, "efs_file_system_id": fs,
    "database": {"instance_identifier": f"{ENV}-shared-mysql", "host": "127.0.0.1", "port": MYSQL_PORT, "admin_secret_arn": secret_arn},
}))
