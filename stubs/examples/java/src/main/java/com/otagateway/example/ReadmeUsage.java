// The README's connection code, compiled by `mvn test` in stubs/test.sh so it cannot drift from the
// grpc-java API; the live calls are in LiveCallTest.
package com.otagateway.example;

import com.otagateway.ota.v1.OtaStrategyServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.io.IOException;
import java.util.concurrent.Executor;

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
}
