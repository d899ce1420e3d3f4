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

}  // namespace

int RunCeilingServer(const std::string& listen) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  NoopService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
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
