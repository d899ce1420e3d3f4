"""Issue 18, item 1: the quota promise holds from the first second. Real processes only: a fresh
iot-emulator and ota-gateway (or two replicas sharing a real redis-server) per trial, 40 separate
`ota-cancel` processes started at once, 5 fresh starts in a row, with and without the emulator's
arrival jitter fault (a random 0..100 ms per call plus 0..100 ms per new connection, added before
the emulator counts the call against its 10 calls/s quota).

What is judged comes from the emulator's own record: no throttling answer, and at most 10 counted
arrivals in any 1-second window; and from every client: none was told Alibaba throttled it. The
gateways run with their default --rate-margin, which is what these tests hold to its word.

The emulator is the measuring instrument, so it is checked first: a burst of new connections is
recorded with the arrival times the connections were made with.
"""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import BUILD_DIR, Emulator, Gateway, register_secrets, session_log
from test_distributed_limiter import RedisServer

QPS = 10
CLIENTS = 40
TRIALS = 5
JITTER = "100ms"
ACTION = "CancelOTAStrategyByJob"
OTA_CANCEL = BUILD_DIR / "client" / "ota-cancel"


def max_in_any_window(times_us, window_us=1_000_000):
    """The most of `times_us` inside one half-open window (t - window, t], as the quota counts."""
    times = sorted(times_us)
    best, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - window_us:
            first += 1
        best = max(best, last - first + 1)
    return best


class Instrument(Emulator):
    """The emulator at a higher CPU priority where the machine allows it (nice -10; without the
    privilege `nice` says so and runs it at normal priority). It stands for Alibaba's servers,
    which share no CPU with our clients or anything else here: on a 2-core machine under heavy
    load its listening thread was seen accepting connections 760 ms after their requests had
    reached the kernel (the arrival was taken from a packet capture), and a measuring instrument
    that late reports bunches that were never sent."""

    launcher = ("nice", "-n", "-10")


def lower_priority():
    os.nice(10)


def start_clients(gateways, jobs, timeout):
    """One `ota-cancel` process per job, all started before any is waited for; the targets
    alternate between `gateways`.

    The clients run at a lower CPU priority (nice 10). Forty processes starting at once on a small
    machine are a burst of CPU work that Alibaba would never share a CPU with; at equal priority
    they kept the emulator, the measuring instrument, from reading its sockets for up to 300 ms,
    so it counted the first calls that late and saw bunches the gateway never sent. The gateway
    and the emulator keep normal priority, beside whatever else the machine runs."""
    clients = []
    for i, job in enumerate(jobs):
        argv = [str(OTA_CANCEL), "--target", gateways[i % len(gateways)].target, "--job-id", job,
                "--timeout", timeout, "--json"]
        register_secrets(argv)
        clients.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, preexec_fn=lower_priority))
    return clients


def finish_clients(clients):
    """Each client's JSON answer."""
    answers = []
    with session_log("ota-cancel-burst") as log:
        for client in clients:
            out, err = client.communicate(timeout=60)
            log.write(out + err)
            answers.append(json.loads(out))
    return answers


def timeline(calls):
    """Each call as (ms counted after the first, ms it reached the emulator, job, code)."""
    first = min(c["time_us"] for c in calls)
    return sorted((round((c["time_us"] - first) / 1e3, 1), round((c["received_us"] - first) / 1e3, 1),
                   c["job_id"], c["code"]) for c in calls)


def judge(emulator, answers, label):
    calls = [c for c in emulator.calls() if c["action"] == ACTION]
    label = f"{label} (timeline: {timeline(calls)})"
    throttled = [c for c in calls if c["code"].lower().startswith("throttling")]
    assert throttled == [], f"{label}: the emulator throttled {len(throttled)} calls"
    busiest = max_in_any_window([c["time_us"] for c in calls])
    assert busiest <= QPS, f"{label}: {busiest} arrivals in one second"
    # Every caller got its answer, or was refused by the gateway's own limiter before its deadline
    # (RESOURCE_EXHAUSTED with RetryInfo, domain ota-gateway), or, sent in the last 100 ms its
    # deadline allowed and then delayed by the jitter, ran out of time: never Alibaba's throttle.
    # Running out of time after the request left is told truthfully: DEADLINE_EXCEEDED, or
    # UNAVAILABLE OUTCOME_UNKNOWN when the gateway had no time left to ask QueryOTAJob.
    late = 0
    for answer in answers:
        if answer["ok"]:
            continue
        assert answer["domain"] != "iot.aliyuncs.com" or answer["code"] != "RESOURCE_EXHAUSTED", \
            f"{label}: a caller got Alibaba's throttle: {answer}"
        if answer["code"] == "DEADLINE_EXCEEDED" or \
                (answer["code"], answer["reason"]) == ("UNAVAILABLE", "OUTCOME_UNKNOWN"):
            late += 1
            continue
        assert (answer["code"], answer["reason"]) == ("RESOURCE_EXHAUSTED", "RATE_LIMITED"), \
            f"{label}: {answer}"
    served = sum(1 for a in answers if a["ok"])
    # One call each: nothing was retried.
    assert served <= len(calls) <= served + late, \
        f"{label}: {served} served, {late} late, {len(calls)} calls reached Alibaba"
    assert len({c["job_id"] for c in calls}) == len(calls), f"{label}: a call was sent twice"
    return calls, served


def fresh_trial(processes, jobs, emulator_args, gateway_args=(), gateway_env=None, replicas=1,
                timeout="2s"):
    emulator = Instrument(f"--qps={QPS}", "--job=" + ",".join(f"{j}=dynamic" for j in jobs),
                          *emulator_args)
    processes.append(emulator)
    gateways = []
    for _ in range(replicas):
        gateway = Gateway(emulator, *gateway_args, env=gateway_env)
        processes.append(gateway)
        gateways.append(gateway)
    answers = finish_clients(start_clients(gateways, jobs, timeout))
    return emulator, answers


def stop_all(processes):
    while processes:
        processes.pop().stop()


JOBS = [f"COLD-{n:02d}" for n in range(1, CLIENTS + 1)]


def test_a_burst_of_new_connections_is_recorded_as_it_was_sent(processes):
    """64 connections opened at once, then written: the emulator must take each connection at
    once (a full listen backlog drops the handshake, which the client's kernel retries a second
    later) and record each request when it reached the process, not after waiting for a worker."""
    emulator = Instrument("--qps=0")
    processes.append(emulator)
    sockets, connected_us, sent_us = [], [], []
    try:
        for _ in range(64):
            s = socket.socket()
            s.setblocking(False)
            connected_us.append(time.time_ns() // 1000)
            s.connect_ex(("127.0.0.1", emulator.port))
            sockets.append(s)
        for i, s in enumerate(sockets):
            request = (f"GET /?Action={ACTION}&JobId=BURST-{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: close\r\n\r\n").encode()
            deadline = time.monotonic() + 5
            while True:
                try:
                    s.send(request)
                    break
                except OSError:
                    # Not connected yet: a dropped handshake shows here as a late send.
                    assert time.monotonic() < deadline, "a connection was never accepted"
                    time.sleep(0.001)
            sent_us.append(time.time_ns() // 1000)
        deadline = time.monotonic() + 10
        while len(emulator.calls()) < 64:
            assert time.monotonic() < deadline, f"only {len(emulator.calls())} of 64 recorded"
            time.sleep(0.05)
    finally:
        for s in sockets:
            s.close()
    # Every handshake completed at once (with a backlog of 5, most waited a second).
    slowest = max(sent - connected for sent, connected in zip(sent_us, connected_us))
    assert slowest < 500_000, f"a connection took {slowest / 1e3:.0f} ms to be accepted"
    # Each request recorded between its connect and 50 ms after it was written (the issue saw
    # 30-70 ms of the emulator's own queueing), and counted (no jitter) as it was recorded.
    for call in emulator.calls():
        i = int(call["job_id"].split("-")[1])
        assert connected_us[i] - 5_000 <= call["received_us"] <= sent_us[i] + 50_000, \
            (i, call["received_us"] - sent_us[i])
        assert call["time_us"] - sent_us[i] < 50_000, (i, call["time_us"] - sent_us[i])


def test_the_arrival_jitter_fault_delays_counting_and_is_set_at_run_time(processes):
    emulator = Emulator("--qps=0", f"--fault-arrival-jitter={JITTER}")
    processes.append(emulator)
    assert emulator._control("/_emulator/faults")["arrival_jitter"] == "100ms"
    gateway = Gateway(emulator)
    processes.append(gateway)
    answers = finish_clients(start_clients([gateway], [f"demo-dynamic-{n:04d}" for n in range(1, 9)],
                                           "10s"))
    assert all(a["ok"] for a in answers), answers
    delays = [c["arrival_jitter_micros"] for c in emulator.calls()]
    assert all(0 <= d <= 200_000 for d in delays), delays
    assert max(delays) > 0
    for c in emulator.calls():
        assert c["time_us"] - c["received_us"] >= c["arrival_jitter_micros"] - 1_000
    # Off at run time, like the other faults; reset returns to the flag's value.
    emulator.set_faults(arrival_jitter="0s")
    assert emulator._control("/_emulator/faults")["arrival_jitter"] == "0"
    emulator._control("/_emulator/reset", {})
    assert emulator._control("/_emulator/faults")["arrival_jitter"] == "100ms"


@pytest.mark.parametrize("jitter", [None, JITTER], ids=["no-jitter", "jitter-100ms"])
def test_fresh_gateway_and_40_clients_at_once_cause_no_throttle(processes, jitter):
    emulator_args = [] if jitter is None else [f"--fault-arrival-jitter={jitter}"]
    for trial in range(1, TRIALS + 1):
        emulator, answers = fresh_trial(processes, JOBS, emulator_args)
        calls, served = judge(emulator, answers, f"trial {trial}")
        # The deadline lets the cold burst and the first saturated window through.
        assert served >= 15, f"trial {trial}: only {served} served"
        stop_all(processes)


def test_two_replicas_sharing_redis_cause_no_throttle_with_jitter(processes):
    for trial in range(1, TRIALS + 1):
        redis = RedisServer()
        try:
            emulator, answers = fresh_trial(
                processes, JOBS, [f"--fault-arrival-jitter={JITTER}"],
                # Not a test of Redis outages: a round trip slowed by a loaded machine must not
                # count as one (the default 250 ms timeout did, beside busy loops).
                gateway_args=("--limiter=redis", f"--redis-url={redis.url}",
                              "--expected-replicas=2", "--redis-timeout=2s"),
                gateway_env={"OTA_REDIS_PASSWORD": redis.password}, replicas=2)
            calls, served = judge(emulator, answers, f"trial {trial}")
            assert served >= 15, f"trial {trial}: only {served} served"
        finally:
            stop_all(processes)
            redis.stop()


def test_sustained_saturation_with_jitter_causes_no_throttle(processes):
    """40 callers that can all wait: the gateway runs at its sustained rate for about 5 s."""
    emulator, answers = fresh_trial(processes, JOBS, [f"--fault-arrival-jitter={JITTER}"],
                                    timeout="8s")
    calls, served = judge(emulator, answers, "sustained")
    assert served == CLIENTS
    times = sorted(c["time_us"] for c in calls)
    rate = (len(times) - 1) / ((times[-1] - times[0]) / 1e6)
    # qps / (1 s + 250 ms margin) = 8/s sustained, a little more with the first burst; never over
    # the quota. (A loaded machine sends later than the slots, so the lower bound is loose.)
    print(f"\nsustained: {len(times)} calls at {rate:.2f}/s, busiest second "
          f"{max_in_any_window(times)}")
    assert 5.0 <= rate <= QPS, rate
