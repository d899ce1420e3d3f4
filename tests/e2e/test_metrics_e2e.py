"""Metrics and the admin port end to end: a real ota-gateway with --admin-listen in front of a real
iot-emulator. Calls are made with grpcurl, /metrics is scraped over HTTP and read with the official
Prometheus Python parser, and /readyz is compared with the gRPC health service.
"""
import json
import re
import signal
import threading
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, Emulator, Gateway, free_port, grpcurl

SERVICE = "ota.v1.OtaStrategyService"
METHOD = f"{SERVICE}/CancelByJob"
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def admin_address(gateway):
    """The admin address the gateway logged in its "ota-gateway serving" line."""
    record = json.loads(gateway.wait_for_line("ota-gateway serving"))
    return record["admin"]


def http_get(address, path):
    """(status, content type, body) of GET http://address/path; 503 is an answer, not an error."""
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read().decode()


class Scrape:
    """One /metrics scrape, parsed with prometheus_client's text parser."""

    def __init__(self, address):
        status, content_type, self.text = http_get(address, "/metrics")
        assert status == 200
        assert content_type == PROMETHEUS_CONTENT_TYPE
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples = {}
        for family in self.families.values():
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                assert key not in self.samples, f"duplicate sample {key}"
                self.samples[key] = sample.value

    def value(self, name, **labels):
        return self.samples[(name, frozenset(labels.items()))]

    def histogram_count(self, name):
        return self.value(f"{name}_count")


def call(gateway, job_id, *extra, max_time="20"):
    return grpcurl("-plaintext", "-max-time", max_time, *extra, "-d",
                   json.dumps({"job_id": job_id}), gateway.target, METHOD)


def grpc_health(gateway, service=SERVICE):
    """The gRPC health status of `service`, or the grpcurl error when the server cannot answer."""
    out = grpcurl("-plaintext", "-max-time", "5", "-d", json.dumps({"service": service}),
                  gateway.target, "grpc.health.v1.Health/Check")
    if out.returncode != 0:
        return "UNREACHABLE: " + out.stderr.strip()
    return json.loads(out.stdout)["status"]


def api_calls(emulator):
    return [c for c in emulator.calls() if c.get("action") == "CancelOTAStrategyByJob"]


def test_counters_move_by_exactly_the_calls_made(processes, emulator):
    gw = Gateway(emulator, "--admin-listen=127.0.0.1:0", "--max-attempts=2")
    processes.append(gw)
    admin = admin_address(gw)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", admin) and not admin.endswith(":0")
    before = Scrape(admin)

    assert call(gw, "JOB-DYN-1").returncode == 0
    assert "Code: NotFound" in call(gw, "NO-SUCH-JOB").stderr
    assert "Code: InvalidArgument" in call(gw, "bad job id!").stderr
    emulator.set_faults(status=503, rate=1.0)
    assert "Code: Unavailable" in call(gw, "JOB-DYN-2").stderr  # 2 attempts, both 503
    emulator.set_faults()
    after = Scrape(admin)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    expected_calls = {"OK": 1, "NOT_FOUND": 1, "INVALID_ARGUMENT": 1, "UNAVAILABLE": 1}
    codes = [dict(labels)["code"] for (name, labels) in after.samples
             if name == "ota_gateway_calls_total" and dict(labels)["rpc"] == "CancelByJob"]
    assert len(codes) == 17, codes
    for code in codes:
        assert delta("ota_gateway_calls_total", rpc="CancelByJob", code=code) == \
            expected_calls.get(code, 0), code
        assert delta("ota_gateway_calls_total", rpc="ListJobsByFirmware", code=code) == 0, code
    assert delta("ota_gateway_call_duration_seconds_count", rpc="CancelByJob") == 4
    # The invalid call never reached the limiter or Alibaba; the 503 call went twice.
    assert delta("ota_gateway_upstream_attempts_total") == 4
    assert delta("ota_gateway_upstream_retries_total") == 1
    assert delta("ota_gateway_upstream_duration_seconds_count") == 4
    assert delta("ota_gateway_limiter_wait_seconds_count") == 4
    assert delta("ota_gateway_alibaba_errors_total", alibaba_code="iot.ota.OtaJobNotExist") == 1
    assert delta("ota_gateway_alibaba_errors_total", alibaba_code="ServiceUnavailable") == 2
    assert delta("ota_gateway_alibaba_errors_total", alibaba_code="other") == 0
    assert len(api_calls(emulator)) == 4  # what the emulator saw agrees
    assert after.value("ota_gateway_limiter_rejections_total", reason="rate_limited") == 0
    assert after.value("ota_gateway_in_flight_calls") == 0
    assert after.value("ota_gateway_queued_waiters") == 0
    assert after.value("ota_gateway_serving") == 1
    assert after.value("ota_gateway_limiter_backend", backend="local") == 1
    assert after.value("ota_gateway_limiter_backend", backend="redis") == 0
    assert after.value("ota_gateway_limiter_backend", backend="degraded") == 0
    assert after.value("ota_gateway_credentials_expiry_timestamp_seconds") == float("inf")

    build = [dict(labels) for (name, labels) in after.samples if name == "ota_gateway_build_info"]
    assert len(build) == 1
    assert build[0]["version"] == (ROOT / "stubs" / "VERSION").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{12}|unknown", build[0]["git_sha"]), build[0]
    # Histograms: cumulative buckets ending in +Inf, which equals _count.
    buckets = [(float(dict(labels)["le"]), value) for (name, labels), value in after.samples.items()
               if name == "ota_gateway_call_duration_seconds_bucket"
               and dict(labels)["rpc"] == "CancelByJob"]
    buckets.sort()
    assert buckets[-1] == (float("inf"),
                           after.value("ota_gateway_call_duration_seconds_count", rpc="CancelByJob"))
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    # Every family announced once, with HELP and TYPE, all prefixed; no job id ever a label.
    for name, family in after.families.items():
        assert name.startswith("ota_gateway_"), name
        assert family.documentation and family.type in ("counter", "gauge", "histogram"), name
    assert len(re.findall(r"^# TYPE ", after.text, re.M)) == len(after.families)
    for job_id in ("JOB-DYN-1", "NO-SUCH-JOB", "bad job id", "JOB-DYN-2"):
        assert job_id not in after.text


def test_waiting_and_rate_limited_calls(processes, emulator):
    # One call per 1s + 5s window: the second call waits about 6 s for its slot, a third with a
    # short deadline is refused at once.
    gw = Gateway(emulator, "--admin-listen=127.0.0.1:0", "--qps=1", "--burst=1",
                 "--rate-margin=5s")
    processes.append(gw)
    admin = admin_address(gw)
    assert call(gw, "JOB-DYN-1").returncode == 0

    waiting = {}
    waiter = threading.Thread(target=lambda: waiting.update(out=call(gw, "JOB-DYN-2")))
    waiter.start()
    try:
        deadline = time.monotonic() + 5
        while True:
            scrape = Scrape(admin)
            if scrape.value("ota_gateway_queued_waiters") == 1:
                break
            assert time.monotonic() < deadline, "the second call never queued for its slot"
            time.sleep(0.05)
        assert scrape.value("ota_gateway_in_flight_calls") == 1
        refused = call(gw, "JOB-INST", max_time="3")
        assert "Code: ResourceExhausted" in refused.stderr, refused.stderr
    finally:
        waiter.join(30)
    assert waiting["out"].returncode == 0, waiting["out"].stderr

    final = Scrape(admin)
    assert final.value("ota_gateway_limiter_rejections_total", reason="rate_limited") == 1
    assert final.value("ota_gateway_limiter_rejections_total", reason="unavailable") == 0
    assert final.value("ota_gateway_calls_total", rpc="CancelByJob", code="OK") == 2
    assert final.value("ota_gateway_calls_total", rpc="CancelByJob", code="RESOURCE_EXHAUSTED") == 1
    assert final.value("ota_gateway_queued_waiters") == 0
    assert final.value("ota_gateway_in_flight_calls") == 0
    assert final.histogram_count("ota_gateway_limiter_wait_seconds") == 2
    # The second call's wait (most of 6 s) is in the histogram.
    assert final.value("ota_gateway_limiter_wait_seconds_sum") > 1.0
    assert final.value("ota_gateway_limiter_wait_seconds_bucket", le="0.001") == 1


def test_readyz_agrees_with_grpc_health_through_the_drain(processes, emulator):
    gw = Gateway(emulator, "--admin-listen=127.0.0.1:0", "--drain-timeout=15s")
    processes.append(gw)
    admin = admin_address(gw)
    status, _, body = http_get(admin, "/readyz")
    assert (status, grpc_health(gw)) == (200, "SERVING")
    assert f"{SERVICE}: SERVING" in body and f"{SERVICE}.limiter: SERVING" in body
    assert grpc_health(gw, f"{SERVICE}.limiter") == "SERVING"
    assert http_get(admin, "/healthz")[0] == 200
    assert Scrape(admin).value("ota_gateway_serving") == 1

    # A call still in flight keeps the process draining (and the admin port up) for a while.
    emulator.set_faults(latency_ms=6000, rate=1.0)
    result = {}
    caller = threading.Thread(target=lambda: result.update(out=call(gw, "JOB-DYN-1")))
    caller.start()
    deadline = time.monotonic() + 10
    while not api_calls(emulator) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api_calls(emulator), "the slow call never reached the emulator"
    gw.proc.send_signal(signal.SIGTERM)
    try:
        gw.wait_for_line("shutting down")
        status, _, body = http_get(admin, "/readyz")
        assert status == 503, body
        assert f"{SERVICE}: NOT_SERVING" in body
        # gRPC agrees: NOT_SERVING, or no longer accepting connections at all.
        assert grpc_health(gw) != "SERVING"
        draining = Scrape(admin)
        assert draining.value("ota_gateway_serving") == 0
        assert draining.value("ota_gateway_in_flight_calls") == 1
        assert http_get(admin, "/healthz")[0] == 200  # alive while draining
    finally:
        caller.join(30)
    assert result["out"].returncode == 0, result["out"].stderr
    assert gw.proc.wait(20) == 0


def test_admin_port_is_off_by_default_and_bad_addresses_are_refused(processes, emulator):
    plain = Gateway(emulator)
    processes.append(plain)
    assert json.loads(plain.wait_for_line("ota-gateway serving"))["admin"] == "off"

    bad = Gateway(emulator, "--admin-listen=no-port-here", wait=False)
    processes.append(bad)
    assert bad.proc.wait(20) == 2
    assert "--admin-listen" in bad.output()

    port = free_port()
    first = Gateway(emulator, f"--admin-listen=127.0.0.1:{port}")
    processes.append(first)
    assert admin_address(first) == f"127.0.0.1:{port}"
    # The same port twice is an error, not two processes sharing the scrapes.
    second = Gateway(emulator, f"--admin-listen=127.0.0.1:{port}", wait=False)
    processes.append(second)
    assert second.proc.wait(20) == 2
    assert "admin" in second.output()
    assert http_get(f"127.0.0.1:{port}", "/healthz")[0] == 200


def test_environment_variable_sets_the_admin_address(processes, emulator):
    port = free_port()
    gw = Gateway(emulator, env={"OTA_ADMIN_LISTEN": f"127.0.0.1:{port}"})
    processes.append(gw)
    assert admin_address(gw) == f"127.0.0.1:{port}"
    assert http_get(f"127.0.0.1:{port}", "/readyz")[0] == 200


def test_log_level_and_request_id_in_call_logs(processes, emulator):
    admin_port = free_port()
    gw = Gateway(emulator, "--log-level=warning", f"--admin-listen=127.0.0.1:{admin_port}",
                 wait=False)
    processes.append(gw)
    # At warning level even "ota-gateway serving" is not logged: wait for the admin port instead.
    deadline = time.monotonic() + 20
    while True:
        try:
            if http_get(f"127.0.0.1:{admin_port}", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        assert gw.proc.poll() is None and time.monotonic() < deadline, gw.output()
        time.sleep(0.05)

    assert call(gw, "JOB-DYN-1", "-H", "x-request-id: ok-call-1").returncode == 0
    long_id = "r" * 300
    assert "Code: NotFound" in call(gw, "NO-SUCH-JOB", "-H", "x-request-id: a b  c").stderr
    assert "Code: NotFound" in call(gw, "NO-SUCH-JOB", "-H", f"x-request-id: {long_id}").stderr
    gw.stop()
    records = gw.log_records()
    assert records and all(r["level"] in ("warning", "error") for r in records), records
    finished = [r for r in records if r.get("msg") == "CancelByJob finished"]
    # The successful call logs at info: filtered out. The failures log at warning.
    assert [r["code"] for r in finished] == ["NOT_FOUND", "NOT_FOUND"]
    assert finished[0]["x_request_id"] == "a_b__c"
    assert finished[1]["x_request_id"] == "r" * 128


def test_scrape_never_contains_credentials(processes):
    key_id, secret = "LTAI5tMetricsKey99", "metrics-s3cr3t-never-shown"
    emu = Emulator(f"--access-key={key_id}:{secret}:acct-9", "--job=JOB-A=dynamic")
    processes.append(emu)
    gw = Gateway(emu, "--admin-listen=127.0.0.1:0", emulator_mode=False,
                 env={"ALIBABA_CLOUD_ACCESS_KEY_ID": key_id,
                      "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret})
    processes.append(gw)
    admin = admin_address(gw)
    assert call(gw, "JOB-A").returncode == 0
    scrape = Scrape(admin)
    assert scrape.value("ota_gateway_calls_total", rpc="CancelByJob", code="OK") == 1
    for path in ("/metrics", "/readyz", "/healthz"):
        body = http_get(admin, path)[2]
        assert secret not in body and key_id not in body
    assert secret not in gw.output()


def test_limiter_backend_and_health_follow_redis(processes, emulator):
    from test_distributed_limiter import RedisServer  # the suite's real redis-server wrapper

    redis = RedisServer()
    try:
        gw = Gateway(emulator, "--admin-listen=127.0.0.1:0", "--limiter=redis",
                     f"--redis-url={redis.url}", "--redis-failure-mode=fail-closed",
                     "--redis-timeout=200ms", "--max-attempts=1",
                     env={"OTA_REDIS_PASSWORD": redis.password})
        processes.append(gw)
        admin = admin_address(gw)

        def backend():
            scrape = Scrape(admin)
            return [b for b in ("local", "redis", "degraded")
                    if scrape.value("ota_gateway_limiter_backend", backend=b) == 1]

        def wait_for_backend(name, timeout):
            deadline = time.monotonic() + timeout
            while backend() != [name]:
                assert time.monotonic() < deadline, f"backend {backend()}, expected {name}"
                time.sleep(0.05)

        assert backend() == ["redis"]
        assert call(gw, "JOB-DYN-1").returncode == 0
        redis.kill()
        wait_for_backend("degraded", 5)
        status, _, body = http_get(admin, "/readyz")
        # A degraded limiter is reported, and gRPC health says the same for the limiter entry;
        # the service itself stays ready (fail-closed answers UNAVAILABLE per call, saying why).
        assert status == 200 and f"{SERVICE}.limiter: NOT_SERVING" in body, body
        assert grpc_health(gw, f"{SERVICE}.limiter") == "NOT_SERVING"
        assert grpc_health(gw) == "SERVING"
        assert "Code: Unavailable" in call(gw, "JOB-DYN-2").stderr
        assert Scrape(admin).value("ota_gateway_limiter_rejections_total",
                                   reason="unavailable") == 1
        redis.start()
        wait_for_backend("redis", 10)
        assert grpc_health(gw, f"{SERVICE}.limiter") == "SERVING"
        assert f"{SERVICE}.limiter: SERVING" in http_get(admin, "/readyz")[2]
    finally:
        redis.stop()
