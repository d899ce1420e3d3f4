"""The README's usage of ota-gateway-client, type-checked by `mypy --strict` in stubs/test.sh: it
proves the wheel's py.typed marker and .pyi stubs reach a caller's type checker (the test also
checks that mypy rejects a wrongly typed request). Live calls are in test_live_python.py."""
from datetime import datetime, timezone
from typing import Iterator, List, Optional

import grpc
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # no stubs published
from grpc_status import rpc_status

from ota_gateway_client.v1 import errors
from ota_gateway_client.v1 import ota_strategy_service_pb2 as ota_pb
from ota_gateway_client.v1 import ota_strategy_service_pb2_grpc as ota_grpc


def plaintext_channel(target: str) -> grpc.Channel:
    """Local tests only: a gateway started with --plaintext."""
    return grpc.insecure_channel(target)


def secure_channel(target: str, token: Optional[str]) -> grpc.Channel:
    """TLS with the company CA, the caller's certificate (mTLS) and a bearer token."""
    with open("ca.pem", "rb") as ca, open("client-key.pem", "rb") as key, \
            open("client.pem", "rb") as cert:
        tls = grpc.ssl_channel_credentials(root_certificates=ca.read(), private_key=key.read(),
                                           certificate_chain=cert.read())
    if token is None:
        return grpc.secure_channel(target, tls)
    return grpc.secure_channel(target, grpc.composite_channel_credentials(
        tls, grpc.access_token_call_credentials(token)))


def cancel(channel: grpc.Channel, job_id: str) -> Optional[str]:
    """The request_id, or None when the shared quota is exhausted (retry later)."""
    stub = ota_grpc.OtaStrategyServiceStub(channel)
    try:
        reply: ota_pb.CancelByJobResponse = stub.CancelByJob(
            ota_pb.CancelByJobRequest(job_id=job_id), timeout=10)
        return reply.request_id
    except grpc.RpcError as err:
        if not isinstance(err, grpc.Call):  # what gRPC raises is both
            raise
        status = rpc_status.from_call(err)
        for detail in status.details if status else []:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.reason == errors.REASON_RATE_LIMITED:
                return None
        raise


def list_pages(channel: grpc.Channel, firmware_id: str,
               page_size: int = 0) -> Iterator[ota_pb.ListJobsByFirmwareResponse]:
    """Every page of the firmware's batches (AIP-158): each answer's next_page_token goes back as
    page_token, the other fields unchanged, until it is empty. page_size 0: the gateway's 50."""
    stub = ota_grpc.OtaStrategyServiceStub(channel)
    request = ota_pb.ListJobsByFirmwareRequest(firmware_id=firmware_id, page_size=page_size)
    while True:
        page: ota_pb.ListJobsByFirmwareResponse = stub.ListJobsByFirmware(request, timeout=10)
        yield page
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


def created_at(job: ota_pb.OtaJob) -> Optional[datetime]:
    """create_time (a google.protobuf.Timestamp) as an aware datetime; None when the gateway left it
    out because Alibaba did not say (HasField tells that from the epoch)."""
    if not job.HasField("create_time"):
        return None
    return job.create_time.ToDatetime(tzinfo=timezone.utc)


def cancellable_jobs(channel: grpc.Channel, firmware_id: str) -> List[str]:
    """The firmware's batches that CancelByJob can cancel: dynamic, and planned or in progress."""
    return [job.job_id for page in list_pages(channel, firmware_id) for job in page.jobs
            if job.selection_type == ota_pb.SELECTION_TYPE_DYNAMIC
            and job.job_status in (ota_pb.JOB_STATUS_PLANNED, ota_pb.JOB_STATUS_IN_PROGRESS)]
