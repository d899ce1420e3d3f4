"""Overload (--max-pending-calls) and in-flight de-duplication, end to end."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from conftest import Emulator, Gateway, ota_cancel


def add_jobs(emulator, count):
    jobs = [f"OD-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    emulator._control("/_emulator/jobs",
                      {"jobs": [{"job_id": j, "state": "dynamic"} for j in jobs]})
    return jobs


def cancel(gateway, job, timeout="30s"):
    out = ota_cancel("--target", gateway.target, "--job-id", job, "--json", "--timeout", timeout)
    return json.loads(out.stdout)


def upstream_calls(emulator, job, action=None):
    return sum(1 for c in emulator.calls()
               if c.get("job_id") == job and action in (None, c.get("action")))


def finished_records(gateway, job):
    return [r for r in gateway.log_records()
            if r.get("msg") == "CancelByJob finished" and r.get("job_id") == job]


def test_calls_beyond_max_pending_are_refused_at_once(processes):
    emulator = Emulator("--qps=0", "--fault-latency=3s")
    processes.append(emulator)
    gateway = Gateway(emulator, "--max-pending-calls=3", "--qps=100", "--burst=100")
    processes.append(gateway)
    held = add_jobs(emulator, 3)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(cancel, gateway, job) for job in held]
        deadline = time.monotonic() + 10
        while len(emulator.calls()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        refused = cancel(gateway, add_jobs(emulator, 1)[0])
        refused_after = time.monotonic() - started
        answers = [f.result(timeout=30) for f in futures]
    assert refused["code"] == "RESOURCE_EXHAUSTED", refused
    assert refused["reason"] == "GATEWAY_OVERLOADED", refused
    assert "--max-pending-calls" in refused["message"]
    assert refused["retry_delay_seconds"], refused
    assert refused_after < 2, f"the refusal took {refused_after:.2f}s: it must not queue"
    assert all(a.get("ok") for a in answers), answers
    # Once the held calls are answered there is room again.
    emulator.set_faults()
    assert cancel(gateway, add_jobs(emulator, 1)[0]).get("ok") is True


def test_identical_concurrent_calls_share_one_upstream_call(processes):
    emulator = Emulator("--qps=0", "--fault-latency=1500ms")
    processes.append(emulator)
    gateway = Gateway(emulator)
    processes.append(gateway)
    job = add_jobs(emulator, 1)[0]
    callers = 6
    with ThreadPoolExecutor(callers) as pool:
        futures = [pool.submit(cancel, gateway, job) for _ in range(callers)]
        answers = [f.result(timeout=30) for f in futures]
    assert all(a.get("ok") for a in answers), answers
    assert len({a["request_id"] for a in answers}) == 1, "all saw the one upstream answer"
    assert upstream_calls(emulator, job) == 1
    deadline = time.monotonic() + 5
    while len(finished_records(gateway, job)) < callers and time.monotonic() < deadline:
        time.sleep(0.05)
    records = finished_records(gateway, job)
    assert len(records) == callers
    assert sum(1 for r in records if r.get("shared_with_inflight")) == callers - 1, records


def test_dedup_can_be_turned_off(processes):
    emulator = Emulator("--qps=0", "--fault-latency=1s")
    processes.append(emulator)
    gateway = Gateway(emulator, "--dedup-inflight=false")
    processes.append(gateway)
    job = add_jobs(emulator, 1)[0]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: cancel(gateway, job), range(3)))
    # Each call sends its own cancel: one is applied, and the two Alibaba refuses are settled by
    # QueryOTAJob as already cancelled (cancelling is idempotent).
    assert all(a.get("ok") for a in answers), answers
    assert sorted(a["outcome"] for a in answers) == ["already_cancelled", "already_cancelled",
                                                     "cancelled"], answers
    assert upstream_calls(emulator, job, "CancelOTAStrategyByJob") == 3
