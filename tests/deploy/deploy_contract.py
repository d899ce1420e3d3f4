"""What deploy/ promises besides the Kubernetes objects (those are rendered by kustomize, see
kustomize.py): the metric contract the gateway exports (checked against a live /metrics by
test_rehearsal.py and used by the alert and dashboard checks), the Dockerfile's stages as the
static checks read them (tests/image builds and runs the image for real), the alert rules.
"""
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# Metric contract: name -> (type, label names, allowed values per label where the set is closed).
GRPC_CODES = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
              "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
              "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
              "UNAUTHENTICATED"}
RPCS = {"CancelByJob", "ListJobsByFirmware"}
METRICS = {
    "ota_gateway_build_info": ("gauge", {"version": None, "git_sha": None}),
    "ota_gateway_calls_total": ("counter", {"rpc": RPCS, "code": GRPC_CODES}),
    "ota_gateway_alibaba_errors_total": ("counter", {"alibaba_code": None}),
    "ota_gateway_call_duration_seconds": ("histogram", {"rpc": RPCS}),
    "ota_gateway_upstream_duration_seconds": ("histogram", {}),
    "ota_gateway_limiter_wait_seconds": ("histogram", {}),
    "ota_gateway_limiter_rejections_total": ("counter", {"reason": {"rate_limited", "unavailable",
                                                                     "caller_queue_full"}}),
    "ota_gateway_limiter_backend": ("gauge", {"backend": {"local", "redis", "degraded"}}),
    "ota_gateway_upstream_attempts_total": ("counter", {}),
    "ota_gateway_upstream_retries_total": ("counter", {}),
    "ota_gateway_upstream_throttles_total": ("counter", {}),
    "ota_gateway_caller_queued_calls": ("gauge", {"caller": None}),
    "ota_gateway_caller_slots_granted_total": ("counter", {"caller": None}),
    "ota_gateway_caller_refusals_total": ("counter", {"caller": None, "reason": {
        "rate_limited", "unavailable", "caller_queue_full"}}),
    "ota_gateway_caller_wait_seconds": ("histogram", {"caller": None}),
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


def expression_problems(expr):
    """What in a PromQL expression does not match the metric contract: metrics the gateway does not
    export, label matchers or groupings on labels its metrics lack, values outside a closed set."""
    used = {base_metric(m) for m in METRIC_NAME.findall(expr)}
    if not used:
        return ["uses no ota_gateway_ metric"]
    problems = [f"metric the gateway does not export: {m}" for m in sorted(used - set(METRICS))]
    labels_available = set(TARGET_LABELS) | {"le"}
    for m in used & set(METRICS):
        labels_available |= set(METRICS[m][1])
    for series, matchers in SELECTOR.findall(expr):
        declared = METRICS.get(base_metric(series), (None, {}))[1]
        for label, op, value in MATCHER.findall(matchers):
            if label not in declared and label not in TARGET_LABELS:
                problems.append(f"{series} has no label {label}")
            allowed = declared.get(label)
            if allowed is not None:
                values = value.split("|") if op in ("=~", "!~") else [value]
                if not set(values) <= allowed:
                    problems.append(f"{series}: {label} is never {sorted(set(values) - allowed)}")
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (g.strip() for g in grouping.split(","))):
            if label not in labels_available:
                problems.append(f"grouping by {label}, which no metric used has")
    return problems


def promql_errors(expressions, promtool):
    """promtool's complaints about expressions (name -> PromQL), parsed as Prometheus parses rules:
    each becomes a recording rule of a throw-away rule file that `promtool check rules` reads."""
    rules = {"groups": [{"name": "parse", "rules": [
        {"record": f"parse:expression_{i}", "expr": expr} for i, expr in enumerate(expressions)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        out = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    return "" if out.returncode == 0 else out.stdout + out.stderr
