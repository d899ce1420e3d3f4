"""Fair share of the account's quota, end to end: real ota-gateway processes against a real
iot-emulator enforcing 10 calls per sliding second, callers identified by bearer tokens from a
callers file, calls made by `ota-bench burst` (one thread per call, one process per caller).

- one gateway: caller A floods 400 calls; 1.5 s later caller B makes 5 calls 1 s apart with 3 s
  deadlines. Each of B's is answered OK within 1 s, while the emulator sees at most 10 calls in any
  1 s window and the flood uses at least 90% of what the limiter allows (the issue asked 9 calls/s,
  measured with the old 50 ms margin; the default 250 ms margin, sized for 100 ms of arrival
  jitter, allows 8/s);
- shares 3:1, both callers sending 150 calls at once: the first 40 at the emulator split ~30:10;
- two replicas on one real redis-server, A's flood on replica 1, B's calls on replica 2: each of
  B's OK within 1.5 s, the fleet never over 10 in any 1 s window.
"""
import hashlib
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BUILD_DIR, Emulator, Gateway
from test_distributed_limiter import (SUSTAINED, RedisServer, arrivals, assert_no_throttling,
                                      busiest_second)

QPS = 10
ACTION = "CancelOTAStrategyByJob"
TOKENS = {"a": "fair-share-token-of-caller-a-51f2", "b": "fair-share-token-of-caller-b-93c7",
          "warm": "fair-share-token-of-warm-up-0d4e"}


@pytest.fixture
def redis():
    server = RedisServer()
    yield server
    server.stop()


def write_callers(tmp_path, shares):
    """A callers file with one token per caller and the given shares; returns its path and the
    token files."""
    callers = []
    token_files = {}
    for name, share in shares.items():
        token_file = tmp_path / f"{name}.token"
        token_file.write_text(TOKENS[name])
        token_files[name] = token_file
        callers.append({"name": name, "share": share,
                        "identities": [{"token_sha256": hashlib.sha256(
                            TOKENS[name].encode()).hexdigest()}]})
    path = tmp_path / "callers.json"
    path.write_text(json.dumps({"callers": callers}))
    return path, token_files


def start_emulator(processes, tmp_path, jobs):
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps({"jobs": [{"job_id": j, "state": "dynamic"} for j in jobs]}))
    emulator = Emulator(f"--qps={QPS}", f"--jobs-file={jobs_file}", "--threads=64")
    processes.append(emulator)
    return emulator


def burst(gateway, jobs, token_file, timeout):
    """One concurrent call per job from one `ota-bench burst` process: {job_id: result}."""
    out = subprocess.run([str(BUILD_DIR / "bench" / "ota-bench"), "burst",
                          f"--target={gateway.target}", f"--jobs={','.join(jobs)}",
                          f"--timeout={timeout}", f"--token_file={token_file}"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return {r["job_id"]: r for r in map(json.loads, out.stdout.splitlines())}


def on_call(gateway, token_file, calls=5, spacing=1.0, timeout="3s"):
    """B's calls, one at a time, `spacing` apart: [result]."""
    results = []
    next_at = time.monotonic()
    for i in range(calls):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += spacing
        results.append(burst(gateway, [f"B-{i}"], token_file, timeout)[f"B-{i}"])
    return results


def assert_never_over_quota(emulator):
    """At most QPS calls in any 1 s window of the emulator's record; the message shows the busiest
    window's calls (job, ms after the window opened) when there are more."""
    calls = sorted((c for c in emulator.calls() if c.get("action") == ACTION),
                   key=lambda c: c["time_us"])
    times = [c["time_us"] / 1e6 for c in calls]
    best, first, j = 0, 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + 1.0:
            j += 1
        if j - i > best:
            best, first = j - i, i
    window = [(c["job_id"], round((c["time_us"] / 1e6 - times[first]) * 1000))
              for c in calls[first:first + best]]
    assert best <= QPS, f"{best} calls in one second at the emulator: {window}"
    return best


def emulator_jobs(emulator):
    """The job ids of the cancel calls the emulator received, in arrival order."""
    calls = [c for c in emulator.calls() if c.get("action") == ACTION]
    return [c["job_id"] for c in sorted(calls, key=lambda c: c["time_us"])]


def test_on_call_caller_is_served_within_a_second_during_a_flood(processes, tmp_path):
    a_jobs = [f"A-{i}" for i in range(400)]
    emulator = start_emulator(processes, tmp_path, a_jobs + [f"B-{i}" for i in range(5)])
    callers, tokens = write_callers(tmp_path, {"a": 1, "b": 1})
    audit = tmp_path / "audit.jsonl"
    gateway = Gateway(emulator, f"--qps={QPS}", f"--audit-log={audit}",
                      security=("--plaintext", f"--callers-file={callers}"))
    processes.append(gateway)

    with ThreadPoolExecutor(max_workers=1) as pool:
        flood = pool.submit(burst, gateway, a_jobs, tokens["a"], "120s")
        time.sleep(1.5)
        b_results = on_call(gateway, tokens["b"])
        a_results = flood.result()

    for r in b_results:
        assert r["ok"], r
        assert r["latency_ms"] <= 1000, f"B waited {r['latency_ms']:.0f} ms: {b_results}"
    # A's calls beyond what --max-wait (30 s) can serve were refused at once, never left to expire.
    assert {r["code"] for r in a_results.values()} <= {"OK", "RESOURCE_EXHAUSTED"}
    times = arrivals(emulator)
    assert_never_over_quota(emulator)
    assert_no_throttling(emulator)
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"\nflood: {len(times)} calls over {times[-1] - times[0]:.2f}s, {rate:.2f} calls/s; B "
          f"waited {[round(r['latency_ms']) for r in b_results]} ms")
    assert rate >= 0.9 * SUSTAINED, f"only {rate:.2f} calls/s of {SUSTAINED:.2f} used in the flood"
    # The audit trail names B and what its calls waited.
    b_lines = [json.loads(line) for line in audit.read_text().splitlines()
               if json.loads(line)["job_id"].startswith("B-")]
    assert len(b_lines) == 5
    assert all(line["caller"] == "b" and line["limiter_wait_ms"] <= 1000 for line in b_lines)


def test_shares_three_to_one_split_the_first_40_calls(processes, tmp_path):
    a_jobs = [f"A-{i}" for i in range(150)]
    b_jobs = [f"B-{i}" for i in range(150)]
    warm_jobs = [f"W-{i}" for i in range(15)]
    emulator = start_emulator(processes, tmp_path, a_jobs + b_jobs + warm_jobs)
    callers, tokens = write_callers(tmp_path, {"a": 3, "b": 1, "warm": 100})
    gateway = Gateway(emulator, f"--qps={QPS}", security=("--plaintext",
                                                          f"--callers-file={callers}"))
    processes.append(gateway)

    # A warm-up caller with a large share holds the quota for about a second, so that both
    # floods are queued before the first slot they compete for, however the two client processes
    # happen to be scheduled (without it, the first one up takes the first free burst alone).
    with ThreadPoolExecutor(max_workers=3) as pool:
        warm = pool.submit(burst, gateway, warm_jobs, tokens["warm"], "60s")
        time.sleep(0.2)
        floods = [pool.submit(burst, gateway, a_jobs, tokens["a"], "120s"),
                  pool.submit(burst, gateway, b_jobs, tokens["b"], "120s")]
        for f in floods + [warm]:
            f.result()

    order = [job for job in emulator_jobs(emulator) if not job.startswith("W-")]
    first = order[:40]
    split = (sum(j.startswith("A-") for j in first), sum(j.startswith("B-") for j in first))
    print(f"\nfirst 40 calls at the emulator, A:B = {split[0]}:{split[1]}")
    assert 27 <= split[0] <= 33, split
    assert_never_over_quota(emulator)
    assert_no_throttling(emulator)


def test_two_replicas_on_redis_on_call_caller_served_during_a_flood(processes, redis, tmp_path):
    a_jobs = [f"A-{i}" for i in range(400)]
    emulator = start_emulator(processes, tmp_path, a_jobs + [f"B-{i}" for i in range(5)])
    callers, tokens = write_callers(tmp_path, {"a": 1, "b": 1})
    replicas = []
    for _ in range(2):
        replica = Gateway(emulator, "--limiter=redis", f"--redis-url={redis.url}",
                          "--expected-replicas=2", "--redis-timeout=200ms",
                          "--limiter-key-prefix=e2e-fair:", f"--qps={QPS}",
                          env={"OTA_REDIS_PASSWORD": redis.password},
                          security=("--plaintext", f"--callers-file={callers}"))
        processes.append(replica)
        replicas.append(replica)

    with ThreadPoolExecutor(max_workers=1) as pool:
        flood = pool.submit(burst, replicas[0], a_jobs, tokens["a"], "120s")
        time.sleep(1.5)
        b_results = on_call(replicas[1], tokens["b"])
        flood.result()

    for r in b_results:
        assert r["ok"], r
        assert r["latency_ms"] <= 1500, f"B waited {r['latency_ms']:.0f} ms: {b_results}"
    times = arrivals(emulator)
    print(f"\nfleet: {len(times)} calls, busiest second {busiest_second(times)}; B waited "
          f"{[round(r['latency_ms']) for r in b_results]} ms")
    assert_never_over_quota(emulator)
    assert_no_throttling(emulator)
