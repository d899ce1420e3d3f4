"""The Kubernetes objects deploy/kubernetes renders to, rendered by the real kustomize and checked
against the Kubernetes API's schemas, plus the lookups the project's own policy checks need.

- kustomize: pinned and installed into .tools/bin by scripts/setup.sh (KUSTOMIZE_VERSION there).
- kubernetes-validate: pinned in tests/requirements.txt; it ships the JSON schemas of each
  Kubernetes release and works offline. Objects are validated strictly (unknown fields are errors)
  against KUBERNETES_VERSION, what deploy/README.md names as the supported cluster version.

By hand: `.tools/bin/kustomize build deploy/kubernetes/base >rendered.yaml`, then
`.venv/bin/kubernetes-validate --strict -k 1.32.0 rendered.yaml`.
"""
import functools
import os
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUSTOMIZE = Path(os.environ.get("OTA_KUSTOMIZE", ROOT / ".tools" / "bin" / "kustomize"))
KUBERNETES_VERSION = "1.32.0"
# Custom resources of the Prometheus Operator: kubernetes-validate has no schema for them (their
# CRDs are no part of Kubernetes); test_manifests.py checks their content with promtool instead.
OPERATOR_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"),
                  ("monitoring.coreos.com/v1", "PrometheusRule")}


@functools.cache
def _build(kustomization_dir):
    assert KUSTOMIZE.exists(), f"{KUSTOMIZE} missing: scripts/setup.sh installs kustomize"
    out = subprocess.run([KUSTOMIZE, "build", kustomization_dir], capture_output=True, text=True)
    assert out.returncode == 0, f"kustomize build {kustomization_dir}: {out.stderr}"
    return out.stdout


def render(kustomization_dir):
    """The objects `kustomize build kustomization_dir` prints (fresh copies on every call)."""
    return [d for d in yaml.safe_load_all(_build(Path(kustomization_dir))) if d is not None]


def schema_errors(objects):
    """Why each object fails kubernetes-validate --strict at KUBERNETES_VERSION (empty: all pass)."""
    errors = []
    for o in objects:
        name = f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"
        if (o.get("apiVersion"), o.get("kind")) in OPERATOR_KINDS:
            continue
        try:
            kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{name}: no schema in Kubernetes {KUBERNETES_VERSION}: {e}")
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{name}: {e.message} at {'.'.join(map(str, e.path))}")
    return errors


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
