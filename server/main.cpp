// spatten-server: serves a GGUF model over gRPC (spatten.v1.InferenceService, grpc.health.v1,
// reflection). Logs go to stderr. Exit status: 0 after a clean drain, 1 on a start-up error
// (missing model, port in use), 2 on a usage error.
//
//   spatten-server --model M [--host 127.0.0.1] [--port 50051] [--threads T] [--max-running N]
//       [--max-waiting N] [--max-tokens-per-step N] [--kv-memory-mb N] [--default-max-tokens N]
//       [--drain-timeout-s S] [--log-level L] [--weights quant|f32]
//
// SIGTERM / SIGINT drain the server: health turns NOT_SERVING, new Generate calls get
// UNAVAILABLE, in-flight generations run to completion (at most --drain-timeout-s), then the
// server stops listening and exits.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/thread_pool.h"
#include "server/engine_loop.h"
#include "server/inference_service.h"

namespace {

struct Args {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 50051;
  int threads = 0;
  int max_running = 16;
  int max_waiting = 256;
  int max_tokens_per_step = 512;
  int default_max_tokens = 256;
  uint64_t kv_memory_mb = 0;
  int drain_timeout_s = 120;
  std::string log_level = "info";
  std::string weights = "quant";
};

int Run(const Args& args) {
  using spatten::server::EngineLoop;
  namespace srv = spatten::server;
  spatten::log::Level level;
  if (!spatten::log::ParseLevel(args.log_level, &level)) {
    std::fprintf(stderr, "error: unknown --log-level '%s'\n", args.log_level.c_str());
    return 2;
  }
  spatten::log::SetLevel(level);

  // Block the shutdown signals before any thread starts, so every thread inherits the mask and
  // only sigwait below receives them (no async-signal-safety concerns).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  const auto weights = args.weights == "f32" ? spatten::model::WeightFormat::kF32
                                             : spatten::model::WeightFormat::kQuantized;
  auto model = srv::LoadServedModel(args.model, nullptr, weights);
  if (!model.ok()) {
    SPATTEN_LOG_ERROR("loading model: " + model.status().ToString());
    return 1;
  }
  srv::EngineConfig config;
  config.max_running = args.max_running;
  config.max_waiting = args.max_waiting;
  config.max_tokens_per_step = args.max_tokens_per_step;
  config.default_max_tokens = args.default_max_tokens;
  config.kv_memory_bytes = args.kv_memory_mb * 1024 * 1024;
  config.threads = args.threads;
  auto engine = EngineLoop::Start(*model, config);
  if (!engine.ok()) {
    SPATTEN_LOG_ERROR("starting the engine: " + engine.status().ToString());
    return 1;
  }
  auto server = srv::RunningServer::Start(engine->get(), {.host = args.host, .port = args.port});
  if (!server.ok()) {
    SPATTEN_LOG_ERROR(server.status().ToString());
    return 1;
  }
  const auto snap = (*engine)->Snapshot();
  const auto& ec = (*engine)->config();
  SPATTEN_LOG_INFO(
      "serving " + (*model)->name + " (" + (*model)->weight_type + ") on " +
      (*server)->address() + " after " +
      std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) +
      " s; " + std::to_string(ec.threads) + " threads, max_running " +
      std::to_string(ec.max_running) + ", max_waiting " + std::to_string(ec.max_waiting) +
      ", context " + std::to_string(ec.max_context_tokens) + " tokens, KV " +
      std::to_string(snap.kv_blocks_total) + " blocks x " + std::to_string(snap.kv_block_tokens) +
      " tokens (" + std::to_string(snap.kv_bytes_per_block * snap.kv_blocks_total >> 20) +
      " MiB)" + (srv::ReflectionAvailable() ? ", reflection on" : ", reflection off"));

  int sig = 0;
  sigwait(&signals, &sig);
  SPATTEN_LOG_INFO(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                   ": draining (health NOT_SERVING, new requests UNAVAILABLE)");
  (*server)->BeginDrain();
  if (!(*engine)->WaitUntilIdle(std::chrono::seconds(args.drain_timeout_s))) {
    SPATTEN_LOG_WARN("drain timeout: cancelling the requests still running");
  }
  (*server)->Shutdown(std::chrono::seconds(2));
  (*engine)->Stop();
  SPATTEN_LOG_INFO("drained; exiting");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"spatten-server: serve a GGUF model over gRPC (spatten.v1.InferenceService)"};
  app.add_option("--model,-m", args.model, "GGUF model file")->required();
  app.add_option("--host", args.host, "address to listen on");
  app.add_option("--port", args.port, "port to listen on")->check(CLI::Range(1, 65535));
  app.add_option("--threads,-t", args.threads, "forward-pass threads (default: physical cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-running", args.max_running, "sequences computed together per step")
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-waiting", args.max_waiting,
                 "requests waiting for admission; beyond: RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-tokens-per-step", args.max_tokens_per_step,
                 "tokens computed per engine step (decode + prefill chunks)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--default-max-tokens", args.default_max_tokens,
                 "max_tokens of requests that leave it unset")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--kv-memory-mb", args.kv_memory_mb,
                 "KV cache budget in MiB (default: a quarter of available memory, <= 4 GiB)");
  app.add_option("--drain-timeout-s", args.drain_timeout_s,
                 "on SIGTERM, how long in-flight requests may run before they are cancelled")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", args.log_level, "debug, info, warn or error");
  app.add_option("--weights", args.weights,
                 "quant (default): packed weights, 8-bit activations, like llama.cpp; "
                 "f32: weights dequantized at load, f32 activations (precise, slower)")
      ->check(CLI::IsMember({"quant", "f32"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return Run(args);
}
