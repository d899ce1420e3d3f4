"""Deployment rehearsal: the topology of deploy/kubernetes/base run as real processes on loopback.

Everything that can come from the manifests does:
- Redis is started with the command of the Redis Deployment (password through stdin), its port
  swapped for a free loopback one;
- two gateways (the Deployment's replica count) run the image's entrypoint with no arguments and
  the environment a pod gets: the Dockerfile's ENV, then the ConfigMap, then the Secret references
  of the Deployment filled with test values (the emulator's public demo AccessKey, a fresh Redis
  password);
- each volume mount becomes a directory of its own per pod: Secret volumes hold a throwaway PKI
  (server certificate, callers' CA) and a callers.json admitting one client certificate, emptyDirs
  start empty; the ConfigMap's file paths are rewritten to those directories;
- service names and listen addresses are swapped for loopback ones, and Alibaba for the iot-emulator
  (OTA_ENDPOINT): these are the only substitutions.
Then calls go through both replicas with mTLS, /metrics of both is scraped before and after, and
the kubelet's view (the probes as the Deployment declares them) is compared with gRPC health.
"""
import json
import re
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from deploy_contract import MATCHER, METRICS, ROOT, SELECTOR, Dockerfile, alert_rules
from kustomize import KUBERNETES, Rendered, host_port

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import BUILD_DIR, Emulator, Process, free_port, grpcurl, ota_cancel  # noqa: E402

GATEWAY_SERVICE = "ota.v1.OtaStrategyService"
LIMITER_HEALTH = GATEWAY_SERVICE + ".limiter"
CLIENT_SAN = "spiffe://rehearsal.example/caller"
DEMO_KEY = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "EMULATORDEMOKEYID0001",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "emulator-demo-secret-not-a-real-key"}
JOBS = [f"REHEARSAL-{i}" for i in range(12)]


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def make_pki(d):
    """CA, a server certificate for 127.0.0.1, and a client certificate with CLIENT_SAN."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=rehearsal-ca",
            "-days", "2", cwd=d)
    for name, ext in (("server", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n"),
                      ("client", f"extendedKeyUsage=clientAuth\nsubjectAltName=URI:{CLIENT_SAN}\n")):
        openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text("basicConstraints=critical,CA:FALSE\n" + ext)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
                cwd=d)
    return {"ca": d / "ca.crt", "server": (d / "server.crt", d / "server.key"),
            "client": (d / "client.crt", d / "client.key")}


def parse_metrics(text):
    """Prometheus text format -> ({name: type}, [(name, {label: value}, float)])."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?", line)
            assert m, f"not an exposition line: {line!r}"
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def value(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items()))


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Pod:
    """One gateway replica: its volumes, environment and process."""

    def __init__(self, index, base, image_env, secret_values, secret_files, tmp, emulator, redis):
        self.dir = tmp / f"pod-{index}"
        container = base.gateway_container
        volumes = {v["name"]: v for v in base.gateway["spec"]["template"]["spec"]["volumes"]}
        mounts = {}
        for mount in container["volumeMounts"]:
            local = self.dir / mount["name"]
            local.mkdir(parents=True)
            volume = volumes[mount["name"]]
            if "secret" in volume:
                for key, content in secret_files[volume["secret"]["secretName"]].items():
                    (local / key).write_bytes(content)
            else:
                assert "emptyDir" in volume, volume
            mounts[mount["mountPath"].rstrip("/") + "/"] = local

        env = {**image_env, **base.gateway_env()}
        for key, val in list(env.items()):
            for mount_path, local in mounts.items():
                if val.startswith(mount_path):
                    env[key] = str(local / val[len(mount_path):])
        self.grpc_port, self.admin_port = free_port(), free_port()
        assert host_port(env["OTA_LISTEN"])[0] == "0.0.0.0"
        env["OTA_LISTEN"] = f"127.0.0.1:{self.grpc_port}"
        env["OTA_ADMIN_LISTEN"] = f"127.0.0.1:{self.admin_port}"
        redis_url = urlparse(env["OTA_REDIS_URL"])
        assert redis_url.hostname == redis.service_name
        env["OTA_REDIS_URL"] = redis_url._replace(netloc=f"127.0.0.1:{redis.port}").geturl()
        env["OTA_ENDPOINT"] = emulator.url  # the only stand-in for Alibaba Cloud
        for e in container["env"]:
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = secret_values[ref["name"]][ref["key"]]
        self.env = env
        self.process = Process(f"ota-gateway-{index}", [BUILD_DIR / "server" / "ota-gateway"],
                               env=env)
        self.process.wait_for_line("ota-gateway serving")
        self.target = f"127.0.0.1:{self.grpc_port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"

    def scrape(self):
        status, body = http_get(self.admin + "/metrics")
        assert status == 200, body
        return parse_metrics(body)


class Stack:
    def __init__(self, tmp):
        self.started = []
        try:
            self._start(tmp)
        except BaseException:
            self.stop()
            raise

    def _start(self, tmp):
        self.base = Rendered(KUBERNETES / "base")
        self.pki = make_pki(tmp)
        image_env = Dockerfile().env(Dockerfile().stages[-1])

        # Redis, from the Redis Deployment's own command.
        env = self.base.gateway_env()
        self.service_name = urlparse(env["OTA_REDIS_URL"]).hostname
        redis_service = self.base.get("Service", self.service_name)
        redis_pods = [w for w in self.base.workloads() if all(
            w["spec"]["template"]["metadata"]["labels"].get(k) == v
            for k, v in redis_service["spec"]["selector"].items())]
        redis_container = redis_pods[0]["spec"]["template"]["spec"]["containers"][0]
        self.port = free_port()
        script = redis_container["command"][2].replace(
            "--port 6379", f"--port {self.port} --bind 127.0.0.1")
        assert redis_container["command"][:2] == ["sh", "-c"] and str(self.port) in script
        self.redis_password = secrets.token_hex(16)
        data = tmp / "redis-data"
        data.mkdir()
        redis_env = {}
        for e in redis_container["env"]:
            assert e["valueFrom"]["secretKeyRef"]["name"] == "ota-gateway-redis"
            redis_env[e["name"]] = self.redis_password
        self.redis = Process("redis", ["sh", "-c", f"cd {shlex.quote(str(data))} && {script}"],
                             env=redis_env)
        self.started.append(self.redis)
        self.redis.wait_for_line("Ready to accept connections")

        self.emulator = Emulator(*[f"--job={j}=dynamic" for j in JOBS])
        self.started.append(self.emulator)

        secret_values = {"ota-gateway-alibaba": DEMO_KEY,
                         "ota-gateway-redis": {"password": self.redis_password}}
        secret_files = {
            "ota-gateway-tls": {"tls.crt": self.pki["server"][0].read_bytes(),
                                "tls.key": self.pki["server"][1].read_bytes(),
                                "ca.crt": self.pki["ca"].read_bytes()},
            "ota-gateway-callers": {"callers.json": json.dumps({"callers": [
                {"name": "rehearsal", "identities": [{"mtls_san": CLIENT_SAN}]}]}).encode()},
        }
        self.pods = []
        for i in range(self.base.gateway["spec"]["replicas"]):
            pod = Pod(i, self.base, image_env, secret_values, secret_files, tmp, self.emulator,
                      self)
            self.started.append(pod.process)
            self.pods.append(pod)

    def cancel(self, pod, job):
        out = ota_cancel(f"--target={pod.target}", f"--job-id={job}", "--json", "--timeout=20s",
                         "--tls", f"--ca-file={self.pki['ca']}",
                         f"--cert-file={self.pki['client'][0]}",
                         f"--key-file={self.pki['client'][1]}")
        assert out.stdout.strip(), out.stderr
        result = json.loads(out.stdout)
        return "OK" if result["ok"] else result["code"]

    def grpc_health(self, pod, service):
        out = grpcurl("-cacert", self.pki["ca"], "-cert", self.pki["client"][0],
                      "-key", self.pki["client"][1], "-d", json.dumps({"service": service}),
                      pod.target, "grpc.health.v1.Health/Check")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["status"]

    def stop(self):
        for p in reversed(self.started):
            p.stop(signal.SIGKILL if p.name in ("iot-emulator", "redis") else signal.SIGTERM)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("rehearsal"))
    yield s
    s.stop()


def test_calls_through_both_replicas_move_their_counters(stack):
    before = [pod.scrape()[1] for pod in stack.pods]
    made = {0: {"OK": 0, "NOT_FOUND": 0}, 1: {"OK": 0, "NOT_FOUND": 0}}
    jobs = iter(JOBS)
    for i, pod in enumerate(stack.pods):
        for _ in range(3 + i):  # different counts, so the replicas cannot be mixed up
            assert stack.cancel(pod, next(jobs)) == "OK"
            made[i]["OK"] += 1
    assert stack.cancel(stack.pods[1], "REHEARSAL-NO-SUCH-JOB") == "NOT_FOUND"
    made[1]["NOT_FOUND"] += 1
    after = [pod.scrape()[1] for pod in stack.pods]

    for i in range(len(stack.pods)):
        def delta(name, **labels):
            return value(after[i], name, **labels) - value(before[i], name, **labels)
        calls = sum(made[i].values())
        assert delta("ota_gateway_calls_total", code="OK") == made[i]["OK"]
        assert delta("ota_gateway_calls_total", code="NOT_FOUND") == made[i]["NOT_FOUND"]
        assert delta("ota_gateway_calls_total") == calls
        assert delta("ota_gateway_alibaba_errors_total") == made[i]["NOT_FOUND"]
        assert delta("ota_gateway_call_duration_seconds_count") == calls
        assert delta("ota_gateway_upstream_attempts_total") >= calls
        assert delta("ota_gateway_upstream_duration_seconds_count") >= calls
        assert delta("ota_gateway_limiter_wait_seconds_count") >= calls
        assert value(after[i], "ota_gateway_in_flight_calls") == 0
    # Every call reached the emulator exactly once, through the shared limiter; the refused one
    # (NOT_FOUND) was settled by one QueryOTAJob, which found no such batch either.
    total = sum(sum(m.values()) for m in made.values())
    actions = [c["action"] for c in stack.emulator.calls()]
    assert actions.count("CancelOTAStrategyByJob") == total
    assert actions.count("QueryOTAJob") == sum(m["NOT_FOUND"] for m in made.values())
    # The audit log of each pod, on its own emptyDir, has a line per call it served.
    for i, pod in enumerate(stack.pods):
        lines = Path(pod.env["OTA_AUDIT_LOG"]).read_text().splitlines()
        assert len(lines) == sum(made[i].values())
        assert all(json.loads(line) for line in lines)


def test_metrics_follow_the_contract(stack):
    for pod in stack.pods:
        types, samples = pod.scrape()
        for name, (kind, labels) in METRICS.items():
            assert types.get(name) == kind, f"{name}: TYPE {types.get(name)}, expected {kind}"
            series = [l for n, l, _ in samples
                      if n in (name, name + "_bucket", name + "_sum", name + "_count")]
            assert series, f"{name} has no samples"
            for l in series:
                assert set(l) - {"le"} <= set(labels), (name, l)
                for label, allowed in labels.items():
                    if allowed is not None and label in l:
                        assert l[label] in allowed, (name, l)
        assert value(samples, "ota_gateway_build_info") == 1
        assert value(samples, "ota_gateway_limiter_backend", backend="redis") == 1
        assert value(samples, "ota_gateway_limiter_backend") == 1
        assert value(samples, "ota_gateway_serving") == 1
        # Each alert's alibaba_code pattern matches codes the gateway really exports (label
        # matchers are anchored, as in fullmatch).
        exported = {l["alibaba_code"] for n, l, _ in samples
                    if n == "ota_gateway_alibaba_errors_total"}
        for rule in alert_rules():
            for _, matchers in SELECTOR.findall(rule["expr"]):
                for label, op, pattern in MATCHER.findall(matchers):
                    if label == "alibaba_code" and op == "=~":
                        assert any(re.fullmatch(pattern, code) for code in exported), \
                            (rule["alert"], pattern, sorted(exported))
        # A long-lived AccessKey never expires.
        assert value(samples, "ota_gateway_credentials_expiry_timestamp_seconds") == float("inf")


def probe_http(stack, pod, probe):
    """What the kubelet sees for an httpGet probe of the gateway container."""
    ports = {p["name"]: p["containerPort"] for p in stack.base.gateway_container["ports"]}
    port = ports.get(probe["httpGet"]["port"], probe["httpGet"]["port"])
    assert port == ports["metrics"]  # which is OTA_ADMIN_LISTEN's port in the pod
    return http_get(pod.admin + probe["httpGet"]["path"])


def docker_healthcheck(pod):
    dockerfile = Dockerfile()
    check = dockerfile.instructions(dockerfile.stages[-1], "HEALTHCHECK")[0]
    command = json.loads(check[check.index("CMD") + 3:])
    return subprocess.run(command, env={"OTA_ADMIN_LISTEN": pod.env["OTA_ADMIN_LISTEN"],
                                        "PATH": "/usr/bin:/bin"}, timeout=10).returncode


def test_probes_health_and_readiness_agree(stack):
    container = stack.base.gateway_container
    for pod in stack.pods:
        assert stack.grpc_health(pod, GATEWAY_SERVICE) == "SERVING"
        assert stack.grpc_health(pod, "") == "SERVING"
        ready_status, ready_body = probe_http(stack, pod, container["readinessProbe"])
        live_status, _ = probe_http(stack, pod, container["livenessProbe"])
        assert (ready_status, live_status) == (200, 200), ready_body
        assert "SERVING" in ready_body
        assert value(pod.scrape()[1], "ota_gateway_serving") == 1
        assert docker_healthcheck(pod) == 0


def test_redis_outage_degrades_the_limiter_not_readiness(stack):
    stack.redis.stop(signal.SIGKILL)
    deadline = time.monotonic() + 30
    pending = list(stack.pods)
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if stack.grpc_health(p, LIMITER_HEALTH) != "NOT_SERVING"]
        time.sleep(0.2)
    assert not pending, "the limiter health never turned NOT_SERVING after Redis died"
    container = stack.base.gateway_container
    for pod in stack.pods:
        # fail-local (the ConfigMap's mode): the service keeps serving, so the pod stays ready.
        assert stack.base.gateway_env()["OTA_REDIS_FAILURE_MODE"] == "fail-local"
        assert stack.grpc_health(pod, GATEWAY_SERVICE) == "SERVING"
        status, body = probe_http(stack, pod, container["readinessProbe"])
        assert status == 200 and "NOT_SERVING" in body, body
        samples = pod.scrape()[1]
        assert value(samples, "ota_gateway_limiter_backend", backend="degraded") == 1
        assert value(samples, "ota_gateway_serving") == 1
    # ... and calls still go through, within each replica's share of the quota.
    assert stack.cancel(stack.pods[0], JOBS[-1]) == "OK"


def test_sigterm_turns_unready_and_drains_the_call_in_flight(stack):
    """What a rollout does to a pod: SIGTERM while a call is in flight."""
    pod = stack.pods[-1]
    readiness = stack.base.gateway_container["readinessProbe"]
    stack.emulator.set_faults(latency="3s")
    result = {}
    caller = threading.Thread(target=lambda: result.update(code=stack.cancel(pod, JOBS[-2])))
    caller.start()
    deadline = time.monotonic() + 15
    while value(pod.scrape()[1], "ota_gateway_in_flight_calls") < 1:
        assert time.monotonic() < deadline, "the call never got in flight"
        time.sleep(0.05)
    pod.process.proc.send_signal(signal.SIGTERM)
    # Health turns NOT_SERVING at once: the readiness probe fails and the pod leaves the Service,
    # while the call keeps running.
    deadline = time.monotonic() + 5
    while (status := probe_http(stack, pod, readiness))[0] != 503:
        assert time.monotonic() < deadline, f"still ready after SIGTERM: {status}"
        time.sleep(0.05)
    assert "NOT_SERVING" in status[1]
    caller.join(30)
    stack.emulator.set_faults()
    assert result.get("code") == "OK", "the call in flight was not drained"
    assert pod.process.proc.wait(30) == 0, pod.process.output()
    pod.process.wait_for_line("ota-gateway stopped")
    # Nothing secret reached the logs on the way.
    for secret in (stack.redis_password, DEMO_KEY["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]):
        assert all(secret not in p.process.output() for p in stack.pods)
