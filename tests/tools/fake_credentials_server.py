#!/usr/bin/env python3
"""A local stand-in for Alibaba Cloud STS (AssumeRoleWithOIDC) and the ECS instance metadata
service, for ota-gateway's credential tests. Standard library only (any Python 3.8+).

It issues the temporary keys given with --key, in order (cycling), each with an Expiration
--lifetime seconds ahead, and checks what a real service would check:
  STS       POST /?Action=AssumeRoleWithOIDC&Version=2015-04-01...  anonymous (no AccessKeyId or
            Signature); form body RoleArn, OIDCProviderArn and OIDCToken must match the flags
  metadata  PUT /latest/api/token with X-aliyun-ecs-metadata-token-ttl-seconds; every GET must
            carry X-aliyun-ecs-metadata-token with a token it issued
            GET /latest/meta-data/ram/security-credentials/        -> the role name
            GET /latest/meta-data/ram/security-credentials/<role>  -> the credentials document
Control (for tests):
  POST /_fake/fail   {"sts": true, "metadata": false}  make a service fail (503 / 500) or recover
  GET  /_fake/stats  {"sts_issued": n, "metadata_issued": n, "rejected": n}

  fake_credentials_server.py --key STS.ID1:SECRET1:TOKEN1 --oidc-token JWT --role-arn ARN \
      --oidc-provider-arn ARN --ecs-role EcsRole --lifetime 3600
prints "fake credentials server listening on 127.0.0.1:PORT" once it serves.
"""
import argparse
import datetime
import json
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.keys = [k.split(":", 2) for k in args.key]
        self.next_key = 0
        self.metadata_tokens = set()
        self.fail = {"sts": False, "metadata": False}
        self.stats = {"sts_issued": 0, "metadata_issued": 0, "rejected": 0}
        self.lock = threading.Lock()

    def issue(self, counter):
        with self.lock:
            key_id, secret, token = self.keys[self.next_key % len(self.keys)]
            self.next_key += 1
            self.stats[counter] += 1
        expiration = (datetime.datetime.now(datetime.timezone.utc)
                      + datetime.timedelta(seconds=self.args.lifetime))
        return {"AccessKeyId": key_id, "AccessKeySecret": secret, "SecurityToken": token,
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}


class Handler(BaseHTTPRequestHandler):
    state = None  # set in main
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests read the gateway's logs, not ours
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (
            json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reject(self, status, code):
        with self.state.lock:
            self.state.stats["rejected"] += 1
        self.reply(status, {"RequestId": "FAKE-" + secrets.token_hex(4), "Code": code,
                            "Message": code})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_fake/fail":
            with self.state.lock:
                self.state.fail.update({k: bool(v) for k, v in json.loads(self.body()).items()})
            return self.reply(200, self.state.fail)
        query = dict(urllib.parse.parse_qsl(url.query))
        form = dict(urllib.parse.parse_qsl(self.body()))
        if url.path != "/" or query.get("Action") != "AssumeRoleWithOIDC":
            return self.reject(404, "InvalidAction.NotFound")
        if self.state.fail["sts"]:
            return self.reject(503, "ServiceUnavailable")
        if query.get("Version") != "2015-04-01":
            return self.reject(400, "InvalidVersion")
        if any(k in query or k in form for k in ("AccessKeyId", "Signature", "SecurityToken")):
            return self.reject(400, "InvalidParameter.NotAnonymous")
        if form.get("RoleArn") != self.state.args.role_arn:
            return self.reject(400, "EntityNotExist.Role")
        if form.get("OIDCProviderArn") != self.state.args.oidc_provider_arn:
            return self.reject(400, "EntityNotExist.OIDCProvider")
        if form.get("OIDCToken") != self.state.args.oidc_token:
            return self.reject(400, "AuthenticationFail.OIDCToken.Invalid")
        if not form.get("RoleSessionName") or not form.get("DurationSeconds"):
            return self.reject(400, "MissingParameter")
        self.reply(200, {"RequestId": "FAKE-" + secrets.token_hex(4),
                         "Credentials": self.state.issue("sts_issued")})

    def do_PUT(self):
        if self.path != "/latest/api/token":
            return self.reject(404, "NotFound")
        if self.state.fail["metadata"]:
            return self.reject(500, "InternalError")
        if not self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds", "").isdigit():
            return self.reject(400, "MissingTokenTtl")
        token = secrets.token_hex(16)
        with self.state.lock:
            self.state.metadata_tokens.add(token)
        self.reply(200, token, "text/plain")

    def do_GET(self):
        if self.path == "/_fake/stats":
            with self.state.lock:
                return self.reply(200, dict(self.state.stats))
        prefix = "/latest/meta-data/ram/security-credentials/"
        if not self.path.startswith(prefix):
            return self.reject(404, "NotFound")
        if self.state.fail["metadata"]:
            return self.reject(500, "InternalError")
        token = self.headers.get("X-aliyun-ecs-metadata-token")
        with self.state.lock:
            known = token in self.state.metadata_tokens
        if not known:
            return self.reject(401, "Unauthorized")
        role = self.path[len(prefix):]
        if role == "":
            return self.reply(200, self.state.args.ecs_role, "text/plain")
        if role != self.state.args.ecs_role:
            return self.reject(404, "NotFound")
        document = self.state.issue("metadata_issued")
        document.update({"Code": "Success", "LastUpdated": datetime.datetime.now(
            datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        self.reply(200, document)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", action="append", required=True,
                        help="ID:SECRET:TOKEN of a temporary key to issue (repeat for rotation)")
    parser.add_argument("--lifetime", type=float, default=3600, help="seconds until Expiration")
    parser.add_argument("--oidc-token", default="")
    parser.add_argument("--role-arn", default="")
    parser.add_argument("--oidc-provider-arn", default="")
    parser.add_argument("--ecs-role", default="EcsRole")
    args = parser.parse_args()
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"fake credentials server listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
