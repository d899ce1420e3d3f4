"""Static checks of deploy/: the invariants an operator relies on, on what the tools make of the
files: the Kubernetes objects as kustomize renders them, validated against the Kubernetes API's
schemas (kustomize.py); the alert rules as promtool reads them. There is no cluster in CI:
test_rehearsal.py runs the same configuration as real processes, and tests/image builds the image
and runs it.

Needs: the built binaries (OTA_BUILD_DIR, for their flags and shared libraries), apt-cache and
dpkg (Debian 12), promtool (Debian's prometheus package) and kustomize (both installed by
scripts/setup.sh), kubernetes-validate (tests/requirements.txt).
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from deploy_contract import (DEPLOY, GRPC_CODES, ROOT, Dockerfile, alert_rules,
                             expression_problems, load_yaml_documents)
from kustomize import (KUBERNETES, KUBERNETES_VERSION, OPERATOR_KINDS, Rendered, duration_seconds,
                       host_port, schema_errors, selector_matches)

BUILD_DIR = Path(os.environ.get("OTA_BUILD_DIR", ROOT / "build"))
BINARIES = [BUILD_DIR / "server" / "ota-gateway", BUILD_DIR / "client" / "ota-cancel",
            BUILD_DIR / "emulator" / "iot-emulator"]
KUSTOMIZATIONS = sorted(p.parent for p in KUBERNETES.rglob("kustomization.yaml"))
DEPLOYABLE = [k for k in KUSTOMIZATIONS if k.name != "monitoring"]
GATEWAY_SERVICE = "ota.v1.OtaStrategyService"

def gateway_flags():
    """Every flag ota-gateway defines, as its --help lists them (hyphenated, grouped by topic)."""
    out = subprocess.run([BINARIES[0], "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"^  --([a-z0-9-]+)", out, re.M)) - {"help", "version"}
    assert "listen" in flags and "redis-url" in flags, out
    assert "Other flags" not in out, "ota-gateway --help leaves flags ungrouped"
    return flags


def env_to_flag(name):
    assert name.startswith("OTA_"), name
    return name[4:].lower().replace("_", "-")


# --- Dockerfile -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dockerfile():
    return Dockerfile()


def test_dockerfile_is_multi_stage_on_debian_12(dockerfile):
    assert len(dockerfile.stages) >= 2
    build, runtime = dockerfile.stages[0], dockerfile.stages[-1]
    assert build["image"] == "debian:12" and build["name"]
    assert runtime["image"] == "debian:12-slim"
    copies = dockerfile.instructions(runtime, "COPY")
    assert copies and all(c.startswith(f"--from={build['name']} ") for c in copies)
    copied = " ".join(copies)
    for binary in BINARIES:
        assert f"/{binary.parent.name}/{binary.name}" in copied, f"{binary.name} not in the image"


def test_dockerfile_runs_as_numeric_non_root_user(dockerfile):
    users = dockerfile.instructions(dockerfile.stages[-1], "USER")
    assert users, "runtime stage has no USER"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so Kubernetes can verify runAsNonRoot without looking inside the image.
    assert uid.isdigit() and int(uid) != 0 and (not gid or (gid.isdigit() and int(gid) != 0))
    entry = json.loads(dockerfile.instructions(dockerfile.stages[-1], "ENTRYPOINT")[-1])
    assert entry == ["/usr/local/bin/ota-gateway"]
    # Defaults as ENV, not CMD: CMD arguments would override a ConfigMap's OTA_* variables.
    assert not dockerfile.instructions(dockerfile.stages[-1], "CMD")
    assert dockerfile.env(dockerfile.stages[-1])["OTA_ADMIN_LISTEN"].endswith(":9464")


def test_dockerfile_healthcheck_probes_readyz(dockerfile):
    checks = dockerfile.instructions(dockerfile.stages[-1], "HEALTHCHECK")
    assert len(checks) == 1
    command = json.loads(checks[0][checks[0].index("CMD") + 3:])
    assert command[:2] == ["bash", "-c"] and "/readyz" in command[2]
    # test_rehearsal.py runs this command against a live gateway.


def test_build_stage_packages_are_setup_sh_packages(dockerfile):
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    listed = set(re.search(r"APT_PACKAGES=\(([^)]*)\)", setup).group(1).split())
    extra = set(dockerfile.apt_packages(dockerfile.stages[0])) - listed
    assert not extra, f"build stage installs packages scripts/setup.sh does not: {extra}"


def debian_package_of(library_path):
    for candidate in (library_path, "/usr" + library_path, library_path.removeprefix("/usr")):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout.split(":")[0]
    raise AssertionError(f"no Debian package owns {library_path}")


def test_runtime_packages_exist_and_cover_every_needed_library(dockerfile):
    runtime = dockerfile.apt_packages(dockerfile.stages[-1])
    assert "ca-certificates" in runtime  # the upstream's TLS is always verified
    for package in runtime:
        # Known to apt's package lists, or (when an image dropped those lists) installed here on
        # Debian 12 as a dependency of the build packages.
        shown = subprocess.run(["apt-cache", "show", "--no-all-versions", package],
                               capture_output=True, text=True)
        installed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                   capture_output=True, text=True)
        assert (shown.returncode == 0 and f"Package: {package}" in shown.stdout) or \
            installed.stdout == "install ok installed", f"{package} is not a Debian 12 package"
    assert Path("/etc/debian_version").read_text().startswith("12"), "checked on Debian 12 only"
    # Every library a binary names (DT_NEEDED) must come from a listed package; libc6 and
    # libgcc-s1 are in every Debian image (required by its essential packages).
    needed_packages = set()
    for binary in BINARIES:
        assert binary.exists(), f"{binary} not built (OTA_BUILD_DIR={BUILD_DIR})"
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
        dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                                 check=True).stdout
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic):
            needed_packages.add(debian_package_of(paths[soname]))
    missing = needed_packages - set(runtime) - {"libc6", "libgcc-s1"}
    assert not missing, f"runtime stage lacks packages of needed libraries: {missing}"


def test_dockerignore_keeps_local_state_out_of_the_context():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", "build", "node_modules", ".venv", ".tools"} <= ignored


# --- Kubernetes -----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=DEPLOYABLE, ids=lambda p: str(p.relative_to(KUBERNETES)))
def rendered(request):
    return Rendered(request.param)


def test_kustomization_lists_every_manifest_beside_it():
    for kdir in KUSTOMIZATIONS:
        listed = set(load_yaml_documents(kdir / "kustomization.yaml")[0].get("resources", []))
        here = {p.name for p in kdir.glob("*.yaml")} - {"kustomization.yaml"}
        assert here <= listed, f"{kdir}: files not in kustomization.yaml: {here - listed}"
        for resource in listed:
            assert (kdir / resource).exists(), f"{kdir}: missing resource {resource}"


def test_every_rendered_object_passes_kubernetes_validate_strict():
    for kdir in KUSTOMIZATIONS:
        objects = Rendered(kdir).objects
        assert objects, f"{kdir} renders to nothing"
        errors = schema_errors(objects)
        assert not errors, f"{kdir} against Kubernetes {KUBERNETES_VERSION}:\n" + "\n".join(errors)
        unchecked = {(o["apiVersion"], o["kind"]) for o in objects} & OPERATOR_KINDS
        assert not unchecked or kdir.name == "monitoring", f"{kdir}: {unchecked}"


def test_schema_check_rejects_what_the_api_server_would():
    # The validator as configured here must fail on the mistakes it is there for: an unknown field
    # (a typo the API server drops silently when not strict), a wrong type, a missing kind.
    deployment = Rendered(KUBERNETES / "base").gateway
    assert not schema_errors([deployment])
    typo = Rendered(KUBERNETES / "base").gateway
    typo["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    wrong_type = Rendered(KUBERNETES / "base").gateway
    wrong_type["spec"]["replicas"] = "two"
    unknown_kind = {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}}
    for broken in (typo, wrong_type, unknown_kind):
        assert schema_errors([broken]), broken.get("kind")


def test_gateway_is_replicated_and_spread(rendered):
    spec = rendered.gateway["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert selector_matches(spec["selector"], labels)
    spread = [c for c in pod.get("topologySpreadConstraints", [])
              if c["topologyKey"] == "kubernetes.io/hostname"
              and selector_matches(c["labelSelector"], labels)]
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    anti_terms = [t.get("podAffinityTerm", t) for kind in anti.values() for t in kind]
    assert spread or any(selector_matches(t["labelSelector"], labels) for t in anti_terms)
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_every_workload_is_locked_down_and_sized(rendered):
    for workload in rendered.workloads():
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        pod_security = pod["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert isinstance(pod_security["runAsUser"], int) and pod_security["runAsUser"] > 0, name
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod.get("automountServiceAccountToken") is False, name
        for c in pod["containers"]:
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert security["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert security["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert not security.get("privileged", False)
            resources = c["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), (name, c["name"])
            assert "memory" in resources["limits"], (name, c["name"])
            assert "readinessProbe" in c and "livenessProbe" in c, (name, c["name"])
            assert ":" in c["image"] and not c["image"].endswith(":latest"), c["image"]


def test_gateway_ports_match_the_configmap(rendered):
    env = rendered.gateway_env()
    ports = {p["name"]: p["containerPort"] for p in rendered.gateway_container["ports"]}
    assert host_port(env["OTA_LISTEN"]) == ("0.0.0.0", ports["grpc"])
    assert host_port(env["OTA_ADMIN_LISTEN"]) == ("0.0.0.0", ports["metrics"])
    annotations = rendered.gateway["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    assert annotations["prometheus.io/path"] == "/metrics"
    labels = rendered.gateway["spec"]["template"]["metadata"]["labels"]
    services = [s for s in rendered.of_kind("Service") if selector_matches(
        {"matchLabels": s["spec"]["selector"]}, labels)]
    assert services
    for s in services:
        for p in s["spec"]["ports"]:
            assert p["targetPort"] in ports, (s["metadata"]["name"], p)
    main = rendered.get("Service", "ota-gateway")
    assert {p["name"] for p in main["spec"]["ports"]} == {"grpc", "metrics"}


def test_probes_check_grpc_health_of_the_service(rendered):
    env = rendered.gateway_env()
    c = rendered.gateway_container
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    readiness, liveness = c["readinessProbe"], c["livenessProbe"]
    tls = "OTA_TLS_CERT_FILE" in env
    if tls:
        # The kubelet's gRPC probe cannot speak TLS: the probes use the admin endpoints that
        # mirror grpc.health.v1 (test_rehearsal.py checks they agree).
        assert "grpc" not in readiness and "grpc" not in liveness
        assert readiness["httpGet"]["path"] == "/readyz"
        assert liveness["httpGet"]["path"] == "/healthz"
        for probe in (readiness, liveness):
            assert ports.get(probe["httpGet"]["port"], probe["httpGet"]["port"]) == ports["metrics"]
    else:
        assert env.get("OTA_PLAINTEXT") == "true"
        assert readiness["grpc"] == {"port": ports["grpc"], "service": GATEWAY_SERVICE}
        assert liveness["grpc"]["port"] == ports["grpc"]
        assert liveness["grpc"].get("service", "") in ("", GATEWAY_SERVICE)
    # Liveness must not kill a pod that is draining: it tolerates longer than the drain.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= \
        duration_seconds(env["OTA_DRAIN_TIMEOUT"])


def test_grace_period_outlasts_prestop_and_drain(rendered):
    env = rendered.gateway_env()
    pod = rendered.gateway["spec"]["template"]["spec"]
    pre_stop = rendered.gateway_container.get("lifecycle", {}).get("preStop", {})
    sleep = 0
    if "exec" in pre_stop:
        command = pre_stop["exec"]["command"]
        assert command[0] == "sleep"
        sleep = float(command[1])
    drain = duration_seconds(env["OTA_DRAIN_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > sleep + drain


def test_configmap_keys_are_gateway_flags(rendered):
    known = gateway_flags()
    env = rendered.gateway_env()
    unknown = {k for k in env if env_to_flag(k) not in known}
    # Unknown OTA_* variables are ignored by the gateway: a typo would pass silently.
    assert not unknown, f"ConfigMap keys that are no ota-gateway flag: {unknown}"


def test_redis_wiring(rendered):
    env = rendered.gateway_env()
    assert env["OTA_LIMITER"] == "redis"
    url = urlparse(env["OTA_REDIS_URL"])
    assert url.scheme in ("redis", "rediss")
    assert url.password is None and url.username is None, "password belongs in OTA_REDIS_PASSWORD"
    service = rendered.get("Service", url.hostname)
    port = next(p for p in service["spec"]["ports"] if p["port"] == url.port)
    redis = [w for w in rendered.workloads() if selector_matches(
        {"matchLabels": service["spec"]["selector"]}, w["spec"]["template"]["metadata"]["labels"])]
    assert len(redis) == 1, "the Redis Service must select exactly one workload"
    container = redis[0]["spec"]["template"]["spec"]["containers"][0]
    target = {p["name"]: p["containerPort"] for p in container["ports"]}.get(
        port["targetPort"], port["targetPort"])
    assert target == url.port
    assert f"--port {target}" in " ".join(container["command"])
    # Both ends read the password from the same Secret key.
    gateway_ref = next(e for e in rendered.gateway_container["env"]
                       if e["name"] == "OTA_REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]
    redis_ref = next(e for e in container["env"]
                     if e["name"] == "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]
    assert gateway_ref == redis_ref
    assert "requirepass" in " ".join(container["command"])
    if env.get("OTA_REDIS_FAILURE_MODE") == "fail-local":
        # Each replica's outage budget is qps / expected: more replicas than expected overshoot.
        assert int(env["OTA_EXPECTED_REPLICAS"]) >= rendered.gateway["spec"]["replicas"]


def test_pod_disruption_budget_selects_the_gateway(rendered):
    labels = rendered.gateway["spec"]["template"]["metadata"]["labels"]
    pdbs = [p for p in rendered.of_kind("PodDisruptionBudget")
            if selector_matches(p["spec"]["selector"], labels)]
    assert len(pdbs) == 1
    assert 1 <= pdbs[0]["spec"]["minAvailable"] < rendered.gateway["spec"]["replicas"]


def test_network_policies(rendered):
    gateway_labels = rendered.gateway["spec"]["template"]["metadata"]["labels"]
    env = rendered.gateway_env()
    redis_service = rendered.get("Service", urlparse(env["OTA_REDIS_URL"]).hostname)
    redis_labels = redis_service["spec"]["selector"]
    policies = rendered.of_kind("NetworkPolicy")

    gateway_policy = [p for p in policies if selector_matches(p["spec"]["podSelector"],
                                                              gateway_labels)]
    assert len(gateway_policy) == 1
    spec = gateway_policy[0]["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    for rule in spec["ingress"]:
        # Every ingress rule names its sources and ports: nothing open to all.
        assert rule.get("from") and rule.get("ports"), rule
    grpc_rules = [r for r in spec["ingress"] if any(p["port"] == "grpc" for p in r["ports"])]
    assert grpc_rules and all(f.get("podSelector", {}).get("matchLabels") for r in grpc_rules
                              for f in r["from"]), "gRPC must be limited to labelled callers"
    egress_ports = {(p.get("protocol", "TCP"), p["port"]) for r in spec["egress"]
                    for p in r["ports"]}
    assert {("UDP", 53), ("TCP", 443), ("TCP", redis_service["spec"]["ports"][0]["port"])} \
        <= egress_ports
    to_redis = [r for r in spec["egress"] if any(
        selector_matches(t.get("podSelector", {}), redis_labels) and "podSelector" in t
        for t in r["to"])]
    assert to_redis

    redis_policy = [p for p in policies if p["spec"]["podSelector"]["matchLabels"] == redis_labels]
    assert len(redis_policy) == 1
    spec = redis_policy[0]["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"} and spec.get("egress") == []
    sources = [f for r in spec["ingress"] for f in r["from"]]
    assert sources and all("namespaceSelector" not in f and "ipBlock" not in f
                           and selector_matches(f["podSelector"], gateway_labels) for f in sources)


def test_config_file_paths_lie_on_mounted_volumes(rendered):
    env = rendered.gateway_env()
    c = rendered.gateway_container
    volumes = {v["name"]: v for v in rendered.gateway["spec"]["template"]["spec"]["volumes"]}
    mounts = c.get("volumeMounts", [])

    def mount_of(path):
        found = [m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")]
        assert found, f"{path} is on no mounted volume (the root filesystem is read-only)"
        return found[0], volumes[found[0]["name"]]

    for key, value in env.items():
        if key.endswith("_FILE"):
            mount, volume = mount_of(value)
            assert mount.get("readOnly") is True and "secret" in volume, key
    mount, volume = mount_of(env["OTA_AUDIT_LOG"])
    assert "emptyDir" in volume and not mount.get("readOnly", False)


SECRETISH = re.compile(r"SECRET|PASSWORD|TOKEN|PASSWD|PRIVATE", re.I)


def test_no_inline_secret_anywhere():
    for kdir in KUSTOMIZATIONS:
        objects = Rendered(kdir).objects
        assert not [o for o in objects if o["kind"] == "Secret"], \
            f"{kdir} ships a Secret; Secrets are created out of band"
        for o in objects:
            if o["kind"] == "ConfigMap":
                for key, value in o["data"].items():
                    assert not SECRETISH.search(key) or key.endswith("_FILE"), key
                    assert "PRIVATE KEY" not in value
                    if value.startswith(("redis://", "rediss://")):
                        assert urlparse(value).password is None, key
            for c in (o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])):
                for e in c.get("env", []):
                    if SECRETISH.search(e["name"]) or e["name"].startswith("ALIBABA_CLOUD_ACCESS"):
                        assert "secretKeyRef" in e.get("valueFrom", {}), \
                            f"{o['metadata']['name']}: {e['name']} must come from a Secret"
    # Nothing under deploy/ looks like key material, whatever the file.
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "BEGIN RSA PRIVATE KEY" not in text and "BEGIN PRIVATE KEY" not in text, path
            assert not re.search(r"LTAI[0-9A-Za-z]{12,}", text), f"{path}: an AccessKeyId?"


def test_example_secrets_cover_every_reference_and_hold_no_values():
    example = KUBERNETES / "secrets.yaml.example"
    secrets = {d["metadata"]["name"]: d for d in load_yaml_documents(example)}
    for s in secrets.values():
        assert s["kind"] == "Secret" and "data" not in s
        assert set(s["stringData"].values()) == {"REPLACE_ME"}, s["metadata"]["name"]
    for kdir in DEPLOYABLE:
        rendered = Rendered(kdir)
        for workload in rendered.workloads():
            pod = workload["spec"]["template"]["spec"]
            for c in pod["containers"]:
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["key"] in secrets[ref["name"]]["stringData"], ref
            for v in pod.get("volumes", []):
                if "secret" in v:
                    assert v["secret"]["secretName"] in secrets
        env = rendered.gateway_env()
        pod = rendered.gateway["spec"]["template"]["spec"]
        for key, value in env.items():
            if key.endswith("_FILE") and value.startswith("/etc/ota-gateway/"):
                mount = next(m for m in rendered.gateway_container["volumeMounts"]
                             if value.startswith(m["mountPath"] + "/"))
                volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
                file_key = value[len(mount["mountPath"]) + 1:]
                assert file_key in secrets[volume["secret"]["secretName"]]["stringData"], key


def test_service_monitor_scrapes_the_admin_port():
    monitoring = Rendered(KUBERNETES / "monitoring")
    base = Rendered(KUBERNETES / "base")
    monitor = monitoring.get("ServiceMonitor", "ota-gateway")
    services = [s for s in base.of_kind("Service")
                if selector_matches(monitor["spec"]["selector"], s["metadata"]["labels"])]
    assert services
    metrics_port = next(p for p in base.gateway_container["ports"] if p["name"] == "metrics")
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["path"] == "/metrics"
        for s in services:
            if any(p["name"] == endpoint["port"] for p in s["spec"]["ports"]):
                port = next(p for p in s["spec"]["ports"] if p["name"] == endpoint["port"])
                assert port["targetPort"] == "metrics" and \
                    port["port"] == metrics_port["containerPort"]
                break
        else:
            raise AssertionError(f"no selected Service has port {endpoint['port']}")


# --- compose --------------------------------------------------------------------------------

def test_compose_stack():
    compose = load_yaml_documents(DEPLOY / "compose.yaml")[0]
    services = compose["services"]
    gateways = {n: s for n, s in services.items() if n.startswith("gateway-")}
    assert len(gateways) == 2
    for name, s in {**gateways, "iot-emulator": services["iot-emulator"]}.items():
        assert s["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name
        assert s["image"] == gateways["gateway-1"]["image"], name
        uid = s["user"].split(":")[0]
        assert uid.isdigit() and int(uid) != 0 and s["read_only"] is True, name
    redis_uid = services["redis"]["user"].split(":")[0]
    assert int(redis_uid) != 0 and services["redis"]["read_only"] is True
    for name, s in gateways.items():
        env = s["environment"]
        assert env["OTA_LIMITER"] == "redis"
        assert urlparse(env["OTA_REDIS_URL"]).hostname in services
        assert urlparse(env["OTA_REDIS_URL"]).hostname.startswith("redis")
        endpoint = next(a for a in s["command"] if a.startswith("--endpoint="))
        emulator = urlparse(endpoint.split("=", 1)[1])
        emulator_listen = services["iot-emulator"]["command"][0].split("=", 1)[1]
        assert emulator.hostname == "iot-emulator" and emulator.port == host_port(emulator_listen)[1]
        assert int(env["OTA_EXPECTED_REPLICAS"]) >= len(gateways)
        assert env_to_flag("OTA_LIMITER_KEY") in gateway_flags()
    image_env = Dockerfile().env(Dockerfile().stages[-1])
    container_ports = {str(host_port(image_env[k])[1]) for k in ("OTA_LISTEN", "OTA_ADMIN_LISTEN")}
    for s in gateways.values():
        assert {p.split(":")[-1] for p in s["ports"]} == container_ports
    host_ports = [p.split(":")[1] for s in gateways.values() for p in s["ports"]]
    assert len(host_ports) == len(set(host_ports))


# --- alerts ---------------------------------------------------------------------------------

def test_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/setup.sh installs Debian's prometheus package"
    out = subprocess.run([promtool, "check", "rules", DEPLOY / "prometheus" / "alerts.yaml"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_alerts_fire_when_they_should_and_only_then():
    # deploy/prometheus/alerts_test.yaml: synthetic series in, expected alerts (labels and
    # rendered annotations) out, including cases that must stay silent.
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/setup.sh installs Debian's prometheus package"
    out = subprocess.run([promtool, "test", "rules", "alerts_test.yaml"],
                         cwd=DEPLOY / "prometheus", capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_alerts_use_only_exported_metrics_and_labels():
    rules = alert_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert not expression_problems(rule["expr"]), (rule["alert"],
                                                       expression_problems(rule["expr"]))
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_alerts_cover_the_operational_failures():
    exprs = {r["alert"]: r["expr"] for r in alert_rules()}
    joined = " ".join(exprs.values())
    for needed in ("ota_gateway_calls_total", "ota_gateway_alibaba_errors_total",
                   'reason="rate_limited"', 'reason="unavailable"', 'backend="degraded"',
                   "ota_gateway_credentials_expiry_timestamp_seconds", "ota_gateway_serving",
                   "ota_gateway_call_duration_seconds_bucket", "ota_gateway_queued_waiters"):
        assert needed in joined, needed
    assert all(code in GRPC_CODES for code in re.findall(r"\b[A-Z_]{2,}\b",
                                                         exprs["OtaGatewayHighErrorRatio"]))


def test_prometheus_rule_carries_the_same_alerts():
    rule = load_yaml_documents(KUBERNETES / "monitoring" / "prometheusrule.yaml")[0]
    plain = load_yaml_documents(DEPLOY / "prometheus" / "alerts.yaml")[0]
    assert rule["kind"] == "PrometheusRule" and rule["spec"]["groups"] == plain["groups"]


# --- README ---------------------------------------------------------------------------------

def test_readme_documents_every_flag_configmap_key_and_alert():
    readme = (DEPLOY / "README.md").read_text()
    missing_flags = {f for f in gateway_flags() if f"`--{f}`" not in readme}
    assert not missing_flags, f"deploy/README.md does not document: {sorted(missing_flags)}"
    for kdir in DEPLOYABLE:
        for key in Rendered(kdir).gateway_env():
            assert f"`{key}`" in readme or f"`--{env_to_flag(key)}`" in readme, key
    for name in (r["alert"] for r in alert_rules()):
        assert f"`{name}`" in readme, f"deploy/README.md does not explain alert {name}"
