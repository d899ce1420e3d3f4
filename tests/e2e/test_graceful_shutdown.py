"""Graceful shutdown: SIGTERM with many calls in flight, some waiting for a rate-limiter slot and
some waiting in the upstream's latency.

- health turns NOT_SERVING at once, new calls are refused, every accepted call gets its real
  answer within --drain-timeout, and the exit code is 0;
- with a drain timeout shorter than the calls, they are answered UNAVAILABLE
  (GATEWAY_SHUTTING_DOWN) rather than cut off, and the exit is still clean.
"""
import json
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from conftest import GRPCURL, Emulator, Gateway, Process, ota_cancel

CALLS = 16


def add_jobs(emulator, count):
    jobs = [f"GS-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    emulator._control("/_emulator/jobs",
                      {"jobs": [{"job_id": j, "state": "dynamic"} for j in jobs]})
    return jobs


def cancel(gateway, job, timeout="60s"):
    out = ota_cancel("--target", gateway.target, "--job-id", job, "--json", "--timeout", timeout)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"code": "NO_ANSWER", "stdout": out.stdout, "stderr": out.stderr}


def api_calls(emulator):
    return [c for c in emulator.calls() if c.get("action") == "CancelOTAStrategyByJob"]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def watch_health(gateway):
    return Process("health-watch", [GRPCURL, "-plaintext", "-d",
                                    '{"service":"ota.v1.OtaStrategyService"}', gateway.target,
                                    "grpc.health.v1.Health/Watch"])


def start_calls(pool, gateway, jobs):
    return [pool.submit(cancel, gateway, job) for job in jobs]


def test_sigterm_answers_every_accepted_call_and_exits_cleanly(processes):
    emulator = Emulator("--qps=0", "--fault-latency=1500ms")
    processes.append(emulator)
    # 2 calls a second: most of the calls below wait for a limiter slot when SIGTERM comes.
    gateway = Gateway(emulator, "--qps=2", "--burst=2", "--rate-margin=0s", "--max-wait=60s",
                      "--drain-timeout=30s")
    processes.append(gateway)
    watcher = watch_health(gateway)
    processes.append(watcher)
    watcher.wait_for_line('"SERVING"')
    jobs = add_jobs(emulator, CALLS)
    with ThreadPoolExecutor(CALLS + 2) as pool:
        futures = start_calls(pool, gateway, jobs)
        # Some calls are in the upstream's latency, the others queued for limiter slots. Four
        # upstream calls take over a second at 2/s: every ota-cancel has connected by then.
        wait_until(lambda: len(api_calls(emulator)) >= 4, 30, "the first upstream calls")
        signalled = time.monotonic()
        gateway.proc.send_signal(signal.SIGTERM)

        watcher.wait_for_line('"NOT_SERVING"', timeout=5)
        health_latency = time.monotonic() - signalled
        late = cancel(gateway, add_jobs(emulator, 1)[0], timeout="5s")
        answers = [f.result(timeout=90) for f in futures]
    exit_code = gateway.proc.wait(60)
    shutdown_seconds = time.monotonic() - signalled

    print(f"\nSIGTERM with {CALLS} calls in flight: health NOT_SERVING after "
          f"{health_latency * 1000:.0f} ms, all answered and exited after {shutdown_seconds:.1f} s,"
          f" late call: {late.get('code')}")
    assert health_latency < 2, f"health took {health_latency:.2f}s to turn NOT_SERVING"
    assert late.get("code") == "UNAVAILABLE", late
    assert late.get("reason") == "GATEWAY_SHUTTING_DOWN", late
    # Done when the calls are done, not at the drain timeout (open health watchers included).
    assert shutdown_seconds < 20, f"exit took {shutdown_seconds:.1f}s with a 30s drain timeout"
    not_ok = [a for a in answers if a.get("ok") is not True]
    assert not not_ok, f"accepted calls without their real answer: {not_ok}"
    assert exit_code == 0, gateway.output()[-3000:]
    # Each call really happened, once.
    cancelled = {j["job_id"] for j in emulator._control("/_emulator/jobs")
                 if j["state"] == "cancelled"}
    assert set(jobs) <= cancelled
    shutdown_log = [r for r in gateway.log_records() if r.get("msg", "").startswith("shutting down")]
    assert shutdown_log and shutdown_log[0]["in_flight"] >= CALLS // 2, shutdown_log


def test_drain_timeout_shorter_than_the_calls_answers_unavailable(processes):
    emulator = Emulator("--qps=0", "--fault-latency=8s")
    processes.append(emulator)
    gateway = Gateway(emulator, "--qps=2", "--burst=2", "--rate-margin=0s", "--max-wait=60s",
                      "--drain-timeout=1s")
    processes.append(gateway)
    jobs = add_jobs(emulator, CALLS)
    with ThreadPoolExecutor(CALLS) as pool:
        futures = start_calls(pool, gateway, jobs)
        wait_until(lambda: len(api_calls(emulator)) >= 4, 30, "the first upstream calls")
        signalled = time.monotonic()
        gateway.proc.send_signal(signal.SIGTERM)
        answers = [f.result(timeout=60) for f in futures]
        answered_after = time.monotonic() - signalled
    exit_code = gateway.proc.wait(30)
    exited_after = time.monotonic() - signalled

    print(f"\ndrain timeout 1s, {CALLS} calls of ~8s: answered after {answered_after:.1f} s, "
          f"exit {exit_code} after {exited_after:.1f} s, codes "
          f"{sorted({a.get('code') for a in answers})}")
    for answer in answers:
        assert answer.get("code") == "UNAVAILABLE", answer
        assert answer.get("reason") == "GATEWAY_SHUTTING_DOWN", answer
    assert answered_after < 6, "the drain timeout did not bound the calls"
    assert exit_code == 0, gateway.output()[-3000:]
    assert exited_after < 10
