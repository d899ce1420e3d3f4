"""Distributed limiter end to end: three ota-gateway replicas share one 10/s budget through one real
redis-server, against one iot-emulator enforcing 10 calls per sliding second.

What is checked comes from the emulator's own record of arrivals: no 1-second window over 10, no
throttling answer, and (with Redis up) close to full use of the quota. Redis is also killed and
restarted mid-run, in both failure modes, with callers arriving while it is down and after it came
back empty.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BUILD_DIR, Emulator, Gateway, free_port

QPS = 10
# The gateways' default --rate-margin: the fleet's sustained rate is QPS / (1 s + margin).
SUSTAINED = QPS / (1 + 0.25)
ACTION = "CancelOTAStrategyByJob"


class RedisServer:
    """A real redis-server without persistence: a restart is an empty Redis. It requires a
    password, which the gateways get from OTA_REDIS_PASSWORD (and which no log may show)."""

    password = "e2e-redis-password-6c1a"

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="ota-e2e-redis-")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--requirepass", self.password],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "PING"], capture_output=True,
                                  text=True, env={**os.environ, "REDISCLI_AUTH": self.password})
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def redis():
    server = RedisServer()
    yield server
    server.stop()


def start_fleet(processes, redis, tmp_path, jobs, mode, replicas=3):
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps({"jobs": [{"job_id": j, "state": "dynamic"} for j in jobs]}))
    emulator = Emulator(f"--qps={QPS}", f"--jobs-file={jobs_file}", "--threads=64")
    processes.append(emulator)
    gateways = []
    for _ in range(replicas):
        gateway = Gateway(emulator, "--limiter=redis", f"--redis-url={redis.url}",
                          f"--redis-failure-mode={mode}", f"--expected-replicas={replicas}",
                          "--redis-timeout=200ms", f"--limiter-key-prefix=e2e-{mode}:",
                          f"--qps={QPS}", "--max-attempts=1",
                          env={"OTA_REDIS_PASSWORD": redis.password})
        processes.append(gateway)
        gateways.append(gateway)
    return emulator, gateways


def burst(gateway, jobs, timeout="60s"):
    """One concurrent call per job from a single `ota-bench burst` process: {job_id: result}."""
    out = subprocess.run([str(BUILD_DIR / "bench" / "ota-bench"), "burst",
                          f"--target={gateway.target}", f"--jobs={','.join(jobs)}",
                          f"--timeout={timeout}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return {r["job_id"]: r for r in map(json.loads, out.stdout.splitlines())}


def fire(pool, gateways, jobs_per_gateway):
    """Starts one burst per gateway at once; returns futures of {job_id: result}."""
    return [pool.submit(burst, g, jobs) for g, jobs in zip(gateways, jobs_per_gateway)]


def collect(futures):
    results = {}
    for f in futures:
        results.update(f.result())
    return results


def arrivals(emulator):
    return sorted(c["time_us"] / 1e6 for c in emulator.calls() if c.get("action") == ACTION)


def busiest_second(times):
    """The most arrivals in any window [t, t + 1s)."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def assert_no_throttling(emulator):
    throttled = [c for c in emulator.calls() if "Throttling" in (c.get("code") or "")]
    assert not throttled, f"emulator throttled {len(throttled)} calls: {throttled[:3]}"


def log_count(gateway, needle):
    return sum(needle in line for line in gateway.output().splitlines())


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_three_replicas_share_one_budget_and_use_it(processes, redis, tmp_path):
    per_gateway = 60
    jobs = [[f"JOB-{g}-{i}" for i in range(per_gateway)] for g in range(3)]
    emulator, gateways = start_fleet(processes, redis, tmp_path, sum(jobs, []), "fail-closed")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = collect(fire(pool, gateways, jobs))

    failed = {job: r for job, r in results.items() if not r.get("ok")}
    assert not failed, f"{len(failed)} calls failed, e.g. {list(failed.items())[:3]}"
    times = arrivals(emulator)
    assert len(times) == 3 * per_gateway
    assert busiest_second(times) <= QPS
    assert_no_throttling(emulator)
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"\nfleet: {len(times)} calls over {times[-1] - times[0]:.2f}s, {rate:.2f} calls/s, "
          f"busiest second {busiest_second(times)}")
    assert rate >= 0.9 * SUSTAINED, f"fleet used only {rate:.2f} calls/s of {SUSTAINED:.2f}"


@pytest.mark.parametrize("mode", ["fail-local", "fail-closed"])
def test_redis_killed_and_restarted_mid_run(processes, redis, tmp_path, mode):
    before = [[f"B-{g}-{i}" for i in range(30)] for g in range(3)]   # ~9.5s of queued slots
    during = [[f"D-{g}-{i}" for i in range(8)] for g in range(3)]    # arrive while Redis is down
    after = [[f"A-{g}-{i}" for i in range(8)] for g in range(3)]     # arrive after an empty restart
    all_jobs = sum(before + during + after, [])
    emulator, gateways = start_fleet(processes, redis, tmp_path, all_jobs, mode)

    with ThreadPoolExecutor(max_workers=9) as pool:
        futures = fire(pool, gateways, before)
        time.sleep(3)
        redis.kill()
        # Every replica notices on its own (heartbeat), without a call having to fail first, and
        # says so (the same change flips the gRPC health of "ota.v1.OtaStrategyService.limiter" to NOT_SERVING).
        assert wait_for(lambda: all(log_count(g, "rate limiter degraded") for g in gateways), 5)
        futures += fire(pool, gateways, during)
        time.sleep(2)
        redis.start()
        # Startup logged "healthy" once; the second one is the recovery, without a restart.
        assert wait_for(lambda: all(log_count(g, "rate limiter healthy") >= 2 for g in gateways), 10)
        futures += fire(pool, gateways, after)
        results = collect(futures)

    # Every call answered; what was granted before the outage still went out.
    assert len(results) == len(all_jobs)
    for job in sum(before + after, []):
        assert results[job].get("ok"), f"{job}: {results[job]}"
    for job in sum(during, []):
        if mode == "fail-local":
            assert results[job].get("ok"), f"{job}: {results[job]}"
        else:
            assert results[job]["code"] == "UNAVAILABLE", f"{job}: {results[job]}"
            assert "Redis" in results[job]["message"] and "fail-closed" in results[job]["message"]

    times = arrivals(emulator)
    expected = len(all_jobs) if mode == "fail-local" else len(all_jobs) - len(sum(during, []))
    sent = [c for c in emulator.calls() if c.get("action") == ACTION]
    twice = [c for c in sent if sum(d.get("job_id") == c.get("job_id") for d in sent) > 1]
    assert len(times) == expected, f"none lost, none sent twice; sent more than once: {twice}"
    print(f"\n{mode}: {len(times)} calls reached the emulator, busiest second "
          f"{busiest_second(times)}")
    assert busiest_second(times) <= QPS, f"busiest second held {busiest_second(times)} calls"
    assert_no_throttling(emulator)
    for gateway in gateways:
        assert mode in gateway.output()  # the log says which failure mode was active
        assert gateway.proc.poll() is None, "a gateway died"
