"""What deploy/ says, read the way the tools that consume it read it: the Kubernetes objects a
kustomization renders to, the ConfigMap's flags, the Dockerfile's stages, the alert rules; plus the
metric contract the gateway exports (/tmp/interfaces.md of the metrics work, checked against a live
/metrics by test_rehearsal.py).

Rendering covers the kustomize features deploy/kubernetes uses (resources, namespace, images,
replicas, JSON 6902 patches) and refuses any other, so a new feature cannot be silently ignored.
When kubectl is on the machine, test_manifests.py compares this rendering with `kubectl kustomize`.
"""
import copy
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"

# Metric contract: name -> (type, label names, allowed values per label where the set is closed).
GRPC_CODES = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
              "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
              "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
              "UNAUTHENTICATED"}
METRICS = {
    "ota_gateway_build_info": ("gauge", {"version": None, "git_sha": None}),
    "ota_gateway_calls_total": ("counter", {"code": GRPC_CODES}),
    "ota_gateway_alibaba_errors_total": ("counter", {"alibaba_code": None}),
    "ota_gateway_call_duration_seconds": ("histogram", {}),
    "ota_gateway_upstream_duration_seconds": ("histogram", {}),
    "ota_gateway_limiter_wait_seconds": ("histogram", {}),
    "ota_gateway_limiter_rejections_total": ("counter", {"reason": {"rate_limited", "unavailable"}}),
    "ota_gateway_limiter_backend": ("gauge", {"backend": {"local", "redis", "degraded"}}),
    "ota_gateway_upstream_attempts_total": ("counter", {}),
    "ota_gateway_upstream_retries_total": ("counter", {}),
    "ota_gateway_in_flight_calls": ("gauge", {}),
    "ota_gateway_queued_waiters": ("gauge", {}),
    "ota_gateway_credentials_expiry_timestamp_seconds": ("gauge", {}),
    "ota_gateway_serving": ("gauge", {}),
}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"instance", "job", "pod", "namespace"}


def load_yaml_documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# --- kustomize ------------------------------------------------------------------------------

SUPPORTED_KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images",
                                  "replicas", "patches"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def _json_pointer(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    return parent, parts[-1]


def apply_json6902(doc, operations):
    for op in operations:
        parent, key = _json_pointer(doc, op["path"])
        if isinstance(parent, list):
            key = len(parent) if key == "-" else int(key)
        kind = op["op"]
        if kind == "remove":
            del parent[key]
        elif kind == "replace":
            if isinstance(parent, list) or key in parent:
                parent[key] = copy.deepcopy(op["value"])
            else:
                raise KeyError(f"replace of missing {op['path']}")
        elif kind == "add":
            if isinstance(parent, list):
                parent.insert(key, copy.deepcopy(op["value"]))
            else:
                parent[key] = copy.deepcopy(op["value"])
        else:
            raise ValueError(f"unsupported JSON patch op {kind}")


def render(kustomization_dir):
    """The objects `kustomize build kustomization_dir` produces (for the features listed above)."""
    kdir = Path(kustomization_dir)
    k = load_yaml_documents(kdir / "kustomization.yaml")[0]
    unknown = set(k) - SUPPORTED_KUSTOMIZATION_FIELDS
    assert not unknown, f"{kdir}: kustomization fields this renderer does not model: {unknown}"
    objects = []
    for resource in k.get("resources", []):
        path = kdir / resource
        if path.is_dir():
            objects += render(path)
        else:
            objects += load_yaml_documents(path)
    for patch in k.get("patches", []):
        target = patch["target"]
        operations = yaml.safe_load(patch["patch"])
        matched = [o for o in objects if o["kind"] == target["kind"]
                   and o["metadata"]["name"] == target["name"]]
        assert matched, f"{kdir}: patch target {target} matches nothing"
        for o in matched:
            apply_json6902(o, operations)
    for r in k.get("replicas", []):
        matched = [o for o in objects if o["metadata"]["name"] == r["name"]
                   and o["kind"] in ("Deployment", "StatefulSet")]
        assert matched, f"{kdir}: replicas for unknown workload {r['name']}"
        for o in matched:
            o["spec"]["replicas"] = r["count"]
    for image in k.get("images", []):
        for c in containers_of_all(objects):
            name, _, tag = c["image"].partition(":")
            if name == image["name"]:
                c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    if "namespace" in k:
        for o in objects:
            if o["kind"] not in CLUSTER_SCOPED_KINDS:
                o["metadata"]["namespace"] = k["namespace"]
    return objects


def containers_of_all(objects):
    return [c for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
            for c in o["spec"]["template"]["spec"].get("containers", [])]


class Rendered:
    """One rendered kustomization, with the lookups the invariants need."""

    def __init__(self, kustomization_dir):
        self.dir = Path(kustomization_dir)
        self.objects = render(kustomization_dir)

    def of_kind(self, kind):
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind, name):
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.dir}: expected one {kind} {name}, found {len(found)}"
        return found[0]

    def workloads(self):
        return self.of_kind("Deployment") + self.of_kind("StatefulSet")

    @property
    def gateway(self):
        return self.get("Deployment", "ota-gateway")

    @property
    def gateway_container(self):
        containers = self.gateway["spec"]["template"]["spec"]["containers"]
        return next(c for c in containers if c["name"] == "ota-gateway")

    def gateway_env(self):
        """The OTA_* environment the gateway container gets from its ConfigMaps."""
        env = {}
        for source in self.gateway_container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.get("ConfigMap", source["configMapRef"]["name"])["data"])
        for e in self.gateway_container.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
        return env


def selector_matches(selector, labels):
    """matchLabels semantics (the manifests use no matchExpressions; asserted)."""
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def host_port(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


def duration_seconds(text):
    """A Go/absl duration such as 20s, 1m30s, 250ms."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", text)
    assert parts and "".join(a + b for a, b in parts) == text, f"not a duration: {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


# --- Dockerfile -----------------------------------------------------------------------------

class Dockerfile:
    """Instructions grouped by stage, with line continuations joined and ARG defaults expanded
    in FROM lines (what `docker build` does with them)."""

    def __init__(self, path=DEPLOY / "Dockerfile"):
        text = Path(path).read_text()
        logical, current = [], ""
        for line in text.splitlines():
            stripped = line.strip()
            if not current and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("#"):
                continue  # comment inside a continued instruction
            if line.rstrip().endswith("\\"):
                current += line.rstrip()[:-1] + " "
                continue
            logical.append(current + line)
            current = ""
        self.args, self.stages = {}, []
        for line in logical:
            instruction, _, rest = line.strip().partition(" ")
            instruction = instruction.upper()
            rest = rest.strip()
            if instruction == "ARG" and not self.stages:
                name, _, default = rest.partition("=")
                self.args[name] = default
            elif instruction == "FROM":
                expanded = re.sub(r"\$\{(\w+)\}", lambda m: self.args[m.group(1)], rest)
                image, _, alias = expanded.partition(" AS ")
                self.stages.append({"image": image.strip(), "name": alias.strip(), "lines": []})
            else:
                self.stages[-1]["lines"].append((instruction, rest))

    def instructions(self, stage, instruction):
        return [rest for ins, rest in stage["lines"] if ins == instruction]

    def apt_packages(self, stage):
        """Packages of every `apt-get install` in the stage's RUN lines."""
        packages = []
        for run in self.instructions(stage, "RUN"):
            for command in re.split(r"&&|;", run):
                words = shlex.split(command)
                if "apt-get" in words and "install" in words:
                    after = words[words.index("install") + 1:]
                    packages += [w for w in after if not w.startswith("-")]
        return packages

    def env(self, stage):
        """ENV KEY=VALUE pairs of the stage."""
        result = {}
        for rest in self.instructions(stage, "ENV"):
            for word in shlex.split(rest):
                key, _, value = word.partition("=")
                result[key] = value
        return result


# --- Prometheus rules -----------------------------------------------------------------------

METRIC_NAME = re.compile(r"\b(ota_gateway_[a-z_]+)\b")
SELECTOR = re.compile(r"\b(ota_gateway_[a-z_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def base_metric(series_name):
    """ota_gateway_x_bucket -> ota_gateway_x for histograms; other names unchanged."""
    for suffix in ("_bucket", "_sum", "_count"):
        stem = series_name[: -len(suffix)]
        if series_name.endswith(suffix) and METRICS.get(stem, ("",))[0] == "histogram":
            return stem
    return series_name


def alert_rules(path=DEPLOY / "prometheus" / "alerts.yaml"):
    return [r for g in load_yaml_documents(path)[0]["groups"] for r in g["rules"]]
