"""Differential test: our request signer against Alibaba Cloud's official Python SDKs.

The SDKs (alibabacloud_openapi_util / alibabacloud_tea_openapi / alibabacloud_iot20180120, and the
older aliyun-python-sdk-core) are the reference: where they and we disagree, we are wrong. A seeded
generator builds a few hundred inputs full of reserved characters, non-ASCII text, empty and long
values; tests/tools' `ota-sign-vectors` prints what our C++ signer computes for each, and every
result must equal the SDK's.

Run with the project venv (it holds the pinned SDKs), after building the CLI:
    cmake --build <build> --target ota-sign-vectors
    OTA_BUILD_DIR=<build> .venv/bin/python -m pytest tests/e2e/test_signer_differential.py

Known SDK quirk the generator respects: alibabacloud_openapi_util's v3 `get_canonical_query_string`
percent-encodes query *values* but not *names*; the documented algorithm encodes both. API parameter
names are plain ASCII words, where the two agree, so v3 query names are drawn from unreserved
characters only (v1 names get the full range: both SDKs encode them).
"""

import io
import json
import os
import random
import string
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
from Tea.core import TeaCore
from Tea.request import TeaRequest
from Tea.response import TeaResponse
from alibabacloud_iot20180120 import models as iot_models
from alibabacloud_iot20180120.client import Client as IotClient
from alibabacloud_openapi_util import client as openapi_util_module
from alibabacloud_openapi_util.client import Client as OpenApiUtil
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_util import models as util_models
from alibabacloud_tea_util.client import Client as TeaUtil
from aliyunsdkcore.auth.composer import rpc_signature_composer

SEED = 20180120
CASES = 300
REQUEST_CASES = 100
ACS3 = "ACS3-HMAC-SHA256"

# aliyun-python-sdk-core keeps its v1 steps module-private; they are still the reference.
legacy_string_to_sign = getattr(rpc_signature_composer, "__compose_string_to_sign")
legacy_signature = getattr(rpc_signature_composer, "__get_signature")


# --- The CLI under test.


def cli_path() -> Path:
    build = Path(os.environ.get("OTA_BUILD_DIR", "/work/main/build"))
    path = build / "tests" / "tools" / "ota-sign-vectors"
    if not path.is_file():
        pytest.fail(f"{path} not found: build it with "
                    f"`cmake --build {build} --target ota-sign-vectors` or set OTA_BUILD_DIR")
    return path


def run_cli(requests: list[dict]) -> list[dict]:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    done = subprocess.run([str(cli_path())], input=lines.encode("utf-8"), capture_output=True,
                          timeout=120, check=True)
    answers = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert len(answers) == len(requests), done.stderr.decode("utf-8", "replace")
    for request, answer in zip(requests, answers):
        assert "error" not in answer, (answer["error"], request.get("kind"))
    return answers


def first_mismatches(mismatches: list, limit: int = 3) -> str:
    return f"{len(mismatches)} mismatches; first: " + json.dumps(mismatches[:limit],
                                                                 ensure_ascii=False, indent=1)


# --- Seeded inputs.

RESERVED = " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}~-_."
UNICODE = "中文é日本語ßü€ñÅ한국어😀🚀\u0301\u200b"
UNRESERVED = string.ascii_letters + string.digits + "-_.~"


def random_text(rng: random.Random, alphabet_kind: str = "any") -> str:
    roll = rng.random()
    if roll < 0.08:
        return ""
    length = rng.randint(200, 1500) if roll > 0.95 else rng.randint(1, 24)
    if alphabet_kind == "unreserved":
        return "".join(rng.choice(UNRESERVED) for _ in range(length))
    if alphabet_kind == "header":
        # Printable ASCII and some non-ASCII letters inside; spaces/tabs at the edges get trimmed.
        inner = "".join(rng.choice(string.ascii_letters + string.digits + RESERVED + "éü中")
                        for _ in range(length))
        return rng.choice(["", " ", "\t ", "  "]) + inner + rng.choice(["", " ", " \t"])
    chars = []
    for _ in range(length):
        pick = rng.random()
        if pick < 0.35:
            chars.append(rng.choice(string.ascii_letters + string.digits))
        elif pick < 0.65:
            chars.append(rng.choice(RESERVED))
        elif pick < 0.85:
            chars.append(rng.choice(UNICODE))
        elif pick < 0.95:
            chars.append(chr(rng.randint(0x80, 0xD7FF)))  # BMP without surrogates
        else:
            chars.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(chars)


def random_params(rng: random.Random, name_kind: str) -> dict[str, str]:
    params = {}
    for _ in range(rng.randint(1, 12)):
        name = random_text(rng, name_kind) or "Name"
        if name == "Signature":
            continue
        params[name] = random_text(rng)
    return params


def random_secret(rng: random.Random, allow_empty: bool = True) -> str:
    if allow_empty and rng.random() < 0.03:
        return ""  # the signing helpers take it; the SDK client refuses it
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30)) + \
        rng.choice(["", "é", "+/="])


def v1_cases() -> list[dict]:
    rng = random.Random(SEED)
    return [{"kind": "v1", "method": rng.choice(["POST", "GET"]),
             "params": random_params(rng, "any"), "secret": random_secret(rng)}
            for _ in range(CASES)]


def v3_cases() -> list[dict]:
    rng = random.Random(SEED + 3)
    cases = []
    for _ in range(CASES):
        headers = {"host": rng.choice(["iot.cn-shanghai.aliyuncs.com", "127.0.0.1:8080"]),
                   "x-acs-action": "CancelOTAStrategyByJob", "x-acs-version": "2018-01-20",
                   "x-acs-date": "2026-01-02T03:04:05Z",
                   "x-acs-signature-nonce": "%032x" % rng.getrandbits(128)}
        for _ in range(rng.randint(0, 4)):
            name = "x-acs-" + "".join(rng.choice(string.ascii_lowercase + "-") for _ in range(6))
            if rng.random() < 0.3:
                name = name.upper()  # both sides lower-case names
            headers[name] = random_text(rng, "header")
        if rng.random() < 0.2:
            headers["content-type"] = "application/x-www-form-urlencoded"
        cases.append({"kind": "v3", "method": rng.choice(["POST", "GET", "PUT"]),
                      "path": rng.choice(["/", "/", "/api/v1/things", "/a-b_c.d~e/"]),
                      "query": random_params(rng, "unreserved"), "headers": headers,
                      "body": random_text(rng) if rng.random() < 0.3 else "",
                      "key_id": "LTAI" + random_secret(rng, False)[:20],
                      "secret": random_secret(rng)})
    return cases


def request_cases() -> list[dict]:
    rng = random.Random(SEED + 7)
    cases = []
    for i in range(REQUEST_CASES):
        params = {"JobId": random_text(rng) if i % 5 else "J1&Action=Other"}
        if rng.random() < 0.5:
            params["IotInstanceId"] = random_text(rng)
        cases.append({
            "kind": "request", "version": "v1" if i % 2 else "v3",
            "action": "CancelOTAStrategyByJob", "api_version": "2018-01-20", "params": params,
            "endpoint": rng.choice(["https://iot.cn-shanghai.aliyuncs.com/",
                                    "http://127.0.0.1:8080"]),
            "key_id": "LTAI" + random_secret(rng, False)[:20],
            "secret": random_secret(rng, False),
            "security_token": random_text(rng) if rng.random() < 0.4 else "",
            "unix_seconds": rng.randint(1_577_836_800, 2_082_758_400),  # 2020 .. 2036
            "nonce": "%032x" % rng.getrandbits(128),
        })
    return cases


@pytest.fixture(scope="module")
def v1_results():
    cases = v1_cases()
    return list(zip(cases, run_cli(cases)))


@pytest.fixture(scope="module")
def v3_results():
    cases = v3_cases()
    return list(zip(cases, run_cli(cases)))


@pytest.fixture(scope="module")
def request_results():
    cases = request_cases()
    return list(zip(cases, run_cli(cases)))


# --- Building blocks.


def test_percent_encoding_matches_sdk():
    rng = random.Random(SEED + 1)
    texts = [random_text(rng) for _ in range(CASES)] + ["", " ", "+", "*", "~", "/", "中文", "é"]
    answers = run_cli([{"kind": "percent_encode", "text": t} for t in texts])
    mismatches = [{"text": t, "ours": a["encoded"], "sdk": OpenApiUtil.get_encode_param(t)}
                  for t, a in zip(texts, answers) if a["encoded"] != OpenApiUtil.get_encode_param(t)]
    assert not mismatches, first_mismatches(mismatches)


def test_v1_string_to_sign_matches_aliyun_python_sdk_core(v1_results):
    mismatches = []
    for case, ours in v1_results:
        sdk = legacy_string_to_sign(case["method"], dict(case["params"]))
        if ours["string_to_sign"] != sdk:
            mismatches.append({"params": case["params"], "ours": ours["string_to_sign"], "sdk": sdk})
    assert not mismatches, first_mismatches(mismatches)


def test_v1_signature_matches_both_sdks(v1_results):
    mismatches = []
    for case, ours in v1_results:
        tea = OpenApiUtil.get_rpcsignature(dict(case["params"]), case["method"], case["secret"])
        legacy = legacy_signature(legacy_string_to_sign(case["method"], dict(case["params"])),
                                  case["secret"])
        if not ours["signature"] == tea == legacy:
            mismatches.append({"params": case["params"], "ours": ours["signature"], "tea": tea,
                               "legacy": legacy})
    assert not mismatches, first_mismatches(mismatches)


def test_v3_canonical_query_matches_sdk(v3_results):
    mismatches = []
    for case, ours in v3_results:
        sdk = openapi_util_module.get_canonical_query_string(dict(case["query"]))
        if ours["canonical_query"] != sdk:
            mismatches.append({"query": case["query"], "ours": ours["canonical_query"], "sdk": sdk})
    assert not mismatches, first_mismatches(mismatches)


def test_v3_authorization_matches_sdk(v3_results):
    mismatches = []
    for case, ours in v3_results:
        request = TeaRequest()
        request.method = case["method"]
        request.pathname = case["path"]
        request.query = dict(case["query"])
        request.headers = dict(case["headers"])
        payload = OpenApiUtil.hex_encode(OpenApiUtil.hash(case["body"].encode("utf-8"), ACS3))
        sdk = OpenApiUtil.get_authorization(request, ACS3, payload, case["key_id"], case["secret"])
        if ours["authorization"] != sdk:
            mismatches.append({"case": case, "ours": ours["authorization"], "sdk": sdk,
                               "canonical_request": ours["canonical_request"]})
    assert not mismatches, first_mismatches(mismatches, 1)


# --- Whole requests: what SignRpcCall sends against what the official IoT client sends.


def capture_sdk_request(case: dict, signature_algorithm: str | None, monkeypatch) -> TeaRequest:
    """Runs the official IoT client's CancelOTAStrategyByJob with the case's time, nonce and
    credentials, and returns the request it would have put on the wire."""
    captured = []

    def fake_do_action(request, runtime=None):
        captured.append(request)
        response = TeaResponse()
        response.status_code = 200
        response.headers = {}
        response.body = io.BytesIO(b'{"RequestId":"R","Success":true}')
        return response

    timestamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(case["unix_seconds"]))
    monkeypatch.setattr(TeaCore, "do_action", staticmethod(fake_do_action))
    monkeypatch.setattr(TeaUtil, "get_nonce", staticmethod(lambda: case["nonce"]))
    monkeypatch.setattr(OpenApiUtil, "get_timestamp", staticmethod(lambda: timestamp))
    endpoint = urllib.parse.urlsplit(case["endpoint"])
    config = open_api_models.Config(access_key_id=case["key_id"], access_key_secret=case["secret"],
                                    security_token=case["security_token"] or None,
                                    endpoint=endpoint.netloc, protocol=endpoint.scheme)
    if signature_algorithm:
        config.signature_algorithm = signature_algorithm
    client = IotClient(config)
    request = iot_models.CancelOTAStrategyByJobRequest(
        job_id=case["params"]["JobId"], iot_instance_id=case["params"].get("IotInstanceId"))
    client.cancel_otastrategy_by_job_with_options(request, util_models.RuntimeOptions())
    assert len(captured) == 1
    return captured[0]


def our_query(url: str) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True,
                                   strict_parsing=False, errors="strict")
    query = dict(pairs)
    assert len(query) == len(pairs), f"a parameter appears twice in {url}"
    return query


def test_v3_request_matches_official_iot_client(request_results, monkeypatch):
    mismatches = []
    for case, ours in request_results:
        if case["version"] != "v3":
            continue
        sdk = capture_sdk_request(case, None, monkeypatch)
        headers = dict(ours["headers"])
        signed = {k: v for k, v in headers.items() if k == "host" or k.startswith("x-acs-")}
        problems = []
        if (ours["method"], ours["body"]) != (sdk.method, sdk.body or ""):
            problems.append("method/body")
        if urllib.parse.urlsplit(ours["url"]).path != sdk.pathname:
            problems.append("path")
        if our_query(ours["url"]) != sdk.query:
            problems.append("query")
        if any(sdk.headers.get(k) != v for k, v in signed.items()):
            problems.append("header values")
        # What the SDK sends beyond ours is only what no server needs from us.
        extra = set(sdk.headers) - set(headers) - {"Authorization", "x-acs-credentials-provider",
                                                   "user-agent"}
        if extra:
            problems.append(f"SDK sends headers we don't: {sorted(extra)}")
        # The SDK signs every header it sends; re-sign its request over just the headers we sign
        # and it must produce our Authorization.
        resigned = TeaRequest()
        resigned.method, resigned.pathname, resigned.query = sdk.method, sdk.pathname, sdk.query
        resigned.headers = {k: v for k, v in sdk.headers.items() if k in signed}
        sdk_authorization = OpenApiUtil.get_authorization(
            resigned, ACS3, sdk.headers["x-acs-content-sha256"], case["key_id"], case["secret"])
        if headers.get("authorization") != sdk_authorization:
            problems.append("authorization")
        if problems:
            mismatches.append({"case": case, "problems": problems, "ours": ours,
                               "sdk_query": sdk.query, "sdk_headers": sdk.headers})
    assert not mismatches, first_mismatches(mismatches, 1)


def test_v3_sdk_authorization_is_reproduced_by_our_signer(request_results, monkeypatch):
    """Our Acs3Sign, given exactly the headers the SDK signed, yields the SDK's Authorization."""
    cases, sdk_requests = [], []
    for case, _ in request_results:
        if case["version"] != "v3":
            continue
        sdk = capture_sdk_request(case, None, monkeypatch)
        sdk_requests.append(sdk)
        cases.append({"kind": "v3", "method": sdk.method, "path": sdk.pathname, "query": sdk.query,
                      "headers": {k: v for k, v in sdk.headers.items() if k != "Authorization"},
                      "body": "", "key_id": case["key_id"], "secret": case["secret"]})
    mismatches = [{"sdk": sdk.headers["Authorization"], "ours": ours["authorization"]}
                  for sdk, ours in zip(sdk_requests, run_cli(cases))
                  if ours["authorization"] != sdk.headers["Authorization"]]
    assert not mismatches, first_mismatches(mismatches)


def test_v1_request_matches_official_iot_client(request_results, monkeypatch):
    mismatches = []
    for case, ours in request_results:
        if case["version"] != "v1":
            continue
        # signature_algorithm "v2" is how tea_openapi selects its HMAC-SHA1 RPC path.
        sdk = capture_sdk_request(case, "v2", monkeypatch)
        query = our_query(ours["url"])
        signature = query.pop("Signature", None)
        sdk_query = dict(sdk.query)
        sdk_query.pop("Signature")
        problems = []
        if (ours["method"], ours["body"]) != (sdk.method, sdk.body or ""):
            problems.append("method/body")
        # The one deliberate difference: Format=JSON as documented (tea_openapi sends "json").
        if query.get("Format") != "JSON" or sdk_query.get("Format") != "json":
            problems.append("Format")
        if {k: v for k, v in query.items() if k != "Format"} != \
                {k: v for k, v in sdk_query.items() if k != "Format"}:
            problems.append("query")
        if signature != OpenApiUtil.get_rpcsignature(query, "POST", case["secret"]):
            problems.append("signature")
        headers = dict(ours["headers"])
        for name in ("host", "x-acs-action", "x-acs-version"):
            if headers.get(name) != sdk.headers.get(name):
                problems.append(name)
        if problems:
            mismatches.append({"case": case, "problems": problems, "ours": ours,
                               "sdk_query": sdk.query})
    assert not mismatches, first_mismatches(mismatches, 1)


def test_v1_sdk_signature_is_reproduced_by_our_signer(request_results, monkeypatch):
    """Our V1StringToSign/V1Signature over exactly the SDK's parameters yield the SDK's Signature."""
    cases, sdk_requests = [], []
    for case, _ in request_results:
        if case["version"] != "v1":
            continue
        sdk = capture_sdk_request(case, "v2", monkeypatch)
        sdk_requests.append(sdk)
        params = {k: v for k, v in sdk.query.items() if k != "Signature"}
        cases.append({"kind": "v1", "method": sdk.method, "params": params,
                      "secret": case["secret"]})
    mismatches = [{"sdk": sdk.query["Signature"], "ours": ours["signature"]}
                  for sdk, ours in zip(sdk_requests, run_cli(cases))
                  if ours["signature"] != sdk.query["Signature"]]
    assert not mismatches, first_mismatches(mismatches)


def test_injected_job_id_stays_one_value(request_results):
    hostile = [(c, o) for c, o in request_results if c["params"]["JobId"] == "J1&Action=Other"]
    assert hostile
    for case, ours in hostile:
        query = our_query(ours["url"])
        assert query["JobId"] == "J1&Action=Other"
        if case["version"] == "v1":
            assert query["Action"] == "CancelOTAStrategyByJob"
        else:
            assert "Action" not in query
            assert dict(ours["headers"])["x-acs-action"] == "CancelOTAStrategyByJob"
