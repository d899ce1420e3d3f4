"""Live calls to a running ota-gateway through the ota-gateway-client wheel, installed from a
PyPI-compatible index; ErrorInfo is compared with the package's generated constants.

Started by stubs/tests/test_live_stubs.py, which runs the gateway and the iot-emulator and passes:
  OTA_TARGET          gateway host:port
  OTA_LIMITED_TARGET  a second gateway started with --qps=1 --burst=1
  OTA_DYNAMIC_JOB     a dynamic batch the emulator knows (cancelled by the success case)
  OTA_LIMITED_JOB     a dynamic batch for the first call to the limited gateway
  OTA_FIRMWARE_ID     a firmware the emulator lists OTA_FIRMWARE_JOB_COUNT batches of: its
                      OTA_FIRMWARE_STATIC_JOB (static), OTA_FIRMWARE_FINISHED_JOB (completed) and
                      dynamic ones, planned or in progress
"""
import os
from datetime import datetime, timedelta, timezone

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


def test_list_jobs_by_firmware_pages_through_every_batch():
    # typed_usage.list_pages is the README's paging loop: 10 a page, next_page_token back as
    # page_token until it is empty.
    from typed_usage import cancellable_jobs, created_at, list_pages

    firmware = env("OTA_FIRMWARE_ID")
    count = int(env("OTA_FIRMWARE_JOB_COUNT"))
    pages = list(list_pages(grpc.insecure_channel(env("OTA_TARGET")), firmware, page_size=10))
    assert [len(page.jobs) for page in pages] == [min(10, count - n) for n in range(0, count, 10)]
    assert [page.total_size for page in pages] == [count] * len(pages)
    assert all(page.next_page_token for page in pages[:-1]) and not pages[-1].next_page_token
    jobs = {job.job_id: job for page in pages for job in page.jobs}
    assert len(jobs) == count  # no batch twice across pages

    static, finished = env("OTA_FIRMWARE_STATIC_JOB"), env("OTA_FIRMWARE_FINISHED_JOB")
    assert jobs[static].selection_type == ota_pb.SELECTION_TYPE_STATIC
    assert jobs[finished].job_status == ota_pb.JOB_STATUS_COMPLETED
    dynamic = sorted(set(jobs) - {static, finished})
    for job_id in dynamic:
        assert jobs[job_id].selection_type == ota_pb.SELECTION_TYPE_DYNAMIC, jobs[job_id]
        assert jobs[job_id].job_status in (ota_pb.JOB_STATUS_PLANNED,
                                           ota_pb.JOB_STATUS_IN_PROGRESS), jobs[job_id]
    now = datetime.now(timezone.utc)
    for job in jobs.values():
        assert job.firmware_id == firmware
        assert job.job_type != ota_pb.JOB_TYPE_UNSPECIFIED, job
        created = created_at(job)  # google.protobuf.Timestamp, decoded by protobuf's own runtime
        assert created is not None and now - timedelta(days=3650) < created <= now, job
        if job.HasField("update_time"):
            assert job.update_time.ToDatetime(tzinfo=timezone.utc) >= created, job
    # The README's filter, over the gateway's default page size (one page).
    assert sorted(cancellable_jobs(grpc.insecure_channel(env("OTA_TARGET")), firmware)) == dynamic


def test_list_jobs_by_firmware_errors_and_an_unknown_firmware():
    target = env("OTA_TARGET")
    unknown = stub(target).ListJobsByFirmware(
        ota_pb.ListJobsByFirmwareRequest(firmware_id="NO-SUCH-FIRMWARE-PY"), timeout=10)
    assert (list(unknown.jobs), unknown.next_page_token) == ([], "")

    with pytest.raises(grpc.RpcError) as raised:
        stub(target).ListJobsByFirmware(ota_pb.ListJobsByFirmwareRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = details(raised.value)
    assert (found["ErrorInfo"].reason, found["ErrorInfo"].domain) == (
        errors.REASON_INVALID_FIRMWARE_ID, errors.DOMAIN_GATEWAY)
    assert [v.field for v in found["BadRequest"].field_violations] == ["firmware_id"]

    # A page token is only good with the request fields of the call that returned it.
    request = ota_pb.ListJobsByFirmwareRequest(firmware_id=env("OTA_FIRMWARE_ID"), page_size=10)
    first = stub(target).ListJobsByFirmware(request, timeout=10)
    assert first.next_page_token
    request.page_token, request.page_size = first.next_page_token, 5
    with pytest.raises(grpc.RpcError) as raised:
        stub(target).ListJobsByFirmware(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(raised.value)["ErrorInfo"].reason == errors.REASON_INVALID_PAGE_TOKEN
