"""ota-gateway's credential chain end to end: temporary credentials from a local fake STS
(AssumeRoleWithOIDC) and a fake ECS metadata service (tests/tools/fake_credentials_server.py), a
real iot-emulator that accepts only those temporary keys with their security tokens, and the real
gateway started with no AccessKey in its environment."""
import json
import secrets
import sys
import time
import urllib.request

from conftest import ROOT, Emulator, Gateway, Process, grpcurl

FAKE_SERVER = ROOT / "tests" / "tools" / "fake_credentials_server.py"
ROLE_ARN = "acs:ram::1234567890123456:role/ota-gateway"
PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-e2e"
ACCOUNT = "acct-e2e-sts"


class FakeCredentials(Process):
    """The fake STS + metadata service, issuing `keys` ((id, secret, token) tuples) in turn."""

    def __init__(self, keys, oidc_token, lifetime):
        args = [sys.executable, FAKE_SERVER, f"--lifetime={lifetime}", f"--oidc-token={oidc_token}",
                f"--role-arn={ROLE_ARN}", f"--oidc-provider-arn={PROVIDER_ARN}",
                "--ecs-role=GatewayEcsRole"]
        args += [f"--key={i}:{s}:{t}" for i, s, t in keys]
        super().__init__("fake-credentials", args)
        line = self.wait_for_line("fake credentials server listening on")
        self.url = "http://" + line.rsplit(" ", 1)[1]

    def control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


def make_keys(n):
    tag = secrets.token_hex(3)
    return [(f"STS.E2eTempKey{tag}{i:02d}", f"fake-sts-secret-{tag}-{i}",
             f"fake-sts-token-{tag}-{i}") for i in range(n)]


def start_world(processes, tmp_path, keys, lifetime, jobs):
    oidc_token = f"eyJhbGciOiJSUzI1NiJ9.e2e-oidc-jwt-{secrets.token_hex(8)}.sig"
    fake = FakeCredentials(keys, oidc_token, lifetime)
    processes.append(fake)
    emulator = Emulator(*[f"--access-key={i}:{s}:{ACCOUNT}:{t}" for i, s, t in keys],
                        *[f"--job={job}=dynamic" for job in jobs])
    processes.append(emulator)
    token_file = tmp_path / "oidc-token"
    token_file.write_text(oidc_token + "\n")
    oidc_env = {"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": PROVIDER_ARN,
                "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
                "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    return fake, emulator, oidc_env, oidc_token


def cancel(gateway, job):
    return grpcurl("-plaintext", "-max-time", "20", "-d", json.dumps({"job_id": job}),
                   gateway.target, "ota.v1.OtaStrategyService/CancelByJob")


def api_calls(emulator):
    return [c for c in emulator.calls() if c.get("action") == "CancelOTAStrategyByJob"]


def assert_no_secrets(text, keys, oidc_token):
    for key_id, secret, token in keys:
        assert secret not in text
        assert token not in text
        assert key_id not in text, "AccessKeyIds are logged masked only"
    assert oidc_token not in text


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_oidc_credentials_from_sts_sign_the_call(processes, tmp_path):
    keys = make_keys(1)
    fake, emulator, oidc_env, oidc_token = start_world(processes, tmp_path, keys, 3600, ["JOB-O"])
    gw = Gateway(emulator, f"--sts-endpoint={fake.url}", emulator_mode=False, env=oidc_env)
    processes.append(gw)
    out = cancel(gw, "JOB-O")
    assert out.returncode == 0, out.stderr
    assert "request_id" in out.stdout
    calls = api_calls(emulator)
    assert [c["access_key_id"] for c in calls] == [keys[0][0]]
    assert calls[0]["http_status"] == 200
    assert fake.control("/_fake/stats")["sts_issued"] == 1
    source = [r for r in gw.log_records() if r.get("msg") == "credentials source selected"]
    assert source and "OIDC role " + ROLE_ARN in source[0]["credentials"]
    assert_no_secrets(gw.output() + out.stdout + out.stderr, keys, oidc_token)


def test_ecs_metadata_credentials_sign_the_call(processes, tmp_path):
    keys = make_keys(1)
    fake, emulator, _, oidc_token = start_world(processes, tmp_path, keys, 3600, ["JOB-E"])
    gw = Gateway(emulator, f"--ecs-metadata-endpoint={fake.url}", emulator_mode=False)
    processes.append(gw)
    out = cancel(gw, "JOB-E")
    assert out.returncode == 0, out.stderr
    assert [c["access_key_id"] for c in api_calls(emulator)] == [keys[0][0]]
    stats = fake.control("/_fake/stats")
    assert stats["metadata_issued"] == 1 and stats["sts_issued"] == 0
    source = [r for r in gw.log_records() if r.get("msg") == "credentials source selected"]
    assert source and "ECS RAM role" in source[0]["credentials"]
    assert_no_secrets(gw.output() + out.stdout + out.stderr, keys, oidc_token)


def test_calls_keep_succeeding_across_credential_rotation(processes, tmp_path):
    # 6 s credentials: refreshed 3 s after each fetch, so ~10 s of calls see several keys.
    keys = make_keys(8)
    jobs = [f"JOB-ROT-{i:02d}" for i in range(20)]
    fake, emulator, oidc_env, oidc_token = start_world(processes, tmp_path, keys, 6, jobs)
    gw = Gateway(emulator, f"--sts-endpoint={fake.url}", emulator_mode=False, env=oidc_env)
    processes.append(gw)
    results = []
    for job in jobs:
        results.append(cancel(gw, job))
        time.sleep(0.5)
    failures = [r.stderr for r in results if r.returncode != 0]
    assert not failures, failures[:3]
    calls = api_calls(emulator)
    assert len(calls) == len(jobs) and all(c["http_status"] == 200 for c in calls)
    used = [c["access_key_id"] for c in calls]
    distinct = list(dict.fromkeys(used))
    print(f"rotation: {len(jobs)} calls over ~{len(jobs) * 0.5:.0f}s signed with {len(distinct)} "
          f"successive temporary keys; STS issued {fake.control('/_fake/stats')['sts_issued']}")
    assert len(distinct) >= 2, used
    assert distinct == [k[0] for k in keys[:len(distinct)]], "keys are used in the order issued"
    assert any(r.get("msg") == "credentials refreshed" for r in gw.log_records())
    assert_no_secrets(gw.output(), keys, oidc_token)


def test_failed_refresh_keeps_serving_until_sts_recovers(processes, tmp_path):
    keys = make_keys(3)
    fake, emulator, oidc_env, oidc_token = start_world(processes, tmp_path, keys, 10,
                                                       ["JOB-F1", "JOB-F2"])
    gw = Gateway(emulator, f"--sts-endpoint={fake.url}", emulator_mode=False, env=oidc_env)
    processes.append(gw)
    fake.control("/_fake/fail", {"sts": True})
    gw.wait_for_line("still serving the previous credentials", timeout=20)
    during = cancel(gw, "JOB-F1")
    assert during.returncode == 0, during.stderr
    fake.control("/_fake/fail", {"sts": False})
    wait_for(lambda: any(r.get("msg") == "credentials refreshed" for r in gw.log_records()), 20,
             "a successful refresh")
    after = cancel(gw, "JOB-F2")
    assert after.returncode == 0, after.stderr
    used = [c["access_key_id"] for c in api_calls(emulator)]
    assert used == [keys[0][0], keys[1][0]]
    warning = next(r for r in gw.log_records() if "still serving" in r.get("msg", ""))
    assert warning["level"] == "warning" and "ServiceUnavailable" in warning["error"]
    assert warning["access_key_id"].startswith("STS.") and "****" in warning["access_key_id"]
    assert_no_secrets(gw.output(), keys, oidc_token)


def test_oidc_token_refused_by_sts_stops_the_gateway_naming_the_source(processes, tmp_path):
    keys = make_keys(1)
    fake, emulator, oidc_env, oidc_token = start_world(processes, tmp_path, keys, 3600, ["JOB-X"])
    wrong_token = tmp_path / "wrong-token"
    wrong_token.write_text("eyJ.wrong-token-that-must-not-be-logged.sig")
    gw = Gateway(emulator, f"--sts-endpoint={fake.url}", emulator_mode=False, wait=False,
                 env={**oidc_env, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(wrong_token)})
    processes.append(gw)
    assert gw.proc.wait(20) == 2
    # The output is collected by a reader thread that may still be catching up with the exit.
    wait_for(lambda: "refusing to start" in gw.output(), 10, "the start-up error")
    output = gw.output()
    assert "OIDC" in output and "AuthenticationFail.OIDCToken.Invalid" in output
    assert "wrong-token-that-must-not-be-logged" not in output
    assert_no_secrets(output, keys, oidc_token)
