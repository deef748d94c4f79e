// EngineLoop: the one thread that runs the model. It owns the KV BlockPool, the Scheduler, the
// per-request KV caches and the per-request sampler / stop matcher / streaming decoder, and
// runs iteration-level continuous batching (scheduler/scheduler.h): each step decodes one token
// for every running request and prefills chunks of waiting ones within the step's token budget.
//
// Threads. Submit(), Abort(), BeginDrain() and Snapshot() may be called from any thread (the
// gRPC callback threads) and never wait for a model step: they only touch a mutex-guarded
// inbox that the engine thread drains between steps. Results flow back through the request's
// RequestSink, called on the engine thread; a sink must not block (the gRPC reactor only queues
// the event and starts a write). Everything else below the inbox belongs to the engine thread.
//
// Request life cycle: Submit (validated by the caller: request_convert.h) -> queued in the
// inbox -> Scheduler::AddRequest on the engine thread (refusal, e.g. queue full, goes to
// sink->OnRejected and nothing else) -> OnChunk per sampled token -> exactly one OnFinal
// (stop, length, cancelled, error). Abort(id) frees the request's KV blocks by the next step.
//
// KV memory, current state: the BlockPool accounts the byte budget in blocks (admission and
// preemption decisions), while the K/V values live in a per-request SequenceKvCache sized to
// prompt + max_tokens. The paged storage behind the block tables is future work.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "common/thread_pool.h"
#include "engine/gguf/gguf.h"
#include "engine/model/llama_model.h"
#include "engine/sampling/sampler.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/chat_template.h"

namespace spatten::server {

// The model as served: immutable after LoadServedModel, shared by the engine thread (forward
// passes) and the gRPC threads (tokenization, model info).
struct ServedModel {
  std::shared_ptr<const gguf::GgufFile> file;
  model::LlamaModel model;
  tokenizer::Tokenizer tokenizer;
  std::optional<tokenizer::ChatTemplate> chat_template;  // absent: the model has none usable
  std::string name;          // general.name, or the file name
  std::string weight_type;   // e.g. "Q4_1" (type of the token embedding / most matrices)
  uint64_t parameter_count = 0;
};

// Opens the GGUF file and loads weights, tokenizer and chat template. NotFound for a missing
// file; the loader's message otherwise. `weights` picks the forward pass's precision: packed
// weights with 8-bit activations (default, fast, computed as llama.cpp does) or f32.
Result<std::shared_ptr<const ServedModel>> LoadServedModel(
    const std::string& path, ThreadPool* pool,
    model::WeightFormat weights = model::WeightFormat::kQuantized);

// A validated generation request (request_convert.h builds it from the proto).
struct GenerationRequest {
  std::string request_id;             // the client's or a generated one; in every log line
  std::vector<int32_t> prompt_tokens; // >= 1
  int32_t max_tokens = 1;             // prompt + max_tokens <= the context limit
  int32_t priority = 0;
  sampling::SamplerParams sampler;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  std::optional<int32_t> logprobs;    // top-n alternatives; absent: no logprobs
  std::string pruning_policy = "none";
};

enum class FinishKind { kStop, kLength, kCancelled, kDeadline, kError };

struct TopAlternative {
  int32_t token = 0;
  double logprob = 0.0;
  std::string piece;
};

struct TokenEvent {
  int32_t token = 0;
  std::optional<double> logprob;    // set when the request asked for logprobs
  std::vector<TopAlternative> top;
};

// Newly generated tokens and the text they completed (text may come without tokens when
// held-back text is released at the end).
struct ChunkEvent {
  std::string text;
  std::vector<TokenEvent> tokens;
};

struct FinalEvent {
  FinishKind finish = FinishKind::kLength;
  std::string stop_string;
  std::string error_message;
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t kept_tokens = 0;
  uint32_t preemptions = 0;
  double queue_ms = 0.0;
  double time_to_first_token_ms = 0.0;
  double mean_time_per_output_token_ms = 0.0;
  double total_ms = 0.0;
  double prefill_ms = 0.0;
};

// Where one request's results go. Called on the engine thread only; must not block.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void OnRejected(const Status& status) = 0;  // never admitted; no other call follows
  virtual void OnChunk(ChunkEvent chunk) = 0;
  virtual void OnFinal(FinalEvent final) = 0;         // last call
};

struct EngineConfig {
  int32_t max_running = 16;
  int32_t max_waiting = 256;
  int32_t max_tokens_per_step = 512;
  int64_t max_context_tokens = 0;  // 0: the model's training context
  int32_t default_max_tokens = 256;
  uint64_t kv_memory_bytes = 0;    // 0: a quarter of the available memory, at most 4 GiB
  int32_t kv_block_tokens = 16;
  int32_t threads = 0;             // forward-pass threads; 0: physical cores
};

// A consistent-enough view for GetServerStatus, published by the engine thread after every
// loop iteration (counts) and read from the pool's atomics (blocks).
struct EngineSnapshot {
  uint32_t running = 0;
  uint32_t waiting = 0;
  uint32_t kv_blocks_total = 0;
  uint32_t kv_blocks_used = 0;
  uint32_t kv_block_tokens = 0;
  uint64_t kv_bytes_per_block = 0;
  uint64_t requests_total = 0;
  uint64_t requests_aborted = 0;
  uint64_t preemptions_total = 0;
  uint64_t generated_tokens_total = 0;
  uint64_t engine_steps_total = 0;
  bool draining = false;
  double uptime_s = 0.0;
};

class EngineLoop {
 public:
  // Builds the pool and scheduler and starts the engine thread. InvalidArgument for a bad
  // config (e.g. a KV budget below one block).
  static Result<std::unique_ptr<EngineLoop>> Start(std::shared_ptr<const ServedModel> model,
                                                   const EngineConfig& config);
  ~EngineLoop();  // Stop()s
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  // Queues a request; never waits for the engine. Unavailable while draining or stopped. A
  // request refused later by the scheduler (queue full, never fits) gets sink->OnRejected.
  Status Submit(GenerationRequest request, std::shared_ptr<RequestSink> sink);
  // Cancels a submitted request (client cancel / disconnect / deadline); `kind` is the finish
  // reason its final event reports. Unknown or finished ids are ignored.
  void Abort(const std::string& request_id, FinishKind kind);

  // Refuse new requests from now on (SIGTERM); in-flight ones continue.
  void BeginDrain();
  // Waits until no request is queued or running, or `timeout` passes; true when idle.
  bool WaitUntilIdle(std::chrono::milliseconds timeout);
  // Ends the engine thread; requests still running end with FINISH_REASON_CANCELLED.
  void Stop();

  EngineSnapshot Snapshot() const;
  const EngineConfig& config() const { return config_; }  // with defaults resolved
  const ServedModel& model() const { return *model_; }

 private:
  struct Impl;
  EngineLoop(std::shared_ptr<const ServedModel> model, const EngineConfig& config);
  void Run();

  std::shared_ptr<const ServedModel> model_;
  EngineConfig config_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

// "[req-0123] message": the prefix every request log line carries.
std::string RequestLog(const std::string& request_id, const std::string& message);

}  // namespace spatten::server
