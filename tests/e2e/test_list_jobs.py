"""ListJobsByFirmware end to end: a real ota-gateway in front of a real iot-emulator, called with
grpcurl (server reflection) and, for the budget test, `ota-bench burst` for the cancels.

- a firmware with 205 dynamic batches plus a static and a finished one, listed in pages of 200 by
  following next_page_token: every batch once, with its status and selection type, in 2 requests;
- page_size and page_token errors (and a bad firmware_id) are INVALID_ARGUMENT with their reasons
  and never reach the emulator; an unknown firmware is OK with no jobs;
- a caller whose `rpcs` lacks ListJobsByFirmware is refused PERMISSION_DENIED CALLER_NOT_ALLOWED
  (and one that may only list may not cancel);
- the listing budget (--list-qps) is ListOTAJobByFirmware's own: 40 listings and 40 cancels at once
  each keep within 10 calls in any 1 s window at the emulator, together exceed 10 in some window,
  and the cancels finish as fast as they would alone;
- with --limiter=redis two replicas share the listing budget under its own key
  (`<prefix><account>:ListOTAJobByFirmware`): 60 listings split over both stay within 10 per 1 s
  window at the emulator.
"""
import hashlib
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import BUILD_DIR, Emulator, Gateway, grpcurl
from test_distributed_limiter import RedisServer, busiest_second

SERVICE = "ota.v1.OtaStrategyService"
LIST = f"{SERVICE}/ListJobsByFirmware"
CANCEL = f"{SERVICE}/CancelByJob"
FIRMWARE = "fw-2-3-1"
LIST_ACTION = "ListOTAJobByFirmware"
CANCEL_ACTION = "CancelOTAStrategyByJob"


def firmware_jobs_emulator(processes, tmp_path, *flags, dynamic=205, extra_jobs=()):
    """An emulator whose firmware FIRMWARE has `dynamic` dynamic batches plus a static and a
    finished one; another firmware has one batch that must never show up."""
    jobs = [{"job_id": f"FW-DYN-{i:04d}", "state": "dynamic", "firmware_id": FIRMWARE}
            for i in range(dynamic)]
    jobs += [{"job_id": "FW-Z-STATIC", "state": "static", "firmware_id": FIRMWARE},
             {"job_id": "FW-Z-DONE", "state": "finished", "firmware_id": FIRMWARE},
             {"job_id": "OTHER-FW", "state": "dynamic", "firmware_id": "fw-other"}]
    jobs += [{"job_id": j, "state": "dynamic"} for j in extra_jobs]
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps({"jobs": jobs}))
    emulator = Emulator(f"--jobs-file={jobs_file}", *flags)
    processes.append(emulator)
    return emulator


def list_page(gateway, request, *headers):
    """(returncode, parsed answer or None, stderr) of one grpcurl ListJobsByFirmware call."""
    args = ["-plaintext", "-max-time", "20"]
    for header in headers:
        args += ["-H", header]
    out = grpcurl(*args, "-d", json.dumps(request), gateway.target, LIST)
    return out.returncode, (json.loads(out.stdout) if out.returncode == 0 else None), out.stderr


def emulator_calls(emulator, action):
    return [c for c in emulator.calls() if c.get("action") == action]


def test_grpcurl_lists_a_firmwares_batches_following_next_page_token(processes, tmp_path):
    emulator = firmware_jobs_emulator(processes, tmp_path)
    gateway = Gateway(emulator)
    processes.append(gateway)

    listed = grpcurl("-plaintext", gateway.target, "list", SERVICE)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [f"{SERVICE}.CancelByJob", f"{SERVICE}.ListJobsByFirmware"]
    described = grpcurl("-plaintext", gateway.target, "describe", f"{SERVICE}.ListJobsByFirmware")
    assert "ListJobsByFirmwareRequest" in described.stdout, described.stdout

    jobs, pages, token = [], [], None
    while True:
        request = {"firmware_id": FIRMWARE, "page_size": 200}
        if token:
            request["page_token"] = token
        code, answer, err = list_page(gateway, request)
        assert code == 0, err
        pages.append(len(answer.get("jobs", [])))
        jobs += answer.get("jobs", [])
        assert answer["total_size"] == 207
        token = answer.get("next_page_token")
        if not token:
            break
        assert len(pages) < 5, "next_page_token never ran out"
    assert pages == [200, 7]
    by_id = {job["job_id"]: job for job in jobs}
    assert len(by_id) == len(jobs) == 207  # every batch once
    assert set(by_id) == {f"FW-DYN-{i:04d}" for i in range(205)} | {"FW-Z-STATIC", "FW-Z-DONE"}
    assert by_id["FW-DYN-0000"]["job_status"] == "JOB_STATUS_IN_PROGRESS"
    assert by_id["FW-DYN-0000"]["selection_type"] == "SELECTION_TYPE_DYNAMIC"
    assert by_id["FW-DYN-0000"]["job_type"] == "JOB_TYPE_UPGRADE_FIRMWARE"
    assert by_id["FW-DYN-0000"]["firmware_id"] == FIRMWARE
    assert by_id["FW-DYN-0000"]["product_key"]
    assert by_id["FW-DYN-0000"]["create_time"].endswith("Z")
    assert by_id["FW-Z-STATIC"]["selection_type"] == "SELECTION_TYPE_STATIC"
    assert by_id["FW-Z-DONE"]["job_status"] == "JOB_STATUS_COMPLETED"
    assert len(emulator_calls(emulator, LIST_ACTION)) == 2

    # A cancelled batch reads CANCELED in the next listing.
    cancelled = grpcurl("-plaintext", "-max-time", "20", "-d",
                        json.dumps({"job_id": "FW-DYN-0003"}), gateway.target, CANCEL)
    assert cancelled.returncode == 0, cancelled.stderr
    code, answer, err = list_page(gateway, {"firmware_id": FIRMWARE, "page_size": 5})
    assert code == 0, err
    assert [j["job_id"] for j in answer["jobs"]] == [f"FW-DYN-{i:04d}" for i in range(5)]
    assert answer["jobs"][3]["job_status"] == "JOB_STATUS_CANCELED"
    assert answer["next_page_token"]

    # A firmware Alibaba does not know: OK, no jobs, no token.
    code, answer, err = list_page(gateway, {"firmware_id": "fw-unknown"})
    assert code == 0, err
    assert answer == {}


def test_page_size_page_token_and_firmware_errors_never_reach_alibaba(processes, tmp_path):
    emulator = firmware_jobs_emulator(processes, tmp_path, dynamic=3)
    audit = tmp_path / "audit.jsonl"
    gateway = Gateway(emulator, f"--audit-log={audit}")
    processes.append(gateway)
    code, first, err = list_page(gateway, {"firmware_id": FIRMWARE, "page_size": 2})
    assert code == 0, err
    token = first["next_page_token"]
    calls_before = len(emulator_calls(emulator, LIST_ACTION))

    cases = [
        ({"firmware_id": FIRMWARE, "page_size": -1}, "INVALID_PAGE_SIZE", "page_size is -1"),
        ({"firmware_id": FIRMWARE, "page_size": 2, "page_token": "not-a-token"},
         "INVALID_PAGE_TOKEN", "is not a next_page_token this gateway issued"),
        ({"firmware_id": "fw-other", "page_size": 2, "page_token": token},
         "INVALID_PAGE_TOKEN", "another firmware_id, iot_instance_id or page_size"),
        ({"firmware_id": FIRMWARE, "page_size": 3, "page_token": token},
         "INVALID_PAGE_TOKEN", "another firmware_id, iot_instance_id or page_size"),
        ({"firmware_id": "fw 2.3.1!"}, "INVALID_FIRMWARE_ID", "firmware_id has a character"),
        ({"firmware_id": ""}, "INVALID_FIRMWARE_ID", "firmware_id is required"),
    ]
    for request, reason, message in cases:
        code, _, err = list_page(gateway, request)
        assert code != 0 and "Code: InvalidArgument" in err, (request, err)
        assert message in err, (request, err)
    assert len(emulator_calls(emulator, LIST_ACTION)) == calls_before

    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    refused = [(l["rpc"], l["code"], l["reason"]) for l in lines if l["code"] != "OK"]
    assert refused == [("ListJobsByFirmware", "INVALID_ARGUMENT", reason) for _, reason, _ in cases]
    assert lines[0]["firmware_id"] == FIRMWARE and "job_id" not in lines[0]

    # The token still works with the fields it was issued for.
    code, second, err = list_page(gateway, {"firmware_id": FIRMWARE, "page_size": 2,
                                            "page_token": token})
    assert code == 0, err
    assert [j["job_id"] for j in second["jobs"]] == ["FW-DYN-0002", "FW-Z-DONE"]


TOKENS = {"lister": "list-jobs-token-of-the-lister-7c1a",
          "canceller": "list-jobs-token-of-the-canceller-2b9e",
          "both": "list-jobs-token-of-a-caller-with-both-5d3f"}


def test_a_caller_whose_rpcs_lack_it_is_refused(processes, tmp_path):
    emulator = firmware_jobs_emulator(processes, tmp_path, dynamic=3)
    rpcs = {"lister": ["ListJobsByFirmware"], "canceller": ["CancelByJob"], "both": None}
    callers = []
    for name, allowed in rpcs.items():
        entry = {"name": name,
                 "identities": [{"token_sha256": hashlib.sha256(TOKENS[name].encode()).hexdigest()}]}
        if allowed is not None:
            entry["rpcs"] = allowed
        callers.append(entry)
    callers_file = tmp_path / "callers.json"
    callers_file.write_text(json.dumps({"callers": callers}))
    audit = tmp_path / "audit.jsonl"
    gateway = Gateway(emulator, f"--audit-log={audit}",
                      security=("--plaintext", f"--callers-file={callers_file}"))
    processes.append(gateway)

    def bearer(name):
        return f"authorization: Bearer {TOKENS[name]}"

    code, _, err = list_page(gateway, {"firmware_id": FIRMWARE}, bearer("canceller"))
    assert code != 0 and "Code: PermissionDenied" in err, err
    assert "caller 'canceller' may not call ListJobsByFirmware" in err, err
    for name in ("lister", "both"):
        code, answer, err = list_page(gateway, {"firmware_id": FIRMWARE}, bearer(name))
        assert code == 0, (name, err)
        assert len(answer["jobs"]) == 5
    cancel = grpcurl("-plaintext", "-max-time", "20", "-H", bearer("lister"), "-d",
                     json.dumps({"job_id": "FW-DYN-0000"}), gateway.target, CANCEL)
    assert "Code: PermissionDenied" in cancel.stderr, cancel.stderr
    assert "may not call CancelByJob" in cancel.stderr
    cancel = grpcurl("-plaintext", "-max-time", "20", "-H", bearer("canceller"), "-d",
                     json.dumps({"job_id": "FW-DYN-0000"}), gateway.target, CANCEL)
    assert cancel.returncode == 0, cancel.stderr

    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(l["rpc"], l["caller"], l["code"], l["reason"]) for l in lines] == [
        ("ListJobsByFirmware", "canceller", "PERMISSION_DENIED", "CALLER_NOT_ALLOWED"),
        ("ListJobsByFirmware", "lister", "OK", ""),
        ("ListJobsByFirmware", "both", "OK", ""),
        ("CancelByJob", "lister", "PERMISSION_DENIED", "CALLER_NOT_ALLOWED"),
        ("CancelByJob", "canceller", "OK", ""),
    ]
    # The refused listing never reached the emulator.
    assert len(emulator_calls(emulator, LIST_ACTION)) == 2


def burst_cancels(gateway, jobs, timeout):
    out = subprocess.run([str(BUILD_DIR / "bench" / "ota-bench"), "burst",
                          f"--target={gateway.target}", f"--jobs={','.join(jobs)}",
                          f"--timeout={timeout}"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return {r["job_id"]: r for r in map(json.loads, out.stdout.splitlines())}


def test_the_listing_budget_is_not_the_cancel_budget(processes, tmp_path):
    calls = 40
    cancel_jobs = [f"CANCEL-{i:03d}" for i in range(calls)]
    emulator = firmware_jobs_emulator(processes, tmp_path, "--qps=10", "--threads=128",
                                      dynamic=3, extra_jobs=cancel_jobs)
    gateway = Gateway(emulator, "--qps=10", "--list-qps=10")
    processes.append(gateway)

    with ThreadPoolExecutor(max_workers=calls + 1) as pool:
        cancels = pool.submit(burst_cancels, gateway, cancel_jobs, "30s")
        listings = [pool.submit(list_page, gateway, {"firmware_id": FIRMWARE})
                    for _ in range(calls)]
        cancelled = cancels.result()
        listed = [f.result() for f in listings]
    assert all(r.get("code") == "OK" for r in cancelled.values()), list(cancelled.values())[:3]
    assert all(code == 0 for code, _, _ in listed), [err for code, _, err in listed if code][:3]

    cancel_times = sorted(c["time_us"] / 1e6 for c in emulator_calls(emulator, CANCEL_ACTION))
    list_times = sorted(c["time_us"] / 1e6 for c in emulator_calls(emulator, LIST_ACTION))
    assert len(cancel_times) == calls and len(list_times) == calls
    throttled = [c for c in emulator.calls() if "Throttling" in (c.get("code") or "")]
    assert not throttled, throttled[:3]
    # Each action within its own quota at the emulator ...
    assert busiest_second(cancel_times) <= 10
    assert busiest_second(list_times) <= 10
    # ... and the two together beyond either: the listings did not take cancel slots.
    assert busiest_second(sorted(cancel_times + list_times)) > 10
    # The cancels went at their own sustained rate (8/s with the default 250 ms margin: 40 in
    # about 4.4 s), not at half of it as they would sharing one budget with 40 listings (~9.4 s).
    span = cancel_times[-1] - cancel_times[0]
    print(f"40 cancels + 40 listings: cancels spanned {span:.2f} s; busiest second: cancels "
          f"{busiest_second(cancel_times)}, listings {busiest_second(list_times)}, both "
          f"{busiest_second(sorted(cancel_times + list_times))}")
    assert span < 7.0, f"40 cancels took {span:.2f} s at the emulator"
    overlap = [t for t in list_times if cancel_times[0] <= t <= cancel_times[-1]]
    assert len(overlap) >= calls // 2, "the listings did not run while the cancels did"


def test_replicas_share_the_listing_budget_through_redis(processes, tmp_path):
    redis = RedisServer()
    try:
        emulator = firmware_jobs_emulator(processes, tmp_path, "--qps=10", "--threads=128",
                                          dynamic=3)
        replicas = []
        for _ in range(2):
            replica = Gateway(emulator, "--limiter=redis", f"--redis-url={redis.url}",
                              "--expected-replicas=2", "--redis-timeout=200ms",
                              "--limiter-key-prefix=e2e-list:", "--list-qps=10",
                              env={"OTA_REDIS_PASSWORD": redis.password})
            processes.append(replica)
            replicas.append(replica)
        with ThreadPoolExecutor(max_workers=60) as pool:
            listed = list(pool.map(lambda i: list_page(replicas[i % 2], {"firmware_id": FIRMWARE}),
                                   range(60)))
        assert all(code == 0 for code, _, _ in listed), [err for code, _, err in listed if code][:3]
        list_times = sorted(c["time_us"] / 1e6 for c in emulator_calls(emulator, LIST_ACTION))
        assert len(list_times) == 60
        assert not [c for c in emulator.calls() if "Throttling" in (c.get("code") or "")]
        assert busiest_second(list_times) <= 10
        keys = subprocess.run(["redis-cli", "-p", str(redis.port), "--scan", "--pattern", "e2e-list:*"],
                              capture_output=True, text=True,
                              env={**os.environ, "REDISCLI_AUTH": redis.password}).stdout.split()
        assert any(k.endswith(":ListOTAJobByFirmware") for k in keys), keys
        assert not any(k.endswith(":CancelOTAStrategyByJob") for k in keys), keys
    finally:
        redis.stop()
