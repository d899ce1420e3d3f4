"""Fault matrix: ota-gateway against an iot-emulator that misbehaves in every way it can.

For each fault the gateway must answer with the right gRPC code, send a bounded number of upstream
attempts (counted at the emulator and in the gateway's own log line), not crash, not leak file
descriptors or memory, and keep serving: a normal call succeeds right after.

The matrix is printed as a table (run pytest with -s to see it, or read it from the captured
output of a failure).
"""
import json
import os
import time
import uuid

import pytest

from conftest import Emulator, Gateway, grpcurl, make_tls_files, ota_cancel

MAX_ATTEMPTS = 3
# Each row runs this many times, so a per-call leak shows up as growth.
REPEATS = 3
# Generous: curl keeps up to --max-connections idle connections; anything beyond is a leak.
FD_SLACK = 12
RSS_SLACK_MIB = 40


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def add_job(emulator):
    job = "FM-" + uuid.uuid4().hex[:12]
    emulator._control("/_emulator/jobs", {"jobs": [{"job_id": job, "state": "dynamic"}]})
    return job


def cancel(gateway, job, timeout="10s"):
    out = ota_cancel("--target", gateway.target, "--job-id", job, "--json", "--timeout", timeout)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"ota-cancel printed no JSON: {out.stdout!r} {out.stderr!r}") from e


def upstream_calls(emulator, job, action="CancelOTAStrategyByJob"):
    return sum(1 for c in emulator.calls() if c.get("job_id") == job and c.get("action") == action)


def gateway_attempts(gateway, job):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [r for r in gateway.log_records()
                   if r.get("msg") == "CancelByJob finished" and r.get("job_id") == job]
        if records:
            return records[-1]["attempts"]
        time.sleep(0.05)
    raise AssertionError(f"no log line for {job}:\n{gateway.output()[-3000:]}")


# (fault name, emulator faults, caller timeout, expected code, expected reason,
#  expected upstream cancel attempts: a number, or the (least, most) the emulator may see)
# These faults hit QueryOTAJob as well, so a cancel whose answer was lost cannot be settled: its
# outcome is unknown (UNAVAILABLE OUTCOME_UNKNOWN), never reported as "not reached".
EMULATOR_ROWS = [
    # The attempt leaves the last 250 ms of the deadline to QueryOTAJob, which is slowed as well:
    # the gateway answers OUTCOME_UNKNOWN some 80 ms before the caller's deadline (on a loaded
    # machine the caller's own DEADLINE_EXCEEDED may win that race; both are true).
    ("latency 3s > deadline 1s", {"latency": "3s"}, "1s", ("UNAVAILABLE", "DEADLINE_EXCEEDED"),
     None, 1),
    ("HTTP 500", {"status": 500}, "10s", "UNAVAILABLE", "UPSTREAM_UNAVAILABLE", MAX_ATTEMPTS),
    ("HTTP 503", {"status": 503}, "10s", "UNAVAILABLE", "UPSTREAM_UNAVAILABLE", MAX_ATTEMPTS),
    # libcurl resends a request once, on a fresh connection, when a kept-alive connection it
    # reused dies before any answer (the request cannot have been processed): the emulator may
    # see one request more than the gateway's attempts, never more than that.
    ("connection reset", {"reset": True}, "10s", "UNAVAILABLE", "OUTCOME_UNKNOWN",
     (MAX_ATTEMPTS, MAX_ATTEMPTS + 1)),
    ("garbage body (200, HTML)", {"garbage": True}, "10s", "UNAVAILABLE", "OUTCOME_UNKNOWN",
     MAX_ATTEMPTS),
    ("slow body (trickle) > deadline 2s", {"slow_body": True}, "2s",
     ("UNAVAILABLE", "DEADLINE_EXCEEDED"), None, 1),
    ("oversized body (2 MiB)", {"oversized": True}, "10s", "UNAVAILABLE", "OUTCOME_UNKNOWN",
     MAX_ATTEMPTS),
    ("clock skew (InvalidTimeStamp.Expired)", {"clock_skew": True}, "10s", "INTERNAL",
     "UPSTREAM_CLOCK_SKEW", 1),
]

CANCEL = "CancelOTAStrategyByJob"
QUERY = "QueryOTAJob"
# Faults that apply the cancel and then lose its answer (issue 14), against a gateway with
# --request-timeout=1s, caller deadline 10s: (fault name, faults in force, expected code, reason,
# outcome on success, expected cancel attempts (least, most), job state after).
LOST_ANSWER_ROWS = [
    ("reset after applying", [{"reset": True, "after_apply": True, "action": CANCEL}],
     "OK", None, "already_cancelled", (MAX_ATTEMPTS, MAX_ATTEMPTS + 1)),
    ("silence 1.5s after applying > request timeout 1s", [{"latency": "1500ms", "action": CANCEL}],
     "OK", None, "already_cancelled", (MAX_ATTEMPTS, MAX_ATTEMPTS)),
    ("unreadable body after applying", [{"garbage": True, "after_apply": True, "action": CANCEL}],
     "OK", None, "already_cancelled", (MAX_ATTEMPTS, MAX_ATTEMPTS)),
    ("reset after applying + QueryOTAJob 503",
     [{"reset": True, "after_apply": True, "action": CANCEL}, {"status": 503, "action": QUERY}],
     "UNAVAILABLE", "OUTCOME_UNKNOWN", None, (MAX_ATTEMPTS, MAX_ATTEMPTS + 1)),
]


class Matrix:
    def __init__(self):
        self.rows = []

    def add(self, fault, expected, observed, attempts, fds, rss):
        self.rows.append((fault, expected, observed, attempts, fds, rss))

    def print(self):
        header = ("fault", "expected code", "observed code", "attempts", "fds before->after",
                  "RSS MiB before->after")
        widths = [max(len(str(r[i])) for r in [header, *self.rows]) for i in range(len(header))]
        line = " | ".join("{:<%d}" % w for w in widths)
        print("\nFAULT MATRIX")
        print(line.format(*header))
        print("-+-".join("-" * w for w in widths))
        for row in self.rows:
            print(line.format(*map(str, row)))


@pytest.fixture(scope="module")
def matrix():
    m = Matrix()
    yield m
    m.print()


def check_keeps_serving(gateway, emulator):
    job = add_job(emulator)
    answer = cancel(gateway, job)
    assert answer.get("ok") is True, f"a normal call after the fault failed: {answer}"


def test_emulator_faults(processes, matrix):
    emulator = Emulator("--qps=0", "--job=FM-WARM=dynamic")
    processes.append(emulator)
    gateway = Gateway(emulator, f"--max-attempts={MAX_ATTEMPTS}", "--qps=1000", "--burst=1000",
                      "--log-level=info")
    processes.append(gateway)
    pid = gateway.proc.pid
    # Warm up: connections, allocator arenas, the first TLS-free call path.
    for _ in range(5):
        check_keeps_serving(gateway, emulator)
    rss_start = proc_rss_mib(pid)
    failures = []
    for fault, faults, timeout, code, reason, attempts in EMULATOR_ROWS:
        fds_before, rss_before = proc_fds(pid), proc_rss_mib(pid)
        observed, messages = [], []
        for _ in range(REPEATS):
            emulator.set_faults(**faults)
            job = add_job(emulator)
            answer = cancel(gateway, job, timeout)
            messages.append(answer.get("message") or "")
            observed.append((answer.get("code"), answer.get("reason"), upstream_calls(emulator, job),
                             gateway_attempts(gateway, job)))
            emulator.set_faults()
            assert gateway.proc.poll() is None, f"gateway died on {fault}:\n{gateway.output()}"
            check_keeps_serving(gateway, emulator)
        fds_after, rss_after = proc_fds(pid), proc_rss_mib(pid)
        first = observed[0]
        matrix.add(fault, "/".join(code) if isinstance(code, tuple) else code, first[0],
                   f"{first[2]} (gateway: {first[3]})",
                   f"{fds_before}->{fds_after}", f"{rss_before:.1f}->{rss_after:.1f}")
        if faults.get("clock_skew") and "clock" not in messages[0]:
            failures.append(f"{fault}: the message does not blame the gateway's clock: "
                            f"{messages[0]}")
        for got_code, got_reason, at_emulator, at_gateway in observed:
            codes = code if isinstance(code, tuple) else (code,)
            if got_code not in codes or (reason is not None and got_reason != reason):
                failures.append(f"{fault}: expected {code}/{reason}, got {got_code}/{got_reason}")
            if reason is None and got_code == "UNAVAILABLE" and got_reason != "OUTCOME_UNKNOWN":
                failures.append(f"{fault}: a request that left must be OUTCOME_UNKNOWN, got "
                                f"{got_reason}")
            least, most = attempts if isinstance(attempts, tuple) else (attempts, attempts)
            if not least <= at_emulator <= most or at_gateway != least:
                failures.append(f"{fault}: expected {attempts} attempts, emulator saw "
                                f"{at_emulator}, gateway logged {at_gateway}")
        if fds_after > fds_before + FD_SLACK:
            failures.append(f"{fault}: fds grew {fds_before}->{fds_after}")
    # Memory over the whole matrix: a leak per failed call would add up over the faulty calls.
    rss_end = proc_rss_mib(pid)
    if rss_end > rss_start + RSS_SLACK_MIB:
        failures.append(f"RSS grew {rss_start:.1f} -> {rss_end:.1f} MiB over the matrix")
    assert not failures, "\n".join(failures)


def test_lost_answer_faults(processes, matrix):
    """The cancel is applied and its answer lost: the caller is told the truth (QueryOTAJob)."""
    emulator = Emulator("--qps=0", "--job=FM-WARM=dynamic")
    processes.append(emulator)
    gateway = Gateway(emulator, f"--max-attempts={MAX_ATTEMPTS}", "--qps=1000", "--burst=1000",
                      "--query-qps=1000", "--request-timeout=1s", "--log-level=info")
    processes.append(gateway)
    pid = gateway.proc.pid
    for _ in range(3):
        check_keeps_serving(gateway, emulator)
    failures = []
    for fault, faults, code, reason, outcome, (least, most) in LOST_ANSWER_ROWS:
        fds_before, rss_before = proc_fds(pid), proc_rss_mib(pid)
        observed = []
        for _ in range(REPEATS):
            job = add_job(emulator)
            emulator._control("/_emulator/faults", faults)
            answer = cancel(gateway, job, "10s")
            emulator.set_faults()
            state = next(j["state"] for j in emulator._control("/_emulator/jobs")
                         if j["job_id"] == job)
            observed.append((answer, upstream_calls(emulator, job, CANCEL),
                             upstream_calls(emulator, job, QUERY), gateway_attempts(gateway, job),
                             state))
            assert gateway.proc.poll() is None, f"gateway died on {fault}:\n{gateway.output()}"
            check_keeps_serving(gateway, emulator)
        fds_after, rss_after = proc_fds(pid), proc_rss_mib(pid)
        first = observed[0]
        got_code = "OK" if first[0].get("ok") else first[0].get("code")
        matrix.add(fault, code, got_code,
                   f"{first[1]} + {first[2]} QueryOTAJob (gateway: {first[3]})",
                   f"{fds_before}->{fds_after}", f"{rss_before:.1f}->{rss_after:.1f}")
        for answer, cancels, queries, attempts, state in observed:
            got = "OK" if answer.get("ok") else answer.get("code")
            if state != "cancelled":
                failures.append(f"{fault}: the fault did not apply the cancel ({state})")
            if got != code or (reason is not None and answer.get("reason") != reason):
                failures.append(f"{fault}: expected {code}/{reason}, got {answer}")
            if outcome is not None and answer.get("outcome") != outcome:
                failures.append(f"{fault}: expected outcome {outcome}, got {answer}")
            if "could not reach" in answer.get("message", ""):
                failures.append(f"{fault}: a request that left is reported unreachable: {answer}")
            if not least <= cancels <= most or attempts != least:
                failures.append(f"{fault}: expected {least} cancel attempts, emulator saw "
                                f"{cancels}, gateway logged {attempts}")
            if queries < 1:
                failures.append(f"{fault}: QueryOTAJob was never asked")
        if fds_after > fds_before + FD_SLACK:
            failures.append(f"{fault}: fds grew {fds_before}->{fds_after}")
    assert not failures, "\n".join(failures)


def test_transport_faults(processes, matrix, tmp_path):
    """Faults outside the emulator's HTTP answers: an untrusted TLS certificate and DNS failure."""
    cert, key = make_tls_files(tmp_path)
    tls_emulator = Emulator("--qps=0", f"--tls-cert={cert}", f"--tls-key={key}",
                            "--job=FM-TLS=dynamic")
    processes.append(tls_emulator)
    tls_url = tls_emulator.url

    rows = [
        ("TLS: untrusted certificate", tls_url, "UNAVAILABLE", "UPSTREAM_UNREACHABLE",
         "certificate"),
        ("DNS: unresolvable host (.invalid)", "http://ota-gateway-fault-matrix.invalid/",
         "UNAVAILABLE", "UPSTREAM_UNREACHABLE", "resolve"),
    ]
    # Attempts are counted in the gateway's log line: none of these requests can reach an API.
    failures = []
    for fault, endpoint, code, reason, says in rows:
        gateway = Gateway(None, f"--endpoint={endpoint}", f"--max-attempts={MAX_ATTEMPTS}",
                          "--qps=1000", "--burst=1000")
        processes.append(gateway)
        pid = gateway.proc.pid
        fds_before, rss_before = proc_fds(pid), proc_rss_mib(pid)
        observed = []
        for i in range(REPEATS):
            job = f"FM-TRANSPORT-{i}"
            answer = cancel(gateway, job)
            observed.append((answer.get("code"), answer.get("reason"),
                             gateway_attempts(gateway, job), answer.get("message", "")))
            assert gateway.proc.poll() is None, f"gateway died on {fault}:\n{gateway.output()}"
        fds_after, rss_after = proc_fds(pid), proc_rss_mib(pid)
        first = observed[0]
        matrix.add(fault, code, first[0], f"- (gateway: {first[2]})",
                   f"{fds_before}->{fds_after}", f"{rss_before:.1f}->{rss_after:.1f}")
        for got_code, got_reason, at_gateway, message in observed:
            if got_code != code or got_reason != reason:
                failures.append(f"{fault}: expected {code}/{reason}, got {got_code}/{got_reason}")
            if at_gateway != MAX_ATTEMPTS:
                failures.append(f"{fault}: expected {MAX_ATTEMPTS} attempts, got {at_gateway}")
            if says not in message:
                failures.append(f"{fault}: the message does not say '{says}': {message}")
            if "?" in message and "=" in message.split("?", 1)[1]:
                failures.append(f"{fault}: message leaks a query string: {message}")
        if fds_after > fds_before + FD_SLACK:
            failures.append(f"{fault}: fds grew {fds_before}->{fds_after}")
        # Keeps serving: no upstream can succeed here, so health must still say SERVING and a
        # call the gateway answers by itself (invalid input) must still be answered at once.
        assert gateway.proc.poll() is None
        health = grpcurl("-plaintext", "-d", '{"service":"ota.v1.OtaStrategyService"}',
                         gateway.target, "grpc.health.v1.Health/Check")
        assert '"SERVING"' in health.stdout, health.stdout + health.stderr
        invalid = cancel(gateway, "not a job id!")
        assert invalid.get("code") == "INVALID_ARGUMENT", invalid
        gateway.stop()
        assert gateway.proc.returncode == 0, gateway.output()
    assert not failures, "\n".join(failures)
