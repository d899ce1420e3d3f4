#!/usr/bin/env python3
"""Writes the hand-written seed inputs in fuzz/corpus/<target>/ (run it after changing a harness's
input layout; the files it writes are committed, the fuzzers' own corpora are not).

Three harnesses read their input through libFuzzer's FuzzedDataProvider, which takes strings from
the front of the input and integers/booleans from the back. `Seed` mirrors that so each seed reads
as the values the harness will see.
"""
import base64
import hashlib
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


class Seed:
    """An input for FuzzedDataProvider, built in the order the harness consumes it."""

    def __init__(self):
        self.front = bytearray()
        self.back = bytearray()  # in consumption order; stored reversed at the end of the input

    def string(self, text):
        # ConsumeRandomLengthString: a backslash is doubled; "\\" + another byte ends the string.
        data = text.encode() if isinstance(text, str) else bytes(text)
        self.front += data.replace(b"\\", b"\\\\") + b"\\x"
        return self

    def remaining(self, text):
        self.front += text.encode() if isinstance(text, str) else bytes(text)
        return self

    def boolean(self, value):
        self.back.append(1 if value else 0)
        return self

    def in_range(self, low, high, value, width_bits=64):
        # ConsumeIntegralInRange: one byte per 8 bits of (high - low), most significant first.
        span, offset, count = high - low, value - low, 0
        while count * 8 < width_bits and (span >> (count * 8)) > 0:
            count += 1
        for i in reversed(range(count)):
            self.back.append((offset >> (8 * i)) & 0xFF)
        return self

    def int32(self, value):
        return self.in_range(-(2**31), 2**31 - 1, value, 32)

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.back))


def proto_string(field, text):
    data = text.encode() if isinstance(text, str) else text
    assert len(data) < 128
    return bytes([field << 3 | 2, len(data)]) + data


def write(target, name, data):
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# --- request_validator_fuzzer: a serialized CancelByJobRequest.
write("request_validator", "valid_job", proto_string(1, "job-1_A"))
write("request_validator", "valid_job_and_instance",
      proto_string(1, "7nN7pPBjbVEq6OGxKCDe010200") + proto_string(2, "iot-cn-npk1u******"))
write("request_validator", "bad_characters", proto_string(1, "job 1/../x") + proto_string(2, "é"))
write("request_validator", "too_long", proto_string(1, "j" * 65))
write("request_validator", "instance_only_and_unknown_field",
      proto_string(2, "iot_instc_pu") + bytes([3 << 3 | 0, 42]))


# --- upstream_reply_fuzzer: status, headers, error-map overrides, body.
# --- list_request_fuzzer: a serialized ListJobsByFirmwareRequest (page_token: base64url of
# "1|<page>|<fingerprint>", the fingerprint a SHA-256 prefix of firmware_id NUL instance NUL size).
def proto_varint(field, value):
    key, out = field << 3, bytearray()
    value &= (1 << 64) - 1  # negative int32s are sent as 10-byte varints
    out.append(key)
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def page_token(page, firmware, instance, size):
    fingerprint = hashlib.sha256(f"{firmware}\0{instance}\0{size}".encode()).hexdigest()[:32]
    return base64.urlsafe_b64encode(f"1|{page}|{fingerprint}".encode()).decode().rstrip("=")


write("list_request", "first_page", proto_string(1, "fw-1") + proto_varint(3, 200))
write("list_request", "next_page",
      proto_string(1, "fw-1") + proto_varint(3, 200) + proto_string(4, page_token(2, "fw-1", "", 200)))
write("list_request", "token_of_other_fields",
      proto_string(1, "fw-2") + proto_string(2, "iot-1") + proto_string(4, page_token(3, "fw-1", "", 50)))
write("list_request", "negative_page_size", proto_string(1, "fw-1") + proto_varint(3, -1))
write("list_request", "garbage_token", proto_string(1, "fw 1") + proto_string(4, "!!not-base64!!"))


def reply(status, body, headers=(), overrides=None):
    seed = Seed().boolean(True).in_range(100, 599, status, 32).in_range(0, 4, len(headers), 32)
    for name, value in headers:
        seed.boolean(name == "x-acs-retry-after")
        if name != "x-acs-retry-after":
            seed.string(name)
        seed.string(value)
    seed.boolean(overrides is not None)
    if overrides is not None:
        seed.string(overrides)
    return seed.remaining(body).bytes()


write("upstream_reply", "success", reply(200, '{"RequestId":"E4A0C7A7-1","Success":true}'))
write("upstream_reply", "success_as_string", reply(200, '{"RequestId":"r","Success":"true"}'))
write("upstream_reply", "job_not_found",
      reply(200, '{"RequestId":"r2","Success":false,"Code":"iot.ota.OtaJobNotExist",'
                 '"ErrorMessage":"The OTA job does not exist."}'))
write("upstream_reply", "throttled_with_retry_after",
      reply(400, '{"RequestId":"r3","HostId":"iot.cn-shanghai.aliyuncs.com",'
                 '"Code":"Throttling.User","Message":"Request was denied due to user flow control."}',
            headers=[("x-acs-retry-after", "1500")]))
write("upstream_reply", "signature_mismatch_with_string_to_sign",
      reply(400, '{"RequestId":"r4","Code":"SignatureDoesNotMatch","Message":"Specified signature '
                 'is not matched with our calculation. server string to sign is:POST&%2F&A"}'))
write("upstream_reply", "invalid_job_id_with_override",
      reply(400, '{"RequestId":"r5","Code":"iot.ota.InvalidJobId","Message":"JobId is invalid."}',
            overrides="iot.ota.InvalidJobId=NOT_FOUND\n# comment\n"))
write("upstream_reply", "gateway_html_503", reply(503, "<html><body>503 Service Unavailable</body></html>",
                                                   headers=[("content-type", "text/html")]))

# --- rpc_signer_fuzzer: a case number (0-4), then that case's values.
write("rpc_signer", "percent_encode", Seed().in_range(0, 4, 0).remaining("a b+c*~/&=%\u00e9\x00").bytes())
write("rpc_signer", "v1_canonical_query",
      Seed().in_range(0, 4, 1).in_range(0, 8, 3).string("Action").string("Cancel")
      .string("Signature").string("abc=").string("JobId").string("job 1&x=y").bytes())
write("rpc_signer", "acs3_sign",
      Seed().in_range(0, 4, 2).in_range(0, 6, 1).string("JobId").string("j1")
      .in_range(0, 6, 2).string("Host").string(" iot.example.com ").string("x-acs-action")
      .string("CancelOTAStrategyByJob").string("KEYID").string("secret").remaining("body").bytes())
for version, name in ((True, "sign_rpc_call_v1_sts"), (False, "sign_rpc_call_v3")):
    write("rpc_signer", name,
          Seed().in_range(0, 4, 3).string("CancelOTAStrategyByJob").string("2018-01-20")
          .in_range(0, 6, 2).string("JobId").string("job/1 *").string("IotInstanceId").string("iot-1")
          .string("LTAI5tKEYID").string("tail").boolean(version).string("sts-token")
          .string("0123456789abcdef").in_range(0, 4102444800, 1700000000, 64).boolean(version).bytes())
write("rpc_signer", "endpoint_with_userinfo",
      Seed().in_range(0, 4, 4).string("https://user:").boolean(True)
      .in_range(0, len("https://user:"), len("https://user:")).remaining("@iot.example.com:8443/p").bytes())
write("rpc_signer", "endpoint_ipv6_query",
      Seed().in_range(0, 4, 4).string("http://[::1]:80/x?").boolean(False).remaining("a=b").bytes())


# --- emulator_request_fuzzer: raw requests and signed round trips.
def raw_request(target, headers, body, method="POST"):
    seed = Seed().boolean(False).boolean(method == "POST")
    if method != "POST":
        seed.string(method)
    seed.string(target).in_range(0, 8, len(headers), 32)
    for name, value in headers:
        seed.string(name).string(value)
    return seed.remaining(body).bytes()


write("emulator_request", "raw_v1_get",
      raw_request("/?Action=CancelOTAStrategyByJob&Version=2018-01-20&AccessKeyId=FUZZKEYID0001"
                  "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n1"
                  "&Timestamp=2023-11-14T22%3A13%3A20Z&Signature=abc%3D&JobId=j%u0041+1",
                  [("Host", "127.0.0.1:18080")], "", method="GET"))
write("emulator_request", "raw_v1_form",
      raw_request("/", [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                  "Action=A&Version=V&AccessKeyId=FUZZSTSKEY0002&SecurityToken=t&Signature=s"))
write("emulator_request", "raw_v3",
      raw_request("/?JobId=j1", [("Authorization", "ACS3-HMAC-SHA256 Credential=FUZZKEYID0001,"
                                                   "SignedHeaders=host;x-acs-action,Signature=00"),
                                  ("host", "h"), ("x-acs-action", "A"), ("x-acs-date", "2023-11-14T22:13:20Z"),
                                  ("x-acs-content-sha256", "e3b0")], "body"))
for sts, v1, name in ((False, True, "round_trip_v1"), (True, False, "round_trip_v3_sts")):
    write("emulator_request", name,
          Seed().boolean(True).string("CancelOTAStrategyByJob").string("2018-01-20")
          .in_range(0, 5, 2).string("JobId").string("job 1/é").string("IotInstanceId").string("")
          .boolean(sts).boolean(v1).string("nonce").bytes())
