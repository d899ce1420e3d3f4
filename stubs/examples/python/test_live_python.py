"""Live calls to a running ota-gateway through the ota-gateway-client wheel, installed from a
PyPI-compatible index; ErrorInfo is compared with the package's generated constants.

Started by stubs/tests/test_live_stubs.py, which runs the gateway and the iot-emulator and passes:
  OTA_TARGET          gateway host:port
  OTA_LIMITED_TARGET  a second gateway started with --qps=1 --burst=1
  OTA_DYNAMIC_JOB     a dynamic batch the emulator knows (cancelled by the success case)
  OTA_LIMITED_JOB     a dynamic batch for the first call to the limited gateway
"""
import os

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ota_gateway_client.v1 import errors
from ota_gateway_client.v1 import ota_strategy_service_pb2 as ota_pb
from ota_gateway_client.v1 import ota_strategy_service_pb2_grpc as ota_grpc


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this through stubs/test.sh")
    return value


def stub(target):
    channel = grpc.insecure_channel(target)
    return ota_grpc.OtaStrategyServiceStub(channel)


def details(error):
    """The google.rpc details of a failed call, by type."""
    status = rpc_status.from_call(error)
    assert status is not None, "the gateway sent no google.rpc.Status details"
    assert status.code == error.code().value[0]
    found = {}
    for any_detail in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo,
                     error_details_pb2.BadRequest):
            if any_detail.Is(kind.DESCRIPTOR):
                message = kind()
                any_detail.Unpack(message)
                found[kind.__name__] = message
    return found


def call_error(target, request, timeout=10):
    with pytest.raises(grpc.RpcError) as raised:
        stub(target).CancelByJob(request, timeout=timeout)
    return raised.value


def test_success_returns_a_request_id_and_the_outcome():
    request = ota_pb.CancelByJobRequest(job_id=env("OTA_DYNAMIC_JOB"))
    response = stub(env("OTA_TARGET")).CancelByJob(request, timeout=10)
    assert response.request_id
    assert response.outcome == ota_pb.CANCEL_OUTCOME_CANCELLED
    # Cancelling again is idempotent: OK, already cancelled, with the original RequestId.
    again = stub(env("OTA_TARGET")).CancelByJob(request, timeout=10)
    assert again.outcome == ota_pb.CANCEL_OUTCOME_ALREADY_CANCELLED
    assert again.request_id == response.request_id


def test_unknown_job_is_not_found_with_alibaba_code():
    error = call_error(env("OTA_TARGET"), ota_pb.CancelByJobRequest(job_id="NO-SUCH-JOB-PY"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    info = details(error)["ErrorInfo"]
    assert (info.reason, info.domain) == (errors.REASON_JOB_NOT_FOUND, errors.DOMAIN_ALIBABA_IOT)
    assert info.metadata["alibaba_code"] == "iot.ota.OtaJobNotExist"
    assert info.metadata["alibaba_request_id"]


def test_malformed_job_id_is_invalid_argument_naming_the_field():
    error = call_error(env("OTA_TARGET"), ota_pb.CancelByJobRequest(job_id="bad id!"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = details(error)
    assert found["ErrorInfo"].domain == errors.DOMAIN_GATEWAY
    assert found["ErrorInfo"].reason == errors.REASON_INVALID_JOB_ID
    assert found["ErrorInfo"].reason in errors.ALL_REASONS
    assert [v.field for v in found["BadRequest"].field_violations] == ["job_id"]


def test_exhausted_quota_is_resource_exhausted_with_retry_info():
    target = env("OTA_LIMITED_TARGET")
    first = stub(target).CancelByJob(ota_pb.CancelByJobRequest(job_id=env("OTA_LIMITED_JOB")),
                                     timeout=10)
    assert first.request_id
    error = call_error(target, ota_pb.CancelByJobRequest(job_id="ANY-JOB-PY"), timeout=0.3)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details(error)
    assert found["ErrorInfo"].reason == errors.REASON_RATE_LIMITED
    delay = found["RetryInfo"].retry_delay
    assert delay.seconds > 0 or delay.nanos > 0


def test_tls_mtls_and_bearer_token_as_the_readme_shows():
    # typed_usage.secure_channel is the README's TLS + mTLS + token code; the test put ca.pem,
    # client.pem and client-key.pem where it runs. The gateway knows the callers by token only.
    from typed_usage import secure_channel

    target = env("OTA_SECURE_TARGET")
    request = ota_pb.CancelByJobRequest(job_id=env("OTA_SECURE_JOB"))
    reply = ota_grpc.OtaStrategyServiceStub(secure_channel(target, env("OTA_TOKEN"))).CancelByJob(
        request, timeout=10)
    assert reply.request_id
    for token, code, reason in (
            (env("OTA_LIMITED_TOKEN"), grpc.StatusCode.PERMISSION_DENIED, errors.REASON_CALLER_NOT_ALLOWED),
            (env("OTA_WRONG_TOKEN"), grpc.StatusCode.UNAUTHENTICATED, errors.REASON_CALLER_UNAUTHENTICATED)):
        with pytest.raises(grpc.RpcError) as raised:
            ota_grpc.OtaStrategyServiceStub(secure_channel(target, token)).CancelByJob(request, timeout=10)
        assert raised.value.code() == code
        info = details(raised.value)["ErrorInfo"]
        assert (info.reason, info.domain) == (reason, errors.DOMAIN_GATEWAY)
