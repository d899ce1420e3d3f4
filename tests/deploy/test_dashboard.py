"""deploy/monitoring/grafana-dashboard.json: every query the dashboard sends to Prometheus uses
metrics and labels the gateway exports (deploy_contract.METRICS, which test_rehearsal.py checks
against a live /metrics) and parses as PromQL (promtool, from Debian's prometheus package,
installed by scripts/setup.sh), with Grafana's variables replaced the way Grafana replaces them.
"""
import json
import re
import shutil

import pytest

from deploy_contract import DEPLOY, expression_problems, promql_errors

DASHBOARD = DEPLOY / "monitoring" / "grafana-dashboard.json"
# Grafana's built-in interval variables, as Grafana fills them in for a 6 h range.
BUILTIN = {"__rate_interval": "1m", "__interval": "15s", "__range": "6h"}
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text())


@pytest.fixture(scope="module")
def promtool():
    found = shutil.which("promtool")
    assert found, "promtool missing: scripts/setup.sh installs Debian's prometheus package"
    return found


def all_panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def queries(dashboard):
    """(panel title, expression) of every Prometheus query, the template variables' included."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield f"${variable['name']}", variable["query"]["query"]


def substitute(expr, dashboard):
    """The expression as Grafana sends it: constants by value, multi-value variables by the regex
    of their 'All' value, built-ins by their value. An unknown variable is an error."""
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}

    def value(match):
        name = match.group(1) or match.group(2)
        if name in BUILTIN:
            return BUILTIN[name]
        assert name in variables, f"{expr}: ${name} is no variable of the dashboard"
        v = variables[name]
        if v["type"] == "constant":
            return v["query"]
        assert v["type"] == "query" and v.get("allValue"), (name, v["type"])
        return v["allValue"]

    return VARIABLE.sub(value, expr)


def label_values_metric(expr):
    """label_values(metric, label) is Grafana's, not PromQL: the metric part is checked."""
    m = re.fullmatch(r"label_values\((\w+)(\{[^}]*\})?,\s*(\w+)\)", expr)
    return m and f"{m.group(1)}{m.group(2) or ''}"


def test_every_query_uses_exported_metrics_and_labels(dashboard):
    found = list(queries(dashboard))
    assert len(found) >= 10
    for title, expr in found:
        expr = label_values_metric(expr) or expr
        assert not expression_problems(expr), (title, expr, expression_problems(expr))


def test_every_query_parses_as_promql(dashboard, promtool):
    expressions = [substitute(label_values_metric(e) or e, dashboard) for _, e in queries(dashboard)]
    assert all("$" not in e for e in expressions)
    errors = promql_errors(expressions, promtool)
    assert not errors, errors


def test_the_parse_check_can_fail(dashboard, promtool):
    # The same path rejects what Prometheus would: a missing bracket, a range where an instant
    # vector belongs, an unknown function.
    for broken in ("sum(rate(ota_gateway_calls_total[1m])", "ota_gateway_calls_total[1m] / 2",
                   "sum(rates(ota_gateway_calls_total[1m]))"):
        assert promql_errors([broken], promtool), broken
    assert expression_problems('sum by (caller) (ota_gateway_calls_total{code="BOGUS"})')


def test_dashboard_shows_what_operators_ask_about(dashboard):
    joined = " ".join(e for _, e in queries(dashboard))
    for needed in ("ota_gateway_upstream_attempts_total",  # quota used ...
                   "$account_qps",  # ... against the account's limit
                   "ota_gateway_queued_waiters", "ota_gateway_limiter_wait_seconds_bucket",
                   "sum by (code) (rate(ota_gateway_calls_total",
                   "ota_gateway_call_duration_seconds_bucket",
                   "ota_gateway_upstream_duration_seconds_bucket",
                   "ota_gateway_upstream_retries_total", "ota_gateway_limiter_backend",
                   "ota_gateway_limiter_rejections_total"):
        assert needed in joined, needed


def test_dashboard_is_importable(dashboard):
    # What Grafana's import needs: a uid and title, unique panel ids, every panel on the grid and
    # reading the Prometheus data source the operator picks.
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    panels = list(all_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for p in panels:
        grid = p["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, p["title"]
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            assert p["targets"] and p.get("description"), p["title"]
            assert len({t["refId"] for t in p["targets"]}) == len(p["targets"]), p["title"]
    datasource = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
    assert datasource["type"] == "datasource" and datasource["query"] == "prometheus"
