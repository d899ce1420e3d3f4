#include "bench/health_probe.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <chrono>

#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"

namespace ota {

bool IsServing(const std::string& target) {
  // A fresh channel per probe: a probe must see a server that has only just started listening,
  // not a channel still backing off from the previous refusal.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  grpc::TemplatedGenericStub<grpc::health::v1::HealthCheckRequest,
                             grpc::health::v1::HealthCheckResponse>
      stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  call->Finish(&response, &status, &response);
  void* tag = nullptr;
  bool ok = false;
  (void)cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

bool WaitUntilServing(const std::string& target, absl::Duration limit) {
  const absl::Time give_up = absl::Now() + limit;
  while (absl::Now() < give_up) {
    if (IsServing(target)) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

}  // namespace ota
