// InferenceService over gRPC's callback API, and the server around it (health, reflection).
//
// Generate is one ServerWriteReactor per call. The reactor submits the validated request to the
// EngineLoop and returns at once; the engine thread pushes chunk / final events into the
// call's GenerateStream (a RequestSink), which queues them and keeps at most one write in
// flight (chunks that pile up behind a slow client are merged). OnCancel (client cancel,
// disconnect or deadline) becomes EngineLoop::Abort, whose KV blocks are freed by the next
// engine step. No callback ever waits for the engine.
//
// Tokenize, GetModelInfo and GetServerStatus answer inline from immutable model data and the
// engine's published snapshot. Simulate runs the accelerator model (simulate_service.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "server/engine_loop.h"
#include "server/request_convert.h"
#include "spatten/v1/inference.grpc.pb.h"

namespace spatten::server {

class InferenceServiceImpl final : public v1::InferenceService::CallbackService {
 public:
  // `engine` must outlive the service.
  InferenceServiceImpl(EngineLoop* engine, RequestLimits limits);

  // New Generate calls are refused with UNAVAILABLE from now on.
  void SetDraining() { draining_.store(true); }

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* GetServerStatus(grpc::CallbackServerContext* context,
                                            const v1::GetServerStatusRequest* request,
                                            v1::ServerStatus* response) override;
  grpc::ServerUnaryReactor* Simulate(grpc::CallbackServerContext* context,
                                     const v1::SimulateRequest* request,
                                     v1::SimulateResponse* response) override;

  const RequestLimits& limits() const { return limits_; }

 private:
  EngineLoop* engine_;
  RequestLimits limits_;
  std::atomic<bool> draining_{false};
};

// The limits the service applies for an engine (context, queue sizes from its config).
RequestLimits LimitsFor(const EngineLoop& engine);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 50051;  // 0: any free port (tests)
};

// A listening server: InferenceService + grpc.health.v1 + reflection (when built with it).
class RunningServer {
 public:
  // Unavailable with a clear message when the address cannot be bound (port in use).
  static Result<std::unique_ptr<RunningServer>> Start(EngineLoop* engine,
                                                      const ServerOptions& options);
  ~RunningServer();

  int port() const { return port_; }
  std::string address() const;
  // Drain, step 1: health NOT_SERVING, new Generate calls UNAVAILABLE, engine refuses work.
  void BeginDrain();
  // Stops listening; calls still open get `grace` to finish, then are cancelled.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  RunningServer() = default;
  EngineLoop* engine_ = nullptr;
  std::unique_ptr<InferenceServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Whether this build serves grpc.reflection (libgrpc++_reflection was found).
bool ReflectionAvailable();

}  // namespace spatten::server
