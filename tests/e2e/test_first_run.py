"""Issue 18, the first run as a newcomer meets it: one process per port, demo data that lasts a
session, and the words a newcomer reads. Real iot-emulator and ota-gateway processes."""
import json

from conftest import BUILD_DIR, Emulator, Gateway, Process, grpcurl, ota_cancel

EMULATOR = BUILD_DIR / "emulator" / "iot-emulator"
BUSY = "the port is already in use by another process"


def cancel(gateway, job_id):
    return grpcurl("-plaintext", "-max-time", "20", "-d", json.dumps({"job_id": job_id}),
                   gateway.target, "ota.v1.OtaStrategyService/CancelByJob")


def kept(processes, process):
    """`process`, stopped at the end of the test."""
    processes.append(process)
    return process


def assert_refused_busy(process, address, flag):
    """`process` stopped at once with exit code 2, naming the busy `address` and `flag`."""
    assert process.proc.wait(30) == 2, process.output()
    assert f"cannot listen on {address}: {BUSY}" in process.output()
    assert f"{flag} HOST:PORT" in process.output()
    # Only its own words: JSON log lines, no raw gRPC library line ("E1207 ... chttp2_server.cc
    # ... No address added out of total 1 resolved") before them.
    raw = [line for line in process.output().splitlines() if not line.startswith("{")]
    assert raw == [], process.output()
    assert "chttp2" not in process.output() and "No address added" not in process.output()


def test_a_second_gateway_on_a_busy_port_exits_2_and_the_first_keeps_every_call(processes):
    emulator = kept(processes, Emulator("--job=" + ",".join(f"J{n}=dynamic" for n in range(1, 7))))
    first = kept(processes, Gateway(emulator))
    # A second gateway wired to another emulator: if it shared the port, some calls would reach
    # that emulator instead.
    other_emulator = kept(processes, Emulator())
    second = kept(processes, Gateway(other_emulator, f"--listen={first.target}", wait=False))
    assert_refused_busy(second, first.target, "--listen")
    assert "ota-gateway serving" not in second.output()

    for n in range(1, 7):
        out = cancel(first, f"J{n}")
        assert out.returncode == 0, out.stderr
    assert len([c for c in emulator.calls() if c.get("action") == "CancelOTAStrategyByJob"]) == 6
    assert other_emulator.calls() == []


def test_a_busy_admin_port_is_explained_too(processes):
    emulator = kept(processes, Emulator())
    gateway = kept(processes,
                   Gateway(emulator, f"--admin-listen=127.0.0.1:{emulator.port}", wait=False))
    assert_refused_busy(gateway, f"127.0.0.1:{emulator.port}", "--admin-listen")


def test_a_second_emulator_on_a_busy_port_exits_2_with_a_clear_message(processes):
    first = kept(processes, Emulator())
    second = kept(processes,
                  Process("iot-emulator-2", [EMULATOR, f"--listen=127.0.0.1:{first.port}"]))
    assert second.proc.wait(30) == 2, second.output()
    assert second.output().strip() == (
        f"iot-emulator: cannot listen on 127.0.0.1:{first.port}: {BUSY} (stop it, or choose "
        "another address with --listen HOST:PORT)")
    # The first one still answers.
    assert first.calls() == []


DEMO_JOBS = {**{f"demo-dynamic-{n:04d}": "dynamic" for n in range(1, 21)},
             "demo-static-0001": "static", "demo-finished-0001": "finished"}


def job_states(emulator):
    return {j["job_id"]: j["state"] for j in emulator._control("/_emulator/jobs")}


def test_the_demo_batches_last_a_session(processes):
    emulator = kept(processes, Emulator())
    assert job_states(emulator) == DEMO_JOBS
    gateway = kept(processes, Gateway(emulator))
    for n in range(1, 21):
        out = cancel(gateway, f"demo-dynamic-{n:04d}")
        assert out.returncode == 0, out.stderr
    assert job_states(emulator) == {**DEMO_JOBS,
                                    **{f"demo-dynamic-{n:04d}": "cancelled" for n in range(1, 21)}}


def test_job_flags_add_to_the_demo_batches(processes):
    emulator = kept(processes,
                    Emulator("--job=MY-JOB=dynamic@iot-mine", "--job=demo-dynamic-0005=finished"))
    assert job_states(emulator) == {**DEMO_JOBS, "MY-JOB": "dynamic",
                                    "demo-dynamic-0005": "finished"}


def cancel_without_deadline(gateway, job_id):
    return grpcurl("-plaintext", "-d", json.dumps({"job_id": job_id}), gateway.target,
                   "ota.v1.OtaStrategyService/CancelByJob")


def test_a_refused_call_without_a_deadline_names_the_default_that_applied(processes):
    emulator = kept(processes, Emulator())
    # One call per second: the second call's slot (over 1 s after the first) lies past the
    # default deadline of 500ms.
    gateway = kept(processes, Gateway(emulator, "--qps=1", "--burst=1", "--default-timeout=500ms"))
    first = cancel_without_deadline(gateway, "demo-dynamic-0001")
    assert first.returncode == 0, first.stderr
    refused = cancel_without_deadline(gateway, "demo-dynamic-0002")
    assert "Code: ResourceExhausted" in refused.stderr, refused.stderr
    assert ("you set no deadline, so the gateway's default deadline of 500ms applied (its "
            "--default-timeout)") in refused.stderr
    # With a deadline of its own, the caller is not told about the default.
    own = grpcurl("-plaintext", "-max-time", "0.5", "-d", '{"job_id": "demo-dynamic-0003"}',
                  gateway.target, "ota.v1.OtaStrategyService/CancelByJob")
    assert "Code: ResourceExhausted" in own.stderr, own.stderr
    assert "you set no deadline" not in own.stderr


def test_static_and_finished_batches_get_their_own_words(processes):
    emulator = kept(processes, Emulator())
    gateway = kept(processes, Gateway(emulator))
    static = cancel(gateway, "demo-static-0001")
    assert "Code: FailedPrecondition" in static.stderr
    assert '"reason": "JOB_NOT_DYNAMIC"' in static.stderr
    assert "the OTA update batch is static" in static.stderr
    assert "there is no dynamic policy to cancel" in static.stderr
    assert "left" not in static.stderr
    finished = cancel(gateway, "demo-finished-0001")
    assert '"reason": "JOB_FINISHED"' in finished.stderr
    assert "already finished" in finished.stderr
    assert "there is no update policy left to cancel" in finished.stderr


def test_ota_cancel_words(processes):
    emulator = kept(processes, Emulator())
    gateway = kept(processes, Gateway(emulator))
    no_unit = ota_cancel("--target", gateway.target, "--job-id", "demo-dynamic-0001",
                         "--timeout", "5")
    assert no_unit.returncode == 2
    assert "--timeout: a duration needs a unit, e.g. 5s or 5ms" in no_unit.stderr
    tls = ota_cancel("--target", gateway.target, "--job-id", "demo-dynamic-0001", "--tls",
                     "--timeout", "5s")
    assert tls.returncode == 7
    lines = tls.stderr.splitlines()
    assert len(lines) == 1, tls.stderr  # no gRPC library lines
    assert lines[0].startswith("ota-cancel: UNAVAILABLE: the TLS handshake with the gateway "
                               "failed: if it serves plaintext, connect without TLS")
    assert emulator.calls() == []
