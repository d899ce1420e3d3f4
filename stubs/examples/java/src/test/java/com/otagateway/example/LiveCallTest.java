// Live calls to a running ota-gateway through the com.otagateway:ota-gateway-client jar, resolved from
// a Maven repository; ErrorInfo is compared with the package's generated ErrorInfoConstants.
//
// Started by stubs/tests/test_live_stubs.py, which runs the gateway and the iot-emulator and sets
// OTA_TARGET, OTA_LIMITED_TARGET (a gateway with --qps=1 --burst=1), OTA_DYNAMIC_JOB and
// OTA_LIMITED_JOB (dynamic batches the emulator knows), and OTA_FIRMWARE_ID, a firmware the emulator
// lists OTA_FIRMWARE_JOB_COUNT batches of: OTA_FIRMWARE_STATIC_JOB (static),
// OTA_FIRMWARE_FINISHED_JOB (completed) and dynamic ones, planned or in progress.
package com.otagateway.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import com.otagateway.ota.v1.CancelByJobRequest;
import com.otagateway.ota.v1.CancelByJobResponse;
import com.otagateway.ota.v1.CancelOutcome;
import com.otagateway.ota.v1.ErrorInfoConstants;
import com.otagateway.ota.v1.JobStatus;
import com.otagateway.ota.v1.JobType;
import com.otagateway.ota.v1.ListJobsByFirmwareRequest;
import com.otagateway.ota.v1.ListJobsByFirmwareResponse;
import com.otagateway.ota.v1.OtaJob;
import com.otagateway.ota.v1.OtaStrategyServiceGrpc;
import com.otagateway.ota.v1.SelectionType;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LiveCallTest {
  private final List<ManagedChannel> channels = new ArrayList<>();

  private static String env(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      fail(name + " is not set: run this through stubs/test.sh");
    }
    return value;
  }

  private OtaStrategyServiceGrpc.OtaStrategyServiceBlockingStub stub(String target) {
    ManagedChannel channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    channels.add(channel);
    return OtaStrategyServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void closeChannels() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private CancelByJobResponse cancel(String target, String jobId, long timeoutMillis) {
    return stub(target)
        .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
        .cancelByJob(CancelByJobRequest.newBuilder().setJobId(jobId).build());
  }

  /** The google.rpc.Status a failed call carried, with its code checked against the call's. */
  private static com.google.rpc.Status richStatus(StatusRuntimeException error) {
    com.google.rpc.Status status = StatusProto.fromThrowable(error);
    assertNotNull(status, "the gateway sent no google.rpc.Status details");
    assertEquals(error.getStatus().getCode().value(), status.getCode());
    return status;
  }

  private static <T extends com.google.protobuf.Message> T detail(
      com.google.rpc.Status status, Class<T> type) throws InvalidProtocolBufferException {
    for (Any any : status.getDetailsList()) {
      if (any.is(type)) {
        return any.unpack(type);
      }
    }
    fail("no " + type.getSimpleName() + " in " + status);
    return null;
  }

  @Test
  void successReturnsARequestId() {
    CancelByJobResponse response = cancel(env("OTA_TARGET"), env("OTA_DYNAMIC_JOB"), 10_000);
    assertFalse(response.getRequestId().isEmpty());
    assertEquals(CancelOutcome.CANCEL_OUTCOME_CANCELLED, response.getOutcome());
    // Cancelling again is idempotent: OK, already cancelled, with the original RequestId.
    CancelByJobResponse again = cancel(env("OTA_TARGET"), env("OTA_DYNAMIC_JOB"), 10_000);
    assertEquals(CancelOutcome.CANCEL_OUTCOME_ALREADY_CANCELLED, again.getOutcome());
    assertEquals(response.getRequestId(), again.getRequestId());
  }

  @Test
  void unknownJobIsNotFoundWithAlibabaCode() throws InvalidProtocolBufferException {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> cancel(env("OTA_TARGET"), "NO-SUCH-JOB-JAVA", 10_000));
    assertEquals(Status.Code.NOT_FOUND, error.getStatus().getCode());
    ErrorInfo info = detail(richStatus(error), ErrorInfo.class);
    assertEquals(ErrorInfoConstants.REASON_JOB_NOT_FOUND, info.getReason());
    assertEquals(ErrorInfoConstants.DOMAIN_ALIBABA_IOT, info.getDomain());
    assertEquals("iot.ota.OtaJobNotExist", info.getMetadataOrDefault("alibaba_code", ""));
    assertFalse(info.getMetadataOrDefault("alibaba_request_id", "").isEmpty());
  }

  @Test
  void malformedJobIdIsInvalidArgumentNamingTheField() throws InvalidProtocolBufferException {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> cancel(env("OTA_TARGET"), "bad id!", 10_000));
    assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode());
    com.google.rpc.Status status = richStatus(error);
    ErrorInfo info = detail(status, ErrorInfo.class);
    assertEquals(ErrorInfoConstants.DOMAIN_GATEWAY, info.getDomain());
    assertEquals(ErrorInfoConstants.REASON_INVALID_JOB_ID, info.getReason());
    assertTrue(ErrorInfoConstants.ALL_REASONS.contains(info.getReason()));
    BadRequest badRequest = detail(status, BadRequest.class);
    assertEquals(1, badRequest.getFieldViolationsCount());
    assertEquals("job_id", badRequest.getFieldViolations(0).getField());
  }

  @Test
  void exhaustedQuotaIsResourceExhaustedWithRetryInfo() throws InvalidProtocolBufferException {
    String target = env("OTA_LIMITED_TARGET");
    assertFalse(cancel(target, env("OTA_LIMITED_JOB"), 10_000).getRequestId().isEmpty());
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> cancel(target, "ANY-JOB-JAVA", 300));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, error.getStatus().getCode());
    com.google.rpc.Status status = richStatus(error);
    assertEquals(ErrorInfoConstants.REASON_RATE_LIMITED, detail(status, ErrorInfo.class).getReason());
    RetryInfo retry = detail(status, RetryInfo.class);
    assertTrue(retry.getRetryDelay().getSeconds() > 0 || retry.getRetryDelay().getNanos() > 0);
  }

  /**
   * Calls through ReadmeUsage, the README's TLS + mTLS + token code; the test put ca.pem, client.pem
   * and client-key.pem in the project folder. The gateway knows the callers by token only.
   */
  @Test
  void tlsMtlsAndBearerTokenAsTheReadmeShows() throws Exception {
    ManagedChannel channel = ReadmeUsage.secure(env("OTA_SECURE_TARGET"));
    channels.add(channel);
    CancelByJobRequest request = CancelByJobRequest.newBuilder().setJobId(env("OTA_SECURE_JOB")).build();
    assertFalse(ReadmeUsage.stub(channel, env("OTA_TOKEN")).withDeadlineAfter(10, TimeUnit.SECONDS)
        .cancelByJob(request).getRequestId().isEmpty());
    String[][] refused = {
      {env("OTA_LIMITED_TOKEN"), "PERMISSION_DENIED", ErrorInfoConstants.REASON_CALLER_NOT_ALLOWED},
      {env("OTA_WRONG_TOKEN"), "UNAUTHENTICATED", ErrorInfoConstants.REASON_CALLER_UNAUTHENTICATED},
    };
    for (String[] call : refused) {
      StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
          () -> ReadmeUsage.stub(channel, call[0]).withDeadlineAfter(10, TimeUnit.SECONDS)
              .cancelByJob(request));
      assertEquals(Status.Code.valueOf(call[1]), error.getStatus().getCode());
      ErrorInfo info = detail(richStatus(error), ErrorInfo.class);
      assertEquals(call[2], info.getReason());
      assertEquals(ErrorInfoConstants.DOMAIN_GATEWAY, info.getDomain());
    }
  }

  /** 10 batches a page, by hand and through ReadmeUsage.listAllJobs (the README's loop). */
  @Test
  void listJobsByFirmwarePagesThroughEveryBatch() {
    String firmware = env("OTA_FIRMWARE_ID");
    int count = Integer.parseInt(env("OTA_FIRMWARE_JOB_COUNT"));
    OtaStrategyServiceGrpc.OtaStrategyServiceBlockingStub stub = stub(env("OTA_TARGET"));
    ListJobsByFirmwareRequest.Builder request =
        ListJobsByFirmwareRequest.newBuilder().setFirmwareId(firmware).setPageSize(10);
    Map<String, OtaJob> jobs = new HashMap<>();
    for (int read = 0; ; ) {
      ListJobsByFirmwareResponse page =
          stub.withDeadlineAfter(10, TimeUnit.SECONDS).listJobsByFirmware(request.build());
      assertEquals(Math.min(10, count - read), page.getJobsCount(), "page after " + read);
      assertEquals(count, page.getTotalSize());
      page.getJobsList().forEach(job -> jobs.put(job.getJobId(), job));
      read += page.getJobsCount();
      assertEquals(read == count, page.getNextPageToken().isEmpty(), "after " + read);
      if (read == count) {
        break;
      }
      request.setPageToken(page.getNextPageToken());
    }
    assertEquals(count, jobs.size(), "distinct batches");

    String staticJob = env("OTA_FIRMWARE_STATIC_JOB");
    String finishedJob = env("OTA_FIRMWARE_FINISHED_JOB");
    assertEquals(SelectionType.SELECTION_TYPE_STATIC, jobs.get(staticJob).getSelectionType());
    assertEquals(JobStatus.JOB_STATUS_COMPLETED, jobs.get(finishedJob).getJobStatus());
    Set<String> dynamic = new TreeSet<>(jobs.keySet());
    dynamic.removeAll(Set.of(staticJob, finishedJob));
    Instant now = Instant.now();
    for (OtaJob job : jobs.values()) {
      assertEquals(firmware, job.getFirmwareId());
      assertTrue(job.getJobType() != JobType.JOB_TYPE_UNSPECIFIED, job.toString());
      // google.protobuf.Timestamp from protobuf-java, read through the README's createdAt.
      Instant created = ReadmeUsage.createdAt(job).orElseThrow();
      assertTrue(created.isAfter(now.minus(Duration.ofDays(3650))) && !created.isAfter(now),
          job.getJobId() + " created " + created);
      if (job.hasUpdateTime()) {
        assertTrue(job.getUpdateTime().getSeconds() >= job.getCreateTime().getSeconds(), job.toString());
      }
    }

    List<OtaJob> all = ReadmeUsage.listAllJobs(stub, firmware, 0);
    assertEquals(count, all.size());
    Set<String> cancellable = new TreeSet<>();
    ReadmeUsage.cancellable(all).forEach(job -> cancellable.add(job.getJobId()));
    assertEquals(dynamic, cancellable);
  }

  @Test
  void listJobsByFirmwareWithoutFirmwareIsInvalidArgument() throws InvalidProtocolBufferException {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> stub(env("OTA_TARGET")).withDeadlineAfter(10, TimeUnit.SECONDS)
            .listJobsByFirmware(ListJobsByFirmwareRequest.getDefaultInstance()));
    assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode());
    com.google.rpc.Status status = richStatus(error);
    ErrorInfo info = detail(status, ErrorInfo.class);
    assertEquals(ErrorInfoConstants.REASON_INVALID_FIRMWARE_ID, info.getReason());
    assertEquals(ErrorInfoConstants.DOMAIN_GATEWAY, info.getDomain());
    BadRequest badRequest = detail(status, BadRequest.class);
    assertEquals(1, badRequest.getFieldViolationsCount());
    assertEquals("firmware_id", badRequest.getFieldViolations(0).getField());
  }
}
