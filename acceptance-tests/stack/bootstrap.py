"""Create the platform one environment's tenants live on, in the moto
emulator, idempotently: VPC, two subnets, security group, ALB with an HTTP
and an HTTPS listener, ECS cluster, hosted zone, EFS file system, RDS
instance record and the MySQL admin secret. Prints the settings as JSON.

usage: bootstrap.py ENDPOINT MYSQL_PORT ADMIN_PASSWORD
"""
import json
import sys

import boto3

ENDPOINT, MYSQL_PORT, ADMIN_PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]
REGION, ENV, DOMAIN = "eu-west-1", "dev", "dev.bbws.test"
kw = dict(endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
ec2, elb, ecs = boto3.client("ec2", **kw), boto3.client("elbv2", **kw), boto3.client("ecs", **kw)
r53, efs, rds = boto3.client("route53", **kw), boto3.client("efs", **kw), boto3.client("rds", **kw)
sm, acm = boto3.client("secretsmanager", **kw), boto3.client("acm", **kw)
TAG = {"Key": "bbws:platform", "Value": ENV}


def by_tag(items, key="Tags"):
    return [i for i in items if TAG in (i.get(key) or [])]


vpcs = by_tag(ec2.describe_vpcs()["Vpcs"])
vpc = vpcs[0]["VpcId"] if vpcs else ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [TAG]}])["Vpc"]["VpcId"]
subnets = [s["SubnetId"] for s in by_tag(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"])]
for i, az in enumerate(["a", "b"][len(subnets):], start=len(subnets)):
    subnets.append(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{az}", TagSpecifications=[{"ResourceType": "subnet", "Tags": [TAG]}])["Subnet"]["SubnetId"])
sgs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{ENV}-wordpress-tasks"]}])["SecurityGroups"]
sg = sgs[0]["GroupId"] if sgs else ec2.create_security_group(GroupName=f"{ENV}-wordpress-tasks", Description="WordPress tasks", VpcId=vpc)["GroupId"]

try:
    lb = elb.describe_load_balancers(Names=[f"{ENV}-alb"])["LoadBalancers"][0]
except elb.exceptions.LoadBalancerNotFoundException:
    lb = elb.create_load_balancer(Name=f"{ENV}-alb", Subnets=subnets, SecurityGroups=[sg], Scheme="internet-facing", Type="application", Tags=[TAG])["LoadBalancers"][0]
listeners = {l["Port"]: l["ListenerArn"] for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
default_action = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no such site"}}]
if 80 not in listeners:
    listeners[80] = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=default_action)["Listeners"][0]["ListenerArn"]
if 443 not in listeners:
    cert = acm.request_certificate(DomainName=f"*.{DOMAIN}")["CertificateArn"]
    listeners[443] = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": cert}], DefaultActions=default_action
    )["Listeners"][0]["ListenerArn"]

if f"{ENV}-cluster" not in [c.split("/")[-1] for c in ecs.list_clusters()["clusterArns"]]:
    ecs.create_cluster(clusterName=f"{ENV}-cluster")

zones = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == DOMAIN]
zone = zones[0]["Id"].split("/")[-1] if zones else r53.create_hosted_zone(Name=DOMAIN, CallerReference=f"bbws-{ENV}")["HostedZone"]["Id"].split("/")[-1]

fss = [f for f in efs.describe_file_systems()["FileSystems"] if f.get("Name") == f"{ENV}-wordpress-efs"]
fs = fss[0]["FileSystemId"] if fss else efs.create_file_system(CreationToken=f"{ENV}-wordpress-efs", Tags=[{"Key": "Name", "Value": f"{ENV}-wordpress-efs"}])["FileSystemId"]

try:
    rds.describe_db_instances(DBInstanceIdentifier=f"{ENV}-shared-mysql")
except rds.exceptions.DBInstanceNotFoundFault:
    rds.create_db_instance(DBInstanceIdentifier=f"{ENV}-shared-mysql", Engine="mysql", DBInstanceClass="db.t3.medium", MasterUsername="bbws_admin", MasterUserPassword=ADMIN_PASSWORD, AllocatedStorage=20)

admin = json.dumps({"username": "bbws_admin", "password": ADMIN_PASSWORD, "host": "127.0.0.1", "port": MYSQL_PORT})
try:
    secret_arn = sm.describe_secret(SecretId=f"bbws/{ENV}/mysql-admin")["ARN"]
    sm.put_secret_value(SecretId=secret_arn, SecretString=admin)
except sm.exceptions.ResourceNotFoundException:
    secret_arn = sm.create_secret(Name=f"bbws/{ENV}/mysql-admin", SecretString=admin)["ARN"]

print(json.dumps({
    "environment": ENV, "domain": DOMAIN, "region": REGION, "endpoint": ENDPOINT,
    "aws_access_key_id": "test", "aws_secret_access_key": "test",
    "cluster": f"{ENV}-cluster", "vpc_id": vpc, "subnet_ids": subnets, "security_group_ids": [sg],
    "listener_arn": listeners[443], "http_listener_arn": listeners[80], "load_balancer_arn": lb["LoadBalancerArn"],
    "hosted_zone_id": zone, "efs_file_system_id": fs,
    "database": {"instance_identifier": f"{ENV}-shared-mysql", "host": "127.0.0.1", "port": MYSQL_PORT, "admin_secret_arn": secret_arn},
}))
