#include "bench/ceiling_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "ota/v1/ota_strategy_service.grpc.pb.h"

namespace ota {
namespace {

// The callback API, as ota-gateway uses it, so both run on the same gRPC machinery.
class NoopService final : public ::ota::v1::OtaStrategyService::CallbackService {
  grpc::ServerUnaryReactor* CancelByJob(grpc::CallbackServerContext* context,
                                        const ::ota::v1::CancelByJobRequest* /*request*/,
                                        ::ota::v1::CancelByJobResponse* /*response*/) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Holds every call until its caller cancels it: what gRPC alone costs per waiting call. A call
// without a job id (the waiting-callers scenario's connection warm-up) is answered at once.
class ParkingService final : public ::ota::v1::OtaStrategyService::CallbackService {
  class ParkedCall final : public grpc::ServerUnaryReactor {
   public:
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }
  };

  grpc::ServerUnaryReactor* CancelByJob(grpc::CallbackServerContext* context,
                                        const ::ota::v1::CancelByJobRequest* request,
                                        ::ota::v1::CancelByJobResponse* /*response*/) override {
    if (request->job_id().empty()) {
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "job_id is empty"));
      return reactor;
    }
    return new ParkedCall();  // NOLINT(cppcoreguidelines-owning-memory): deleted in OnDone
  }
};

}  // namespace

int RunCeilingServer(const std::string& listen, bool park) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  NoopService noop;
  ParkingService parking;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(park ? static_cast<grpc::Service*>(&parking) : &noop);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "ceiling-server: cannot listen on %s\n", listen.c_str());
    return 2;
  }
  std::printf("ceiling-server listening on port %d\n", port);
  std::fflush(stdout);
  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    server->Shutdown();
  });
  server->Wait();
  stopper.join();
  return 0;
}

}  // namespace ota
