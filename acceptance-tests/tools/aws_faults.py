"""A small fault-injecting proxy in front of moto: AWS says no where moto
never does, so the provider's answers to those refusals can be tested.

    aws_faults.py UPSTREAM [--expired-key AKID]... [--refuse-missing-roles] [--throttle N]

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

Errors are written in the protocol of the request: awsJson services (an
X-Amz-Target header) get a JSON body, query and REST-XML services an
ErrorResponse document.
"""

import argparse
import http.client
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream")
    ap.add_argument("--expired-key", action="append", default=[])
    ap.add_argument("--refuse-missing-roles", action="store_true")
    ap.add_argument("--throttle", type=int, default=0)
    args = ap.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    state = {"throttle": args.throttle, "lock": threading.Lock()}

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
            if self.headers.get("X-Amz-Target"):
                body = json.dumps({"__type": json_code or code, "message": message}).encode()
                ctype = "application/x-amz-json-1.1"
                extra = [("x-amzn-ErrorType", json_code or code)]
            else:
                body = (
                    "<ErrorResponse><Error><Type>Sender</Type>"
                    f"<Code>{code}</Code><Message>{message}</Message></Error>"
                    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                ).encode()
                ctype = "text/xml"
                extra = []
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
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
            with state["lock"]:
                throttle = state["throttle"] > 0
                if throttle:
                    state["throttle"] -= 1
            if throttle:
                return self.error(400, "Throttling", "Rate exceeded", "ThrottlingException")
            if args.refuse_missing_roles and b"Action=AssumeRole" in body:
                form = urllib.parse.parse_qs(body.decode())
                role = (form.get("RoleArn") or [""])[0]
                if not role_exists(role):
                    return self.error(
                        403,
                        "AccessDenied",
                        f"User: arn:aws:iam::123456789012:user/{akid or 'anonymous'} is not authorized to perform: sts:AssumeRole on resource: {role}",
                    )
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
