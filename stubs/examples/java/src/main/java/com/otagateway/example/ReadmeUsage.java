// The README's connection code, compiled by `mvn test` in stubs/test.sh so it cannot drift from the
// grpc-java API; the live calls are in LiveCallTest.
package com.otagateway.example;

import com.google.protobuf.Timestamp;
import com.otagateway.ota.v1.JobStatus;
import com.otagateway.ota.v1.ListJobsByFirmwareRequest;
import com.otagateway.ota.v1.ListJobsByFirmwareResponse;
import com.otagateway.ota.v1.OtaJob;
import com.otagateway.ota.v1.OtaStrategyServiceGrpc;
import com.otagateway.ota.v1.SelectionType;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

final class ReadmeUsage {
  private ReadmeUsage() {}

  /** Local tests only: a gateway started with --plaintext. */
  static ManagedChannel plaintext(String target) {
    return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
  }

  /** TLS with the company CA, and mTLS with the caller's certificate and key. */
  static ManagedChannel secure(String target) throws IOException {
    ChannelCredentials tls = TlsChannelCredentials.newBuilder()
        .trustManager(new File("ca.pem"))
        .keyManager(new File("client.pem"), new File("client-key.pem")) // mTLS only
        .build();
    return Grpc.newChannelBuilder(target, tls).build();
  }

  /** Sends `authorization: Bearer <token>` with every call (gRPC sends it over TLS only). */
  static final class BearerToken extends CallCredentials {
    private static final Metadata.Key<String> AUTHORIZATION =
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final String token;

    BearerToken(String token) {
      this.token = token;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + token);
      applier.apply(headers);
    }
  }

  static OtaStrategyServiceGrpc.OtaStrategyServiceBlockingStub stub(ManagedChannel channel,
      String token) {
    return OtaStrategyServiceGrpc.newBlockingStub(channel).withCallCredentials(new BearerToken(token));
  }

  /**
   * Every page of a firmware's batches (AIP-158): each answer's next_page_token goes back as
   * page_token, the other fields unchanged, until it is empty. pageSize 0: the gateway's 50.
   */
  static List<OtaJob> listAllJobs(OtaStrategyServiceGrpc.OtaStrategyServiceBlockingStub stub,
      String firmwareId, int pageSize) {
    ListJobsByFirmwareRequest.Builder request =
        ListJobsByFirmwareRequest.newBuilder().setFirmwareId(firmwareId).setPageSize(pageSize);
    List<OtaJob> jobs = new ArrayList<>();
    while (true) {
      ListJobsByFirmwareResponse page = stub.withDeadlineAfter(10, TimeUnit.SECONDS) // per page
          .listJobsByFirmware(request.build());
      jobs.addAll(page.getJobsList());
      if (page.getNextPageToken().isEmpty()) {
        return jobs;
      }
      request.setPageToken(page.getNextPageToken());
    }
  }

  /** The batches CancelByJob can cancel: dynamic, and planned or in progress. */
  static List<OtaJob> cancellable(List<OtaJob> jobs) {
    List<OtaJob> found = new ArrayList<>();
    for (OtaJob job : jobs) {
      JobStatus status = job.getJobStatus();
      if (job.getSelectionType() == SelectionType.SELECTION_TYPE_DYNAMIC
          && (status == JobStatus.JOB_STATUS_PLANNED || status == JobStatus.JOB_STATUS_IN_PROGRESS)) {
        found.add(job);
      }
    }
    return found;
  }

  /** create_time (google.protobuf.Timestamp) as an Instant; empty when Alibaba did not say. */
  static Optional<Instant> createdAt(OtaJob job) {
    if (!job.hasCreateTime()) {
      return Optional.empty();
    }
    Timestamp time = job.getCreateTime();
    return Optional.of(Instant.ofEpochSecond(time.getSeconds(), time.getNanos()));
  }
}
