"""A small fault-injecting proxy in front of moto: AWS says no where moto
never does, so the provider's answers to those refusals can be tested.

    aws_faults.py UPSTREAM [--expired-key AKID]... [--refuse-missing-roles] [--throttle N]
                  [--random RATE --seed S] [--aws-rates [SCALE]] [--stats FILE] [--log FILE]
                  [--log-requests FILE] [--latency-ms MS]

Prints `listening on PORT` (a free port on 127.0.0.1) and forwards every
request to UPSTREAM (moto), except:

--expired-key AKID      requests signed with that access key id are answered
                        as AWS answers an expired session token: HTTP 400,
                        ExpiredToken / ExpiredTokenException, "The security
                        token included in the request is expired".
--refuse-missing-roles  sts:AssumeRole of a role that does not exist in
                        moto's IAM is refused as AWS refuses it (HTTP 403
                        AccessDenied, "... is not authorized to perform:
                        sts:AssumeRole on resource: ..."); moto hands out
                        credentials for any role ARN.
--throttle N            the first N requests are throttled (HTTP 400
                        ThrottlingException / Throttling, "Rate exceeded"),
                        as AWS throttles a busy account.
--random RATE           a fraction RATE (e.g. 0.1) of requests, drawn from a
                        random generator seeded with --seed (default 1), get
                        one of four faults, equally likely:
                          throttle  the service's own throttling answer (see
                                    THROTTLE below: code, HTTP status, protocol)
                          500       HTTP 500 InternalFailure
                          503       HTTP 503 ServiceUnavailable
                          drop      the request is forwarded, moto answers,
                                    and the connection is closed without the
                                    answer: the write happened, its answer is
                                    lost (what a timeout after a write is).
--aws-rates [SCALE]     AWS's request rates: a token bucket per service and
                        action at the rates of `aws_rates.py` (what AWS
                        publishes, and stated assumptions where it publishes
                        nothing), times SCALE (default 1); a request whose
                        bucket is empty gets the service's throttling answer
                        (THROTTLE below; Route53 changes PriorRequestNotComplete).
--stats FILE            after every request, FILE holds a JSON object:
                        requests, requests by "service action", faults by
                        kind, faults by kind and operation
                        (written whole, then renamed, so a reader never sees
                        half of it; also written on SIGTERM).
--log FILE              one line per fault: seconds since start, kind,
                        service, operation, tenant ids seen in the request.
--log-requests FILE     one line per request, in the order they arrived:
                        seconds since start, service, operation.
--latency-ms MS         every request waits MS milliseconds before it is
                        forwarded: AWS answers in tens of milliseconds, moto
                        on this machine in one or two, and a test that
                        interrupts a run at a moment needs a run that lasts.

Errors are written in the protocol of the request's service, which the
credential scope of its SigV4 signature names: awsJson services (ECS,
Secrets Manager, CloudWatch Logs, Resource Groups Tagging) get a JSON body
with `__type`; restJson EFS gets `x-amzn-ErrorType` and a JSON body; query
services (ELBv2, RDS, STS) and REST-XML Route53 an ErrorResponse document.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_rates import Limiter  # noqa: E402

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}

# Each service's throttling answer, as AWS documents it: (HTTP status, code).
THROTTLE = {
    "ecs": (400, "ThrottlingException"),
    "secretsmanager": (400, "ThrottlingException"),
    "logs": (400, "ThrottlingException"),
    "tagging": (400, "ThrottledException"),
    "elasticfilesystem": (429, "ThrottlingException"),
    "elasticloadbalancing": (400, "Throttling"),
    "rds": (400, "Throttling"),
    "sts": (400, "Throttling"),
    "route53": (400, "Throttling"),
}
JSON_SERVICES = {"ecs", "secretsmanager", "logs", "tagging"}
FAULTS = ["throttle", "500", "503", "drop"]
TENANT_ID = re.compile(rb"(?<![0-9])[0-9]{12}(?![0-9])")


def service_of(headers):
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    return m.group(1) if m else ""


def operation_of(command, path, headers, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    m = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
    if m:
        return m.group(1).decode()
    # REST services (Route53, EFS): the action the method and path name.
    clean = urllib.parse.urlsplit(path).path.rstrip("/")
    for method, pattern, action in REST_ACTIONS:
        if command == method and re.fullmatch(pattern, clean):
            return action
    return f"{command} {clean}"


# (method, path, action) of the REST calls bbws and the AWS provider make.
REST_ACTIONS = [
    ("POST", r"/2013-04-01/hostedzone/[^/]+/rrset", "ChangeResourceRecordSets"),
    ("GET", r"/2013-04-01/hostedzone/[^/]+/rrset", "ListResourceRecordSets"),
    ("GET", r"/2013-04-01/hostedzone/[^/]+", "GetHostedZone"),
    ("GET", r"/2013-04-01/hostedzone", "ListHostedZones"),
    ("GET", r"/2013-04-01/change/[^/]+", "GetChange"),
    ("GET", r"/2013-04-01/tags/[^/]+/[^/]+", "ListTagsForResource"),
    ("POST", r"/2013-04-01/tags/[^/]+/[^/]+", "ChangeTagsForResource"),
    ("POST", r"/2015-02-01/access-points", "CreateAccessPoint"),
    ("GET", r"/2015-02-01/access-points", "DescribeAccessPoints"),
    ("DELETE", r"/2015-02-01/access-points/[^/]+", "DeleteAccessPoint"),
    ("GET", r"/2015-02-01/file-systems(/[^/]+)?", "DescribeFileSystems"),
    ("GET", r"/2015-02-01/mount-targets", "DescribeMountTargets"),
    ("GET", r"/2015-02-01/resource-tags/[^/]+", "ListTagsForResource"),
    ("POST", r"/2015-02-01/resource-tags/[^/]+", "TagResource"),
    ("DELETE", r"/2015-02-01/resource-tags/[^/]+", "UntagResource"),
    ("GET", r"/2015-02-01/tags/[^/]+", "DescribeTags"),
    ("POST", r"/2015-02-01/create-tags/[^/]+", "CreateTags"),
]


class Faults:
    """The seeded fault schedule and its counters."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.throttle_first = args.throttle
        self.rate = args.random
        self.rng = random.Random(args.seed)
        self.stats_path = args.stats
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.requests_log = open(args.log_requests, "a", buffering=1) if args.log_requests else None
        self.start = time.monotonic()
        self.requests = 0
        self.by_kind = {k: 0 for k in FAULTS}
        self.by_op = {}
        self.by_request = {}
        self.limiter = Limiter(scale=args.aws_rates) if args.aws_rates else None

    def over_rate(self, service, op):
        """Counts the request; True when AWS's rate for it is spent."""
        with self.lock:
            self.requests += 1
            key = f"{service} {op}"
            self.by_request[key] = self.by_request.get(key, 0) + 1
            if self.requests_log:
                self.requests_log.write(f"{time.monotonic() - self.start:.3f} {key}\n")
        return self.limiter is not None and not self.limiter.allow(service, op)

    def draw(self):
        """The fault for the next request, or None to forward it."""
        with self.lock:
            if self.throttle_first > 0:
                self.throttle_first -= 1
                return "throttle"
            if self.rate > 0 and self.rng.random() < self.rate:
                return self.rng.choice(FAULTS)
            return None

    def record(self, kind, service, op, body):
        with self.lock:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            key = f"{kind} {service} {op}"
            self.by_op[key] = self.by_op.get(key, 0) + 1
            if self.log:
                ids = sorted({m.decode() for m in TENANT_ID.findall(body)})
                self.log.write(f"{time.monotonic() - self.start:.3f} {kind} {service} {op} {' '.join(ids)}\n")

    def write_stats(self):
        if not self.stats_path:
            return
        with self.lock:
            doc = {
                "requests": self.requests,
                "faults": dict(self.by_kind),
                "by_operation": dict(self.by_op),
                "requests_by_operation": dict(self.by_request),
            }
            tmp = f"{self.stats_path}.{threading.get_ident()}.tmp"
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
            os.replace(tmp, self.stats_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream")
    ap.add_argument("--expired-key", action="append", default=[])
    ap.add_argument("--refuse-missing-roles", action="store_true")
    ap.add_argument("--throttle", type=int, default=0)
    ap.add_argument("--random", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--aws-rates", type=float, nargs="?", const=1.0, default=0.0)
    ap.add_argument("--stats")
    ap.add_argument("--log")
    ap.add_argument("--log-requests")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    args = ap.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    faults = Faults(args)

    def role_exists(role_arn):
        import boto3  # the stack's venv has it (moto depends on it)

        iam = boto3.client(
            "iam",
            endpoint_url=args.upstream,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        name = role_arn.rsplit("/", 1)[-1]
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return False
        return True

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def error(self, status, code, message, json_code=None):
            service = service_of(self.headers)
            extra = []
            if self.headers.get("X-Amz-Target") or service in JSON_SERVICES:
                body = json.dumps({"__type": json_code or code, "message": message}).encode()
                ctype = "application/x-amz-json-1.1"
                extra = [("x-amzn-ErrorType", json_code or code)]
            elif service == "elasticfilesystem":
                body = json.dumps({"ErrorCode": json_code or code, "Message": message}).encode()
                ctype = "application/json"
                extra = [("x-amzn-ErrorType", json_code or code)]
            else:
                ns = ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' if service == "route53" else ""
                kind = "Receiver" if status >= 500 else "Sender"
                body = (
                    f"<ErrorResponse{ns}><Error><Type>{kind}</Type>"
                    f"<Code>{code}</Code><Message>{message}</Message></Error>"
                    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                ).encode()
                ctype = "text/xml"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def inject(self, kind, body):
            """Answers with fault `kind`; False for `drop` (forward first)."""
            service = service_of(self.headers)
            op = operation_of(self.command, self.path, self.headers, body)
            faults.record(kind, service, op, body)
            if kind == "throttle":
                status, code = THROTTLE.get(service, (400, "ThrottlingException"))
                if service == "route53" and op == "ChangeResourceRecordSets" and (faults.limiter or faults.rng.random() < 0.5):
                    # What Route53 answers a change it cannot take now.
                    code = "PriorRequestNotComplete"
                self.error(status, code, "Rate exceeded")
            elif kind == "500":
                self.error(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
            elif kind == "503":
                self.error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
            else:
                return False
            return True

        def handle_any(self):
            try:
                self.handle_request()
            except (BrokenPipeError, ConnectionResetError):
                # The caller went away (a test killed it): nobody to answer.
                self.close_connection = True
            finally:
                faults.write_stats()

        def handle_request(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization", "")
            m = re.search(r"Credential=([^/]+)/", auth)
            akid = m.group(1) if m else ""
            if akid and akid in args.expired_key:
                return self.error(
                    400,
                    "ExpiredToken",
                    "The security token included in the request is expired",
                    "ExpiredTokenException",
                )
            service = service_of(self.headers)
            op = operation_of(self.command, self.path, self.headers, body)
            if faults.over_rate(service, op):
                self.inject("throttle", body)
                return
            fault = faults.draw()
            if fault and self.inject(fault, body):
                return
            if args.refuse_missing_roles and b"Action=AssumeRole" in body:
                form = urllib.parse.parse_qs(body.decode())
                role = (form.get("RoleArn") or [""])[0]
                if not role_exists(role):
                    return self.error(
                        403,
                        "AccessDenied",
                        f"User: arn:aws:iam::123456789012:user/{akid or 'anonymous'} is not authorized to perform: sts:AssumeRole on resource: {role}",
                    )
            if args.latency_ms > 0:
                time.sleep(args.latency_ms / 1000)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            if fault == "drop":
                # moto has done the work; the caller never hears of it.
                self.close_connection = True
                return
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

    def on_term(signum, frame):
        faults.write_stats()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    faults.write_stats()
    print(f"listening on {server.server_address[1]}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
