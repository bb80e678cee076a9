#!/usr/bin/env python3
"""A listener pool for the pool tests: N application load balancers of
their own, each with an HTTPS listener (certificate from moto's ACM, a 404
fixed response by default), as the stack's bootstrap makes `dev-alb`.
Idempotent by name; uses boto3 only, never bbws-core.

usage: pool_listeners.py SETTINGS_JSON PREFIX N
prints {"listener_arns": [...], "dns_names": [...]} in pool order
"""
import json
import sys

import boto3


def main():
    settings = json.load(open(sys.argv[1]))
    prefix, count = sys.argv[2], int(sys.argv[3])
    kw = dict(
        endpoint_url=settings["endpoint"],
        region_name=settings["region"],
        aws_access_key_id=settings.get("aws_access_key_id", "test"),
        aws_secret_access_key=settings.get("aws_secret_access_key", "test"),
    )
    elb, acm = boto3.client("elbv2", **kw), boto3.client("acm", **kw)
    domain = settings["domain"].rstrip(".")
    cert = acm.request_certificate(
        DomainName=f"*.{domain}", SubjectAlternativeNames=[domain], IdempotencyToken="bbwspool"
    )["CertificateArn"]
    default_action = [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no such site"}}]
    arns, names = [], []
    for i in range(1, count + 1):
        name = f"{prefix}-{i}"[:32]
        try:
            lb = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        except elb.exceptions.LoadBalancerNotFoundException:
            lb = elb.create_load_balancer(
                Name=name, Subnets=settings["subnet_ids"], SecurityGroups=settings["security_group_ids"],
                Scheme="internet-facing", Type="application",
            )["LoadBalancers"][0]
        listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        https = [l["ListenerArn"] for l in listeners if l["Port"] == 443]
        if not https:
            https = [elb.create_listener(
                LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                Certificates=[{"CertificateArn": cert}], SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                DefaultActions=default_action,
            )["Listeners"][0]["ListenerArn"]]
        arns.append(https[0])
        names.append(lb["DNSName"])
    print(json.dumps({"listener_arns": arns, "dns_names": names}))


if __name__ == "__main__":
    main()
