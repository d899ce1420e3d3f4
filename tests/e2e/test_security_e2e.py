"""Transport security, caller identity and the audit trail of a real ota-gateway.

A throwaway CA is made with the `openssl` CLI for each test module: a server certificate for
127.0.0.1, client certificates for an allowed caller, a caller restricted to one IoT instance, a
stranger (signed by the same CA but not in the callers file), a CN-only caller, and a client of a
different CA. Calls go through the real clients: ota-cancel (C++ client library, --json) and
grpcurl. Only the Python standard library is used here (ssl for looking at the served certificate).
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import DEMO_KEY_ID, Emulator, Gateway, grpcurl, ota_cancel

METHOD = "ota.v1.OtaStrategyService/CancelByJob"
ALLOWED_SAN = "spiffe://test.example/rollout"
LIMITED_SAN = "spiffe://test.example/limited"
STRANGER_SAN = "spiffe://test.example/stranger"
CN_ONLY = "legacy-batch-tool"
GOOD_TOKEN = "tok-9f2c1d7e-good-caller-secret"
OTHER_TOKEN = "tok-77aa01-wrong-secret-value"
DEMO_SECRET_ENV = {}  # emulator mode supplies the demo key


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}", "-days", "2",
            cwd=d)
    return d / f"{name}.crt"


def make_cert(d, name, ca, subject_cn, sans=None, server=False):
    """A leaf signed by `ca`; returns (cert, key) paths."""
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={subject_cn}", cwd=d)
    ext = ["basicConstraints=critical,CA:FALSE",
           f"extendedKeyUsage={'serverAuth' if server else 'clientAuth'}"]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    (d / f"{name}.ext").write_text("\n".join(ext) + "\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=d)
    return d / f"{name}.crt", d / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    p = {"dir": d, "ca": make_ca(d, "test-ca"), "other_ca": make_ca(d, "other-ca")}
    p["server"] = make_cert(d, "server", "test-ca", "ota-gateway", ["IP:127.0.0.1", "DNS:localhost"],
                            server=True)
    p["allowed"] = make_cert(d, "allowed", "test-ca", "rollout", [f"URI:{ALLOWED_SAN}"])
    p["limited"] = make_cert(d, "limited", "test-ca", "limited", [f"URI:{LIMITED_SAN}"])
    p["stranger"] = make_cert(d, "stranger", "test-ca", "stranger", [f"URI:{STRANGER_SAN}"])
    p["cn_only"] = make_cert(d, "cn_only", "test-ca", CN_ONLY)
    p["foreign"] = make_cert(d, "foreign", "other-ca", "rollout", [f"URI:{ALLOWED_SAN}"])
    (d / "good.token").write_text(GOOD_TOKEN + "\n")
    (d / "other.token").write_text(OTHER_TOKEN + "\n")
    return p


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def callers_json(extra=()):
    return json.dumps({"callers": [
        {"name": "rollout", "identities": [{"mtls_san": ALLOWED_SAN}]},
        {"name": "limited", "identities": [{"mtls_san": LIMITED_SAN}],
         "iot_instance_ids": ["iot-inst-1"]},
        {"name": "legacy", "identities": [{"mtls_cn": CN_ONLY}], "iot_instance_ids": [""]},
        {"name": "token-caller", "identities": [{"token_sha256": sha256(GOOD_TOKEN)}]},
        *extra]})


@pytest.fixture
def jobs_emulator(processes):
    jobs = [f"--job=JOB-{i}=dynamic" for i in range(40)]
    emu = Emulator(*jobs, "--job=JOB-INST=dynamic@iot-inst-1", "--job=JOB-INST-2=dynamic@iot-inst-1",
                   "--iot-instance=iot-inst-1")
    processes.append(emu)
    return emu


def tls_flags(pki, client_ca=True, cert_dir=None):
    cert, key = pki["server"] if cert_dir is None else (cert_dir / "tls.crt", cert_dir / "tls.key")
    flags = [f"--tls-cert-file={cert}", f"--tls-key-file={key}"]
    if client_ca:
        flags.append(f"--tls-client-ca-file={pki['ca']}")
    return flags


def cancel(gw, job, pki=None, cert=None, instance="", token_file=None, tls=True):
    args = [f"--target={gw.target}", f"--job-id={job}", "--json", "--timeout=20s"]
    if instance:
        args.append(f"--iot-instance-id={instance}")
    if tls:
        args += ["--tls", f"--ca-file={pki['ca']}"]
    if cert is not None:
        args += [f"--cert-file={cert[0]}", f"--key-file={cert[1]}"]
    if token_file is not None:
        args.append(f"--token-file={token_file}")
    out = ota_cancel(*args)
    assert out.stdout.strip(), out.stderr
    result = json.loads(out.stdout)
    return "OK" if result["ok"] else result["code"], result


def audit_lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def exited_with(process, code, *needles, timeout=20):
    """Waits for `process` to exit with `code` and for its output to show every needle (the output
    is collected by a thread that may still be reading after the exit)."""
    assert process.proc.wait(timeout) == code
    deadline = time.monotonic() + 5
    while not all(n in process.output() for n in needles):
        assert time.monotonic() < deadline, process.output()
        time.sleep(0.05)
    return process.output()


def test_refuses_to_start_without_tls_or_explicit_plaintext(processes, jobs_emulator):
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": DEMO_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "unused"}
    no_tls = Gateway(jobs_emulator, "--allow-unauthenticated", emulator_mode=False, wait=False,
                     security=(), env=env)
    processes.append(no_tls)
    exited_with(no_tls, 2, "--plaintext", "--tls-cert-file")
    no_callers = Gateway(jobs_emulator, "--plaintext", emulator_mode=False, wait=False,
                         security=(), env=env)
    processes.append(no_callers)
    exited_with(no_callers, 2, "--callers-file", "--allow-unauthenticated")


def test_emulator_mode_implies_plaintext_and_says_so(processes, jobs_emulator):
    gw = Gateway(jobs_emulator, security=())
    processes.append(gw)
    warnings = " ".join(r["msg"] for r in gw.log_records() if r["level"] == "warning")
    assert "PLAINTEXT" in warnings and "UNAUTHENTICATED" in warnings
    code, _ = cancel(gw, "JOB-0", tls=False)
    assert code == "OK"


def test_tls_only_serves_tls_and_refuses_plaintext_clients(processes, jobs_emulator, pki):
    gw = Gateway(jobs_emulator, *tls_flags(pki, client_ca=False),
                 security=("--allow-unauthenticated",))
    processes.append(gw)
    assert cancel(gw, "JOB-0", pki)[0] == "OK"
    plaintext_code, plain = cancel(gw, "JOB-1", tls=False)
    assert plaintext_code == "UNAVAILABLE", plain
    listed = grpcurl("-cacert", pki["ca"], gw.target, "list")
    assert listed.returncode == 0, listed.stderr
    assert "ota.v1.OtaStrategyService" in listed.stdout
    assert grpcurl("-plaintext", gw.target, "list").returncode != 0
    serving = [r for r in gw.log_records() if r["msg"] == "ota-gateway serving"][0]
    assert serving["transport"] == "tls"


def test_mutual_tls_identities_and_instance_restrictions(processes, jobs_emulator, pki, tmp_path):
    callers = tmp_path / "callers.json"
    callers.write_text(callers_json())
    audit = tmp_path / "audit.jsonl"
    gw = Gateway(jobs_emulator, *tls_flags(pki), f"--audit-log={audit}",
                 security=(f"--callers-file={callers}",))
    processes.append(gw)

    assert cancel(gw, "JOB-0", pki, pki["allowed"])[0] == "OK"
    assert cancel(gw, "JOB-INST", pki, pki["limited"], instance="iot-inst-1")[0] == "OK"
    denied_code, denied = cancel(gw, "JOB-1", pki, pki["limited"])  # default instance: not listed
    assert denied_code == "PERMISSION_DENIED", denied
    assert denied["reason"] == "CALLER_NOT_ALLOWED" and "limited" in denied["message"]
    assert cancel(gw, "JOB-2", pki, pki["cn_only"])[0] == "OK"  # CN match, default instance listed
    stranger_code, stranger = cancel(gw, "JOB-3", pki, pki["stranger"])
    assert stranger_code == "UNAUTHENTICATED", stranger
    assert stranger["reason"] == "CALLER_UNAUTHENTICATED"
    assert STRANGER_SAN in stranger["message"]
    # Certificates the client CA did not sign, or none at all, fail the TLS handshake itself: the
    # call never reaches the service (so it is not audited either).
    assert cancel(gw, "JOB-4", pki, pki["foreign"])[0] == "UNAVAILABLE"
    assert cancel(gw, "JOB-5", pki)[0] == "UNAVAILABLE"

    ok = grpcurl("-cacert", pki["ca"], "-cert", pki["allowed"][0], "-key", pki["allowed"][1],
                 "-H", "x-request-id: req-grpcurl-1", "-d", json.dumps({"job_id": "JOB-6"}),
                 gw.target, METHOD)
    assert ok.returncode == 0, ok.stderr
    assert "requestId" in ok.stdout or "request_id" in ok.stdout
    # Identity is checked before validation: a stranger learns nothing about the request's shape.
    assert cancel(gw, "bad id!", pki, pki["stranger"])[0] == "UNAUTHENTICATED"
    assert cancel(gw, "bad id!", pki, pki["allowed"])[0] == "INVALID_ARGUMENT"

    lines = audit_lines(audit)
    assert [(l["caller"], l["code"]) for l in lines] == [
        ("rollout", "OK"), ("limited", "OK"), ("limited", "PERMISSION_DENIED"), ("legacy", "OK"),
        ("", "UNAUTHENTICATED"), ("rollout", "OK"), ("", "UNAUTHENTICATED"),
        ("rollout", "INVALID_ARGUMENT")]
    assert lines[0]["identity"] == f"mtls_san:{ALLOWED_SAN}"
    assert lines[3]["identity"] == f"mtls_cn:{CN_ONLY}"
    assert lines[4]["identity"] == f"mtls:{STRANGER_SAN}"
    assert lines[1]["iot_instance_id"] == "iot-inst-1" and lines[1]["job_id"] == "JOB-INST"
    assert lines[5]["x_request_id"] == "req-grpcurl-1"
    for line in lines:
        assert set(line) >= {"time", "caller", "identity", "peer", "job_id", "iot_instance_id",
                             "code", "reason", "alibaba_code", "alibaba_request_id", "attempts",
                             "x_request_id", "latency_ms"}
        assert line["peer"].startswith("ipv4:127.0.0.1:")
        if line["code"] == "OK":
            assert line["attempts"] == 1 and line["alibaba_request_id"]
        else:
            assert line["attempts"] == 0 and line["reason"]
    # Denials are logged with who it was.
    denials = [r for r in gw.log_records() if r.get("code") in ("PERMISSION_DENIED", "UNAUTHENTICATED")]
    assert {r["identity"] for r in denials} == {f"mtls_san:{LIMITED_SAN}", f"mtls:{STRANGER_SAN}"}
    assert lines[7]["reason"] == "INVALID_JOB_ID"
    # Refused callers never reach Alibaba: 4 successful cancellations upstream, nothing else.
    upstream = [c for c in jobs_emulator.calls() if c.get("action") == "CancelOTAStrategyByJob"]
    assert len(upstream) == 4


def test_bearer_tokens_good_bad_missing(processes, jobs_emulator, pki, tmp_path):
    callers = tmp_path / "callers.json"
    callers.write_text(callers_json())
    audit = tmp_path / "audit.jsonl"
    gw = Gateway(jobs_emulator, *tls_flags(pki, client_ca=False), f"--audit-log={audit}",
                 security=(f"--callers-file={callers}",))
    processes.append(gw)
    d = pki["dir"]
    assert cancel(gw, "JOB-0", pki, token_file=d / "good.token")[0] == "OK"
    bad_code, bad = cancel(gw, "JOB-1", pki, token_file=d / "other.token")
    assert bad_code == "UNAUTHENTICATED", bad
    missing_code, missing = cancel(gw, "JOB-2", pki)
    assert missing_code == "UNAUTHENTICATED", missing
    assert "anonymous" in missing["message"]
    malformed = grpcurl("-cacert", pki["ca"], "-H", "authorization: Basic Zm9vOmJhcg==", "-d",
                        json.dumps({"job_id": "JOB-3"}), gw.target, METHOD)
    assert "Unauthenticated" in malformed.stderr and "Bearer" in malformed.stderr

    lines = audit_lines(audit)
    assert [(l["caller"], l["code"]) for l in lines] == [
        ("token-caller", "OK"), ("", "UNAUTHENTICATED"), ("", "UNAUTHENTICATED"),
        ("", "UNAUTHENTICATED")]
    assert lines[0]["identity"] == "token_sha256:" + sha256(GOOD_TOKEN)[:12]
    assert lines[1]["identity"] == "unknown bearer token"
    # No token, nor its full hash, in the audit trail or the gateway's logs.
    for text in (audit.read_text(), gw.output(), json.dumps(bad), json.dumps(missing)):
        for secret in (GOOD_TOKEN, OTHER_TOKEN, sha256(OTHER_TOKEN)):
            assert secret not in text


def test_sighup_reloads_the_callers_file_and_keeps_it_when_broken(processes, jobs_emulator, pki,
                                                                   tmp_path):
    callers = tmp_path / "callers.json"
    callers.write_text(callers_json())
    gw = Gateway(jobs_emulator, *tls_flags(pki), security=(f"--callers-file={callers}",))
    processes.append(gw)
    assert cancel(gw, "JOB-0", pki, pki["stranger"])[0] == "UNAUTHENTICATED"

    callers.write_text(callers_json([{"name": "stranger", "identities": [{"mtls_san": STRANGER_SAN}]}]))
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_for_line("callers file reloaded")
    assert cancel(gw, "JOB-1", pki, pki["stranger"])[0] == "OK"

    callers.write_text('{"callers": [{"name": "x", "identities": [{"token_sha256": "plaintext!"}]}]}')
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_for_line("callers file NOT reloaded")
    assert cancel(gw, "JOB-2", pki, pki["stranger"])[0] == "OK"  # the previous list still holds
    assert "plaintext!" not in gw.output()
    assert gw.stop() == 0


def served_certificate(target, pki, client):
    """DER of the certificate the gateway presents to a new connection."""
    host, port = target.rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    context.load_cert_chain(str(client[0]), str(client[1]))
    context.set_alpn_protocols(["h2"])
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)


def der_of(pem_path):
    return ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())


def test_certificate_rotation_on_disk_without_failed_calls(processes, jobs_emulator, pki, tmp_path):
    # The served files live in a directory reached through a symlink that is swapped atomically,
    # the way Kubernetes updates mounted Secrets.
    d = pki["dir"]
    v1 = tmp_path / "v1"
    v1.mkdir()
    shutil.copy(pki["server"][0], v1 / "tls.crt")
    shutil.copy(pki["server"][1], v1 / "tls.key")
    current = tmp_path / "current"
    current.symlink_to(v1)
    callers = tmp_path / "callers.json"
    callers.write_text(callers_json())
    gw = Gateway(jobs_emulator, *tls_flags(pki, cert_dir=current), "--tls-reload-interval=1s",
                 security=(f"--callers-file={callers}",))
    processes.append(gw)
    assert served_certificate(gw.target, pki, pki["allowed"]) == der_of(v1 / "tls.crt")

    results = []
    stop = threading.Event()

    def keep_calling():
        i = 0
        while not stop.is_set():
            # A new process, so a new connection and handshake each time.
            results.append(cancel(gw, f"NO-SUCH-JOB-{i}", pki, pki["allowed"])[0])
            i += 1

    caller = threading.Thread(target=keep_calling)
    caller.start()
    try:
        time.sleep(1)
        new_cert, new_key = make_cert(d, "server-v2", "test-ca", "ota-gateway-v2",
                                      ["IP:127.0.0.1", "DNS:localhost"], server=True)
        v2 = tmp_path / "v2"
        v2.mkdir()
        shutil.copy(new_cert, v2 / "tls.crt")
        shutil.copy(new_key, v2 / "tls.key")
        swap = tmp_path / "current.new"
        swap.symlink_to(v2)
        os.replace(swap, current)
        gw.proc.send_signal(signal.SIGHUP)
        gw.wait_for_line("TLS files on disk are valid")
        deadline = time.monotonic() + 30
        while served_certificate(gw.target, pki, pki["allowed"]) != der_of(new_cert):
            assert time.monotonic() < deadline, "the new certificate was never served"
            time.sleep(0.2)
        time.sleep(1)  # more calls on the new certificate
    finally:
        stop.set()
        caller.join()
    print(f"certificate rotation: {len(results)} calls, outcomes {sorted(set(results))}")
    assert len(results) >= 5
    # Every call got through TLS and the caller check to the emulator (which knows no such job).
    assert set(results) == {"NOT_FOUND"}, results


def wait_for_count(process, needle, count, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        lines = [l for l in process.output().splitlines() if needle in l]
        if len(lines) >= count:
            return lines
        assert time.monotonic() < deadline, f"fewer than {count} lines with {needle!r}"
        time.sleep(0.1)


def test_broken_tls_files_are_reported_and_recovered_from(processes, jobs_emulator, pki, tmp_path):
    cert_dir = tmp_path / "tls"
    cert_dir.mkdir()
    shutil.copy(pki["server"][0], cert_dir / "tls.crt")
    shutil.copy(pki["server"][1], cert_dir / "tls.key")
    gw = Gateway(jobs_emulator, *tls_flags(pki, client_ca=False, cert_dir=cert_dir),
                 "--tls-reload-interval=1s", security=("--allow-unauthenticated",))
    processes.append(gw)
    # A key that belongs to another certificate: noticed by the periodic check, no signal needed.
    shutil.copy(pki["allowed"][1], cert_dir / "tls.key")
    line = json.loads(gw.wait_for_line("TLS files on disk are NOT valid"))
    assert line["level"] == "error" and line["trigger"] == "periodic check"
    assert "does not belong to the certificate" in line["error"]
    gw.proc.send_signal(signal.SIGHUP)
    assert json.loads(wait_for_count(gw, "TLS files on disk are NOT valid", 2)[1])["trigger"] == "SIGHUP"
    # (gRPC 1.51 loads the broken pair too, so new handshakes fail meanwhile; see README.)
    shutil.copy(pki["server"][1], cert_dir / "tls.key")
    gw.wait_for_line("TLS files on disk are valid again")
    deadline = time.monotonic() + 15
    while (code := cancel(gw, "JOB-0", pki)[0]) != "OK":
        assert time.monotonic() < deadline, code
        time.sleep(0.5)
    assert "BEGIN" not in gw.output()  # no key material in the logs


def test_refuses_to_start_with_a_mismatched_key_or_bad_callers_file(processes, jobs_emulator, pki,
                                                                    tmp_path):
    mismatched = Gateway(jobs_emulator, f"--tls-cert-file={pki['server'][0]}",
                         f"--tls-key-file={pki['allowed'][1]}", wait=False,
                         security=("--allow-unauthenticated",))
    processes.append(mismatched)
    exited_with(mismatched, 2, "does not belong to the certificate")
    callers = tmp_path / "callers.json"
    callers.write_text(json.dumps({"callers": [{"name": "x", "identities": [
        {"token_sha256": GOOD_TOKEN}]}]}))
    bad = Gateway(jobs_emulator, "--plaintext", wait=False, security=(f"--callers-file={callers}",))
    processes.append(bad)
    assert GOOD_TOKEN not in exited_with(bad, 2, "token_sha256 must be 64 hex digits")


def test_audit_failure_is_logged_and_the_call_still_answered(processes, jobs_emulator, tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    gw = Gateway(jobs_emulator, "--audit-log=/dev/full")
    processes.append(gw)
    assert cancel(gw, "JOB-0", tls=False)[0] == "OK"
    line = gw.wait_for_line("audit log write failed")
    assert json.loads(line)["audit_write_failures"] == 1
