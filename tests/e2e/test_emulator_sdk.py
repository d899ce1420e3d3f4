"""iot-emulator checked against Alibaba Cloud's official Python SDKs.

The real iot-emulator binary is started on a free loopback port and CancelOTAStrategyByJob (and
QueryOTAJob, which the gateway asks to settle a cancel's outcome, and ListOTAJobByFirmware, which
ListJobsByFirmware wraps) is called with the SDKs callers use in production:
  - alibabacloud-iot20180120 on alibabacloud_tea_openapi: ACS3-HMAC-SHA256 (signature v3, its default);
  - aliyun-python-sdk-iot on aliyun-python-sdk-core: the classic RPC signature v1 (HMAC-SHA1).
If an SDK's request is refused by the emulator's verifier, the verifier (or the signer it shares
with the gateway) is wrong, not the SDK.

Binary: $OTA_BUILD_DIR/emulator/iot-emulator (default /work/main/build). Python: the project venv
(.venv, tests/requirements.txt).
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from alibabacloud_iot20180120 import models as iot_models
from alibabacloud_iot20180120.client import Client as IotClient
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_util import models as util_models
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkiot.request.v20180120.CancelOTAStrategyByJobRequest import \
    CancelOTAStrategyByJobRequest
from aliyunsdkiot.request.v20180120.ListOTAJobByFirmwareRequest import \
    ListOTAJobByFirmwareRequest
from aliyunsdkiot.request.v20180120.QueryOTAJobRequest import QueryOTAJobRequest
from Tea.exceptions import TeaException

from conftest import make_tls_files, register_secrets, session_log

BUILD_DIR = Path(os.environ.get("OTA_BUILD_DIR", "/work/main/build"))
EMULATOR_BIN = BUILD_DIR / "emulator" / "iot-emulator"

# The emulator's public demo key (demo_credentials/demo_credentials.h): fake by design, not a secret.
DEMO_KEY_ID = "EMULATORDEMOKEYID0001"
DEMO_KEY_SECRET = "emulator-demo-secret-not-a-real-key"
REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """A running iot-emulator; its output is collected so a failure can show it."""

    def __init__(self, *flags, scheme="http"):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.lines = []
        register_secrets(flags)  # the session-end secret scan (conftest.py) reads `log`
        log = session_log("iot-emulator")
        self.proc = subprocess.Popen(
            [str(EMULATOR_BIN), f"--listen={self.host}", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                self.lines.append(line.rstrip("\n"))
                if line.startswith("iot-emulator listening on"):
                    ready.set()
            log.close()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(20) or self.proc.poll() is not None:
            self.stop()
            raise AssertionError("iot-emulator did not start:\n" + "\n".join(self.lines))
        assert self.lines[-1] == f"iot-emulator listening on {scheme}://{self.host}", self.lines

    def control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{self.host}{path}", data=data,
                                     method="GET" if body is None else "POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def calls(self):
        return self.control("/_emulator/calls")

    def job_states(self):
        return {j["job_id"]: j["state"] for j in self.control("/_emulator/jobs")}

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def start_emulator():
    started = []

    def start(*flags, **kwargs):
        emu = Emulator(*flags, **kwargs)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(start_emulator):
    """The default demo configuration: demo key, demo jobs, 10 calls/s."""
    return start_emulator()


# --- The two SDKs, each reduced to "call CancelOTAStrategyByJob, give back (HTTP status, body)".

def v3_client(emu, key_id=DEMO_KEY_ID, secret=DEMO_KEY_SECRET, token=None):
    config = openapi_models.Config(access_key_id=key_id, access_key_secret=secret,
                                   security_token=token, endpoint=emu.host, protocol="http",
                                   region_id="cn-shanghai")
    return IotClient(config)


def call_v3(client, job_id, instance=None):
    """(status, body dict) from the v3 SDK; gateway errors come back as TeaException."""
    request = iot_models.CancelOTAStrategyByJobRequest(job_id=job_id, iot_instance_id=instance)
    try:
        response = client.cancel_otastrategy_by_job_with_options(
            request, util_models.RuntimeOptions(autoretry=False))
    except TeaException as e:
        return e.data["statusCode"], {k: v for k, v in e.data.items() if k != "statusCode"}
    return response.status_code, response.body.to_map()


def v1_client(key_id=DEMO_KEY_ID, secret=DEMO_KEY_SECRET):
    # No SDK retries: each call here must be exactly one request.
    return AcsClient(key_id, secret, "cn-shanghai", auto_retry=False)


def call_v1(emu, client, job_id, instance=None):
    """(status, body dict) from the v1 SDK; gateway errors come back as ServerException."""
    request = CancelOTAStrategyByJobRequest()
    request.set_JobId(job_id)
    if instance:
        request.set_IotInstanceId(instance)
    request.set_endpoint(emu.host)
    request.set_protocol_type("http")
    try:
        return 200, json.loads(client.do_action_with_exception(request))
    except ServerException as e:
        return e.get_http_status(), {"Code": e.get_error_code(), "Message": e.get_error_msg(),
                                     "RequestId": e.get_request_id()}


def query_v3(client, job_id, instance=None):
    """QueryOTAJob with the v3 SDK: (status, body as the SDK's model read it)."""
    request = iot_models.QueryOTAJobRequest(job_id=job_id, iot_instance_id=instance)
    try:
        response = client.query_otajob_with_options(request,
                                                    util_models.RuntimeOptions(autoretry=False))
    except TeaException as e:
        return e.data["statusCode"], {k: v for k, v in e.data.items() if k != "statusCode"}
    return response.status_code, response.body


def query_v1(emu, client, job_id, instance=None):
    request = QueryOTAJobRequest()
    request.set_JobId(job_id)
    if instance:
        request.set_IotInstanceId(instance)
    return send_v1(emu, client, request)


def send_v1(emu, client, request):
    """(status, body dict) of a v1 SDK request sent to the emulator."""
    request.set_endpoint(emu.host)
    request.set_protocol_type("http")
    try:
        return 200, json.loads(client.do_action_with_exception(request))
    except ServerException as e:
        return e.get_http_status(), {"Code": e.get_error_code(), "RequestId": e.get_request_id()}


def list_v3(client, firmware_id, page, size, instance=None):
    """ListOTAJobByFirmware with the v3 SDK: (status, body as the SDK's model read it)."""
    request = iot_models.ListOTAJobByFirmwareRequest(firmware_id=firmware_id, current_page=page,
                                                     page_size=size, iot_instance_id=instance)
    try:
        response = client.list_otajob_by_firmware_with_options(
            request, util_models.RuntimeOptions(autoretry=False))
    except TeaException as e:
        return e.data["statusCode"], {k: v for k, v in e.data.items() if k != "statusCode"}
    return response.status_code, response.body


def list_v1(emu, client, firmware_id, page, size):
    request = ListOTAJobByFirmwareRequest()
    request.set_FirmwareId(firmware_id)
    request.set_CurrentPage(page)
    request.set_PageSize(size)
    return send_v1(emu, client, request)


def last_call(emu):
    calls = emu.calls()
    assert calls, "the emulator recorded no call"
    return calls[-1]


# --- Success and business answers, both signature methods.

def test_v3_sdk_cancels_a_dynamic_job(emulator):
    status, body = call_v3(v3_client(emulator), "demo-dynamic-0001")
    assert status == 200
    assert body["Success"] is True
    assert REQUEST_ID.match(body["RequestId"])
    assert emulator.job_states()["demo-dynamic-0001"] == "cancelled"
    call = last_call(emulator)
    assert call["signature_method"] == "ACS3-HMAC-SHA256"
    assert call["access_key_id"] == DEMO_KEY_ID
    assert call["action"] == "CancelOTAStrategyByJob"
    assert call["job_id"] == "demo-dynamic-0001"
    assert call["http_status"] == 200 and call["code"] == ""
    assert call["request_id"] == body["RequestId"]
    assert abs(call["time_us"] / 1e6 - time.time()) < 60


def test_v1_sdk_cancels_a_dynamic_job(emulator):
    status, body = call_v1(emulator, v1_client(), "demo-dynamic-0002")
    assert status == 200
    assert body["Success"] is True
    assert REQUEST_ID.match(body["RequestId"])
    assert emulator.job_states()["demo-dynamic-0002"] == "cancelled"
    assert last_call(emulator)["signature_method"] == "HMAC-SHA1"


@pytest.mark.parametrize("sdk", ["v1", "v3"])
def test_business_errors_have_alibabas_shape(emulator, sdk):
    def call(job_id, instance=None):
        if sdk == "v1":
            return call_v1(emulator, v1_client(), job_id, instance)
        return call_v3(v3_client(emulator), job_id, instance)

    expected = [
        ("no-such-job", None, "iot.ota.OtaJobNotExist"),
        ("demo-static-0001", None, "iot.ota.OtaJobTypeNotSupported"),
        ("demo-finished-0001", None, "iot.ota.OtaJobStatusNotSupported"),
        ("demo-dynamic-0003", "iot-unknown-instance", "iot.system.InstanceNotFound"),
    ]
    for job_id, instance, code in expected:
        status, body = call(job_id, instance)
        assert status == 200, (job_id, body)
        assert body["Success"] is False
        assert body["Code"] == code
        assert body["ErrorMessage"]
        assert REQUEST_ID.match(body["RequestId"])
    # A second cancel of the same dynamic job: already cancelled.
    assert call("demo-dynamic-0003")[1]["Success"] is True
    assert call("demo-dynamic-0003")[1]["Code"] == "iot.ota.OtaJobStatusNotSupported"


# --- QueryOTAJob: what the gateway asks to learn the truth about a cancel.

def test_v3_sdk_reads_query_otajob_job_status_and_selection_type(emulator):
    client = v3_client(emulator)
    expected = {"demo-dynamic-0001": ("IN_PROGRESS", "DYNAMIC"),
                "demo-static-0001": ("IN_PROGRESS", "STATIC"),
                "demo-finished-0001": ("COMPLETED", "DYNAMIC")}
    for job_id, (job_status, selection) in expected.items():
        status, body = query_v3(client, job_id)
        assert status == 200, body
        assert body.success is True
        assert REQUEST_ID.match(body.request_id)
        assert body.data.job_id == job_id
        assert (body.data.job_status, body.data.selection_type) == (job_status, selection)
        call = last_call(emulator)
        assert (call["action"], call["signature_method"]) == ("QueryOTAJob", "ACS3-HMAC-SHA256")
    # After a successful CancelOTAStrategyByJob the batch reads CANCELED (the seed document).
    assert call_v3(client, "demo-dynamic-0001")[1]["Success"] is True
    assert query_v3(client, "demo-dynamic-0001")[1].data.job_status == "CANCELED"
    assert emulator.job_states()["demo-dynamic-0001"] == "cancelled"


def test_v1_sdk_reads_query_otajob_and_unknown_jobs(emulator):
    status, body = query_v1(emulator, v1_client(), "demo-static-0001")
    assert status == 200, body
    assert body["Success"] is True
    assert (body["Data"]["JobStatus"], body["Data"]["SelectionType"]) == ("IN_PROGRESS", "STATIC")
    assert last_call(emulator)["signature_method"] == "HMAC-SHA1"
    status, body = query_v1(emulator, v1_client(), "no-such-job")
    assert status == 200 and body["Success"] is False
    assert body["Code"] == "iot.ota.OtaJobNotExist"
    # Queries never change a job.
    assert emulator.job_states()["demo-static-0001"] == "static"


# --- ListOTAJobByFirmware: how ListJobsByFirmware finds a firmware's batches.

def test_v3_sdk_pages_through_list_otajob_by_firmware(emulator):
    client = v3_client(emulator)
    assert call_v3(client, "demo-dynamic-0002")[1]["Success"] is True
    seen = []
    for page in (1, 2, 3):
        status, body = list_v3(client, "demo-firmware-0001", page, 10)
        assert status == 200, body
        assert body.success is True
        assert (body.total, body.page_size, body.page_count, body.current_page) == (22, 10, 3, page)
        seen += body.data.simple_otajob_info
    assert len(seen) == 22
    by_id = {job.job_id: job for job in seen}
    assert by_id["demo-dynamic-0001"].job_status == "IN_PROGRESS"
    assert by_id["demo-dynamic-0002"].job_status == "CANCELED"
    assert (by_id["demo-static-0001"].job_status,
            by_id["demo-static-0001"].selection_type) == ("IN_PROGRESS", "STATIC")
    assert by_id["demo-finished-0001"].job_status == "COMPLETED"
    for job in seen:
        assert job.firmware_id == "demo-firmware-0001"
        assert job.job_type == "UPGRADE_FIRMWARE"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", job.utc_create), job.utc_create
    call = last_call(emulator)
    assert (call["action"], call["firmware_id"]) == ("ListOTAJobByFirmware", "demo-firmware-0001")
    status, body = list_v3(client, "no-such-firmware", 1, 10)
    assert status == 200 and body.success is True and body.total == 0
    status, body = list_v3(client, "demo-firmware-0001", 1, 201)
    assert status == 200 and body.success is False
    assert body.code == "iot.common.InvalidPageParams"


def test_v1_sdk_lists_by_firmware(start_emulator):
    emu = start_emulator("--job=FW-JOB=dynamic#fw-2.3.1")
    status, body = list_v1(emu, v1_client(), "fw-2.3.1", 1, 200)
    assert status == 200, body
    assert body["Success"] is True and body["Total"] == 1
    assert [j["JobId"] for j in body["Data"]["SimpleOTAJobInfo"]] == ["FW-JOB"]
    assert last_call(emu)["signature_method"] == "HMAC-SHA1"


@pytest.mark.parametrize("sdk", ["v1", "v3"])
def test_iot_instance_id_reaches_the_job_table(start_emulator, sdk):
    emu = start_emulator("--job=INST-JOB=dynamic@iot-instc-1")
    if sdk == "v1":
        status, body = call_v1(emu, v1_client(), "INST-JOB", "iot-instc-1")
    else:
        status, body = call_v3(v3_client(emu), "INST-JOB", "iot-instc-1")
    assert (status, body["Success"]) == (200, True), body
    assert last_call(emu)["iot_instance_id"] == "iot-instc-1"


# --- Gateway-level rejections.

def test_bad_secret_is_signature_does_not_match(emulator):
    status, body = call_v3(v3_client(emulator, secret="wrong-secret"), "demo-dynamic-0001")
    assert status == 400
    assert body["Code"] == "SignatureDoesNotMatch"
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in body["Message"]
    assert REQUEST_ID.match(body["RequestId"])

    status, body = call_v1(emulator, v1_client(secret="wrong-secret"), "demo-dynamic-0001")
    assert status == 400
    # aliyun-python-sdk-core compares the string-to-sign at the end of a SignatureDoesNotMatch
    # message with its own and, when they are equal (only the secret can be wrong), reports
    # InvalidAccessKeySecret instead. So this proves the emulator's v1 string-to-sign is exactly
    # the SDK's. (The emulator itself answered SignatureDoesNotMatch: see the record below.)
    assert body["Code"] == "InvalidAccessKeySecret", body

    assert emulator.job_states()["demo-dynamic-0001"] == "dynamic"
    codes = [(c["signature_method"], c["http_status"], c["code"]) for c in emulator.calls()]
    assert codes == [("ACS3-HMAC-SHA256", 400, "SignatureDoesNotMatch"),
                     ("HMAC-SHA1", 400, "SignatureDoesNotMatch")]
    assert "wrong-secret" not in json.dumps(emulator.calls())


def test_unknown_access_key_is_not_found(emulator):
    status, body = call_v3(v3_client(emulator, key_id="LTAINOSUCHKEY"), "demo-dynamic-0001")
    assert (status, body["Code"]) == (404, "InvalidAccessKeyId.NotFound")
    status, body = call_v1(emulator, v1_client(key_id="LTAINOSUCHKEY"), "demo-dynamic-0001")
    assert (status, body["Code"]) == (404, "InvalidAccessKeyId.NotFound")
    assert last_call(emulator)["access_key_id"] == "LTAINOSUCHKEY"


def test_sts_credentials_are_verified_with_their_token(start_emulator):
    emu = start_emulator("--access-key=STS.KEYID01:sts-secret:acct-1:sts-token-value",
                         "--job=J1=dynamic", "--job=J2=dynamic")
    status, body = call_v3(v3_client(emu, "STS.KEYID01", "sts-secret", token="sts-token-value"),
                           "J1")
    assert (status, body.get("Success")) == (200, True), body
    status, body = call_v3(v3_client(emu, "STS.KEYID01", "sts-secret", token="other-token"), "J2")
    assert (status, body["Code"]) == (400, "InvalidSecurityToken.MismatchWithAccessKey")
    assert "sts-token-value" not in json.dumps(emu.calls())


@pytest.mark.parametrize("sdk", ["v1", "v3"])
def test_burst_over_quota_is_throttled_per_account(start_emulator, sdk):
    # Two keys of one account share its 2 calls/s; a third account has its own quota.
    emu = start_emulator("--qps=2", "--access-key=KEYA1:secret-a1:acct-A",
                         "--access-key=KEYA2:secret-a2:acct-A", "--access-key=KEYB1:secret-b1:acct-B")
    keys = [("KEYA1", "secret-a1"), ("KEYA2", "secret-a2")] * 3
    results = []
    for key_id, secret in keys:
        if sdk == "v1":
            results.append(call_v1(emu, v1_client(key_id, secret), "no-such-job"))
        else:
            results.append(call_v3(v3_client(emu, key_id, secret), "no-such-job"))
    throttled = [body for status, body in results if status == 400]
    admitted = [body for status, body in results if status == 200]
    assert all(b["Code"] == "Throttling.User" for b in throttled), throttled
    assert throttled, "6 quick calls at 2/s: some must be throttled"
    if sdk == "v3":
        assert throttled[0]["Message"] == "Request was denied due to user flow control."
    assert all(b["Code"] == "iot.ota.OtaJobNotExist" for b in admitted)

    # The other account is not throttled by account A's burst.
    other = call_v3(v3_client(emu, "KEYB1", "secret-b1"), "no-such-job")
    assert other[0] == 200, other

    # Throttled calls are recorded; the admitted ones never exceed 2 in any 1-second window.
    calls = [c for c in emu.calls() if c["access_key_id"].startswith("KEYA")]
    assert len(calls) == 6
    assert sum(c["code"] == "Throttling.User" for c in calls) == len(throttled)
    times = sorted(c["time_us"] for c in calls if c["http_status"] == 200)
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1_000_000) <= 2


def test_unsigned_and_misrouted_requests_get_alibaba_json(emulator):
    def raw(method, target):
        conn = http.client.HTTPConnection(emulator.host, timeout=10)
        conn.request(method, target, body=b"" if method == "POST" else None)
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        return resp.status, body

    status, body = raw("POST", "/?Action=CancelOTAStrategyByJob&Version=2018-01-20&JobId=x")
    assert (status, body["Code"]) == (400, "MissingParameter")
    assert '"AccessKeyId"' in body["Message"]
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    status, body = raw("GET", "/no/such/path")
    assert (status, body["Code"]) == (404, "InvalidAction.NotFound")
    assert REQUEST_ID.match(body["RequestId"])


# --- Faults and control endpoints.

def test_runtime_faults_and_reset(emulator):
    client = v3_client(emulator)
    emulator.control("/_emulator/faults", {"status": 503})
    status, body = call_v3(client, "demo-dynamic-0001")
    assert (status, body["Code"]) == (503, "ServiceUnavailable")
    assert emulator.job_states()["demo-dynamic-0001"] == "dynamic"

    emulator.control("/_emulator/faults", {"garbage": True})
    conn = http.client.HTTPConnection(emulator.host, timeout=10)
    conn.request("POST", "/?Action=CancelOTAStrategyByJob")
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(ValueError):
        json.loads(resp.read())
    conn.close()

    emulator.control("/_emulator/faults", {"reset": True})
    conn = http.client.HTTPConnection(emulator.host, timeout=10)
    conn.request("POST", "/?Action=CancelOTAStrategyByJob")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()

    emulator.control("/_emulator/faults", {"latency": "300ms"})
    started = time.monotonic()
    status, body = call_v3(client, "demo-dynamic-0001")
    assert time.monotonic() - started >= 0.3
    assert (status, body["Success"]) == (200, True)

    faults = [c["fault"] for c in emulator.calls()]
    assert faults == ["status", "garbage", "reset", ""]
    assert emulator.calls()[2]["http_status"] == 0
    assert emulator.calls()[3]["latency_micros"] == 300_000

    emulator.control("/_emulator/reset", {})
    assert emulator.calls() == []
    assert emulator.job_states()["demo-dynamic-0001"] == "dynamic"
    assert emulator.control("/_emulator/faults")["status"] == 0
    assert call_v3(client, "demo-dynamic-0001")[1]["Success"] is True


def test_record_file_and_clean_stop(start_emulator, tmp_path):
    record = tmp_path / "calls.jsonl"
    emu = start_emulator(f"--record-file={record}", "--job=J1=dynamic")
    call_v3(v3_client(emu), "J1")
    call_v1(emu, v1_client(), "J1")
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(c["signature_method"], c["code"]) for c in lines] == [
        ("ACS3-HMAC-SHA256", ""), ("HMAC-SHA1", "iot.ota.OtaJobStatusNotSupported")]
    assert emu.stop(signal.SIGTERM) == 0


def test_sigterm_lets_an_answer_in_flight_finish(start_emulator):
    emu = start_emulator("--fault-latency=1s", "--job=J1=dynamic")
    result = {}
    caller = threading.Thread(target=lambda: result.update(out=call_v3(v3_client(emu), "J1")))
    caller.start()
    deadline = time.monotonic() + 10
    while not emu.calls() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert emu.stop(signal.SIGTERM) == 0
    caller.join(10)
    assert result["out"][0] == 200 and result["out"][1]["Success"] is True, result
    assert time.monotonic() - started < 3, "stopping must not wait for idle keep-alive connections"


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_https_with_tls_flags(start_emulator, tmp_path):
    cert, key = make_tls_files(tmp_path)
    emu = start_emulator(f"--tls-cert={cert}", f"--tls-key={key}", scheme="https")
    config = openapi_models.Config(access_key_id=DEMO_KEY_ID, access_key_secret=DEMO_KEY_SECRET,
                                   endpoint=emu.host, protocol="https", region_id="cn-shanghai")
    response = IotClient(config).cancel_otastrategy_by_job_with_options(
        iot_models.CancelOTAStrategyByJobRequest(job_id="demo-dynamic-0001"),
        util_models.RuntimeOptions(autoretry=False, ignore_ssl=True))
    assert response.body.success is True
