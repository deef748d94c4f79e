// InferenceService implementation; see inference_service.h for how reactors and the engine
// thread interact.
#include "server/inference_service.h"

#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include <grpcpp/health_check_service_interface.h>
#if defined(SPATTEN_HAVE_GRPC_REFLECTION)
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#endif

#include "common/log.h"
#include "engine/tokenizer/unicode.h"
#include "server/simulate_service.h"

namespace spatten::server {
namespace {

constexpr const char* kServiceName = "spatten.v1.InferenceService";

v1::FinishReason ToProto(FinishKind kind) {
  switch (kind) {
    case FinishKind::kStop: return v1::FINISH_REASON_STOP;
    case FinishKind::kLength: return v1::FINISH_REASON_LENGTH;
    case FinishKind::kCancelled: return v1::FINISH_REASON_CANCELLED;
    case FinishKind::kDeadline: return v1::FINISH_REASON_DEADLINE;
    case FinishKind::kError: return v1::FINISH_REASON_ERROR;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

// The served model's attention shape, for the simulator.
ModelDims ServedDims(const ServedModel& m) {
  const auto& c = m.model.config();
  return {.layers = static_cast<int32_t>(c.n_layer),
          .heads = static_cast<int32_t>(c.n_head),
          .head_dim = static_cast<int32_t>(c.head_dim)};
}

// The bridge between the engine thread (RequestSink calls) and one Generate reactor. Invariants
// (all under mu_): at most one write in flight; Finish is called once, and only when no write
// is in flight, so a thread that claimed the write slot may call StartWrite outside the lock
// knowing the reactor is alive (OnDone cannot run before Finish).
class GenerateStream final : public RequestSink, public std::enable_shared_from_this<GenerateStream> {
 public:
  GenerateStream(grpc::ServerWriteReactor<v1::GenerateResponse>* reactor, std::string request_id)
      : reactor_(reactor), request_id_(std::move(request_id)) {}

  // GenerateRequest.simulate: OnFinal adds the accelerator projection for a model of `dims`.
  void RequestProjection(const ModelDims& dims) { projection_dims_ = dims; }

  void OnRejected(const Status& status) override { FinishWith(ToGrpcStatus(status)); }

  void OnChunk(ChunkEvent chunk) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (finish_called_ || final_queued_) return;
    // Merge into the newest queued chunk: a slow reader gets fewer, larger messages.
    if (pending_.empty() || !pending_.back().has_chunk()) {
      pending_.emplace_back();
      pending_.back().set_request_id(request_id_);
    }
    v1::TokenChunk* out = pending_.back().mutable_chunk();
    out->mutable_text()->append(chunk.text);
    for (const auto& t : chunk.tokens) {
      out->add_token_ids(t.token);
      if (t.logprob) {
        v1::TokenLogprob* lp = out->add_logprobs();
        lp->set_token_id(t.token);
        lp->set_logprob(*t.logprob);
        for (const auto& alt : t.top) {
          v1::TopLogprob* top = lp->add_top();
          top->set_token_id(alt.token);
          top->set_logprob(alt.logprob);
          top->set_piece(alt.piece);
        }
      }
    }
    MaybeWrite(std::move(lock));
  }

  void OnFinal(FinalEvent f) override {
    v1::GenerateResponse msg;
    msg.set_request_id(request_id_);
    v1::GenerateFinal* out = msg.mutable_final();
    out->set_finish_reason(ToProto(f.finish));
    out->set_stop_string(f.stop_string);
    out->set_error_message(f.error_message);
    v1::Usage* usage = out->mutable_usage();
    usage->set_prompt_tokens(f.prompt_tokens);
    usage->set_completion_tokens(f.completion_tokens);
    usage->set_kept_tokens(f.kept_tokens);
    usage->set_preemptions(f.preemptions);
    v1::Timings* t = out->mutable_timings();
    t->set_queue_ms(f.queue_ms);
    t->set_time_to_first_token_ms(f.time_to_first_token_ms);
    t->set_mean_time_per_output_token_ms(f.mean_time_per_output_token_ms);
    t->set_total_ms(f.total_ms);
    t->set_prefill_ms(f.prefill_ms);
    // The accelerator projection (simulate_service.h: the dense trace of the request's real
    // shape until live pruning traces exist) runs on the projection thread, never here on the
    // engine thread; the final message is queued when it is done. Chunks already queued keep
    // flowing meanwhile; a cancel meanwhile drops the final as usual.
    if (projection_dims_ && f.completion_tokens > 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (finish_called_ || final_queued_) return;
      }
      auto self = shared_from_this();
      auto shared_msg = std::make_shared<v1::GenerateResponse>(std::move(msg));
      const bool posted = ProjectGenerationAsync(
          *projection_dims_, f.prompt_tokens, f.completion_tokens, f.total_ms,
          [self, shared_msg](Result<v1::SimulationResult> r) {
            if (r.ok()) {
              *shared_msg->mutable_final()->mutable_simulation() = std::move(r).value();
            } else {
              SPATTEN_LOG_INFO(RequestLog(self->request_id_, "no accelerator projection: " + r.status().ToString()));
            }
            self->QueueFinal(std::move(*shared_msg));
          });
      if (posted) return;
      SPATTEN_LOG_INFO(RequestLog(request_id_, "no accelerator projection: projection queue full"));
      msg = std::move(*shared_msg);
    }
    QueueFinal(std::move(msg));
  }

  void QueueFinal(v1::GenerateResponse msg) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finish_called_ || final_queued_) return;
    pending_.push_back(std::move(msg));
    final_queued_ = true;
    MaybeWrite(std::move(lock));
  }

  // Reactor callbacks (gRPC threads).
  void WriteDone(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    write_in_flight_ = false;
    if (!ok) {  // the call is gone (cancelled / disconnected): nothing more can be written
      pending_.clear();
      final_queued_ = true;
      if (!finish_status_) finish_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    MaybeWrite(std::move(lock));
  }

  void Cancelled() {
    std::unique_lock<std::mutex> lock(mu_);
    pending_.clear();
    final_queued_ = true;
    if (!finish_status_) finish_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    MaybeWrite(std::move(lock));
  }

  void FinishWith(grpc::Status status) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finish_called_) return;
    final_queued_ = true;
    if (!finish_status_) finish_status_ = std::move(status);
    MaybeWrite(std::move(lock));
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
  }

 private:
  // Starts the next write, or Finish once everything queued was written. Takes the lock so
  // that the gRPC call happens after it is released (a callback could otherwise re-enter).
  void MaybeWrite(std::unique_lock<std::mutex> lock) {
    if (write_in_flight_ || finish_called_ || reactor_ == nullptr) return;
    auto* reactor = reactor_;
    if (!pending_.empty()) {
      current_ = std::move(pending_.front());
      pending_.pop_front();
      write_in_flight_ = true;
      lock.unlock();
      reactor->StartWrite(&current_);
      return;
    }
    if (!final_queued_) return;
    finish_called_ = true;
    grpc::Status status = finish_status_.value_or(grpc::Status::OK);
    lock.unlock();
    reactor->Finish(status);
  }

  std::mutex mu_;
  grpc::ServerWriteReactor<v1::GenerateResponse>* reactor_;  // null after OnDone
  const std::string request_id_;
  std::deque<v1::GenerateResponse> pending_;
  v1::GenerateResponse current_;  // the message being written; stable until WriteDone
  std::optional<grpc::Status> finish_status_;
  std::optional<ModelDims> projection_dims_;  // set before Submit; read by OnFinal
  bool write_in_flight_ = false;
  bool final_queued_ = false;   // nothing more will be queued
  bool finish_called_ = false;
};

class GenerateReactor final : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  GenerateReactor(grpc::CallbackServerContext* context, EngineLoop* engine)
      : context_(context), engine_(engine) {}

  // Validates and submits; any error ends the call at once with no messages.
  void Begin(const v1::GenerateRequest& request, const RequestLimits& limits, bool draining) {
    if (draining) {
      stream_ = std::make_shared<GenerateStream>(this, request.request_id());
      return stream_->FinishWith({grpc::StatusCode::UNAVAILABLE, "server is draining"});
    }
    // `simulate` needs no engine work: GenerateStream::OnFinal adds the projection.
    auto converted = ConvertGenerateRequest(request, engine_->model(), limits);
    if (!converted.ok()) {
      SPATTEN_LOG_INFO(RequestLog(request.request_id().empty() ? "-" : request.request_id(),
                                  "invalid request: " + converted.status().message()));
      stream_ = std::make_shared<GenerateStream>(this, request.request_id());
      return stream_->FinishWith(ToGrpcStatus(converted.status()));
    }
    request_id_ = converted->request_id;
    stream_ = std::make_shared<GenerateStream>(this, request_id_);
    if (request.simulate()) stream_->RequestProjection(ServedDims(engine_->model()));
    const Status submitted = engine_->Submit(std::move(converted).value(), stream_);
    if (!submitted.ok()) {
      SPATTEN_LOG_INFO(RequestLog(request_id_, "refused: " + submitted.ToString()));
      stream_->FinishWith(ToGrpcStatus(submitted));
      return;
    }
    submitted_ = true;
  }

  void OnWriteDone(bool ok) override { stream_->WriteDone(ok); }

  void OnCancel() override {
    const bool deadline = context_->deadline() <= std::chrono::system_clock::now();
    if (submitted_) {
      SPATTEN_LOG_INFO(RequestLog(request_id_, deadline ? "deadline passed" : "client cancelled"));
      engine_->Abort(request_id_, deadline ? FinishKind::kDeadline : FinishKind::kCancelled);
    }
    stream_->Cancelled();
  }

  void OnDone() override {
    stream_->Detach();  // the engine may still hold the stream; it must not touch us now
    delete this;
  }

 private:
  grpc::CallbackServerContext* context_;
  EngineLoop* engine_;
  std::shared_ptr<GenerateStream> stream_;
  std::string request_id_;
  bool submitted_ = false;
};

}  // namespace

RequestLimits LimitsFor(const EngineLoop& engine) {
  RequestLimits limits;
  limits.max_context_tokens = engine.config().max_context_tokens;
  limits.default_max_tokens = engine.config().default_max_tokens;
  return limits;
}

InferenceServiceImpl::InferenceServiceImpl(EngineLoop* engine, RequestLimits limits)
    : engine_(engine), limits_(limits) {}

grpc::ServerWriteReactor<v1::GenerateResponse>* InferenceServiceImpl::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  auto* reactor = new GenerateReactor(context, engine_);
  reactor->Begin(*request, limits_, draining_.load());
  return reactor;
}

grpc::ServerUnaryReactor* InferenceServiceImpl::Tokenize(grpc::CallbackServerContext* context,
                                                         const v1::TokenizeRequest* request,
                                                         v1::TokenizeResponse* response) {
  auto* reactor = context->DefaultReactor();
  const ServedModel& model = engine_->model();
  auto ids = TokenizeForRequest(*request, model);
  if (!ids.ok()) {
    reactor->Finish(ToGrpcStatus(ids.status()));
    return reactor;
  }
  for (const int32_t id : *ids) {
    response->add_token_ids(id);
    if (request->return_pieces()) {
      auto piece = model.tokenizer.Piece(id, {.render_special = true});
      // proto3 strings must be valid UTF-8; a piece may end inside a character.
      response->add_pieces(tokenizer::SanitizeUtf8(piece.ok() ? *piece : std::string_view()));
    }
  }
  response->set_max_context_tokens(static_cast<uint32_t>(limits_.max_context_tokens));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceServiceImpl::GetModelInfo(grpc::CallbackServerContext* context,
                                                             const v1::GetModelInfoRequest*,
                                                             v1::ModelInfo* info) {
  const ServedModel& m = engine_->model();
  const auto& c = m.model.config();
  const EngineConfig& ec = engine_->config();
  info->set_name(m.name);
  info->set_architecture(c.arch);
  info->set_weight_type(m.weight_type);
  info->set_parameter_count(m.parameter_count);
  info->set_vocab_size(static_cast<uint32_t>(c.n_vocab));
  info->set_trained_context_tokens(static_cast<uint32_t>(c.n_ctx_train));
  info->set_num_layers(static_cast<uint32_t>(c.n_layer));
  info->set_num_heads(static_cast<uint32_t>(c.n_head));
  info->set_num_kv_heads(static_cast<uint32_t>(c.n_head_kv));
  info->set_head_dim(static_cast<uint32_t>(c.head_dim));
  info->set_embedding_dim(static_cast<uint32_t>(c.n_embd));
  info->set_bos_token_id(m.tokenizer.bos());
  info->set_eos_token_id(m.tokenizer.eos());
  info->set_has_chat_template(m.chat_template.has_value());
  v1::Limits* l = info->mutable_limits();
  l->set_max_context_tokens(static_cast<uint32_t>(limits_.max_context_tokens));
  l->set_default_max_tokens(static_cast<uint32_t>(limits_.default_max_tokens));
  l->set_max_stop_strings(static_cast<uint32_t>(limits_.max_stop_strings));
  l->set_max_stop_string_bytes(static_cast<uint32_t>(limits_.max_stop_string_bytes));
  l->set_max_logprobs(static_cast<uint32_t>(limits_.max_logprobs));
  l->set_max_logit_bias_entries(static_cast<uint32_t>(limits_.max_logit_bias_entries));
  l->set_max_waiting_requests(static_cast<uint32_t>(ec.max_waiting));
  l->set_max_running_requests(static_cast<uint32_t>(ec.max_running));
  l->set_max_tokens_per_step(static_cast<uint32_t>(ec.max_tokens_per_step));
  l->set_max_workload_bytes(kMaxWorkloadCsvBytes);
  v1::SupportedOptions* s = info->mutable_supported();
  for (const auto& p : SupportedPruningPolicies()) s->add_pruning_policies(p);
  s->set_simulation(true);
  for (const auto& p : SimulationPresets()) s->add_simulation_configs(p);
  v1::ServerDefaults* d = info->mutable_defaults();
  v1::SamplingParams* sp = d->mutable_sampling();
  const sampling::SamplerParams defaults;
  sp->set_temperature(defaults.temperature);
  sp->set_top_k(defaults.top_k);
  sp->set_top_p(defaults.top_p);
  sp->set_min_p(defaults.min_p);
  sp->set_repetition_penalty(defaults.repetition_penalty);
  sp->set_presence_penalty(defaults.presence_penalty);
  sp->set_frequency_penalty(defaults.frequency_penalty);
  sp->set_repeat_last_n(defaults.repeat_last_n);
  d->mutable_pruning()->set_policy("none");
  info->set_server_version(SPATTEN_SERVER_VERSION);
  info->set_backend("cpu");
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceServiceImpl::GetServerStatus(
    grpc::CallbackServerContext* context, const v1::GetServerStatusRequest*,
    v1::ServerStatus* out) {
  const EngineSnapshot s = engine_->Snapshot();
  out->set_running_requests(s.running);
  out->set_waiting_requests(s.waiting);
  out->set_kv_blocks_total(s.kv_blocks_total);
  out->set_kv_blocks_used(s.kv_blocks_used);
  out->set_kv_block_tokens(s.kv_block_tokens);
  out->set_kv_bytes_total(s.kv_bytes_per_block * s.kv_blocks_total);
  out->set_kv_bytes_used(s.kv_bytes_per_block * s.kv_blocks_used);
  out->set_requests_total(s.requests_total);
  out->set_requests_aborted(s.requests_aborted);
  out->set_preemptions_total(s.preemptions_total);
  out->set_generated_tokens_total(s.generated_tokens_total);
  out->set_engine_steps_total(s.engine_steps_total);
  out->set_draining(s.draining || draining_.load());
  out->set_uptime_s(s.uptime_s);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// Runs on the gRPC thread: the simulator is fast (milliseconds for the authors' workloads) and
// RunSimulateRequest bounds the bytes, rows and DRAM transactions a request may ask for.
grpc::ServerUnaryReactor* InferenceServiceImpl::Simulate(grpc::CallbackServerContext* context,
                                                         const v1::SimulateRequest* request,
                                                         v1::SimulateResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto result = RunSimulateRequest(*request, ServedDims(engine_->model()));
  if (!result.ok()) {
    SPATTEN_LOG_INFO("Simulate '" + request->name().substr(0, 64) + "' refused: " + result.status().ToString());
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  *response->mutable_result() = std::move(result).value();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// ---- RunningServer -----------------------------------------------------------------------

bool ReflectionAvailable() {
#if defined(SPATTEN_HAVE_GRPC_REFLECTION)
  return true;
#else
  return false;
#endif
}

Result<std::unique_ptr<RunningServer>> RunningServer::Start(EngineLoop* engine,
                                                            const ServerOptions& options) {
  std::unique_ptr<RunningServer> rs(new RunningServer());
  rs->engine_ = engine;
  rs->host_ = options.host;
  rs->service_ = std::make_unique<InferenceServiceImpl>(engine, LimitsFor(*engine));
  grpc::EnableDefaultHealthCheckService(true);
#if defined(SPATTEN_HAVE_GRPC_REFLECTION)
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
#else
  SPATTEN_LOG_INFO("server reflection not built in (libgrpc++_reflection not found)");
#endif
  grpc::ServerBuilder builder;
  const std::string address = options.host + ":" + std::to_string(options.port);
  int selected_port = 0;
  // gRPC sets SO_REUSEPORT by default, which lets a second server share a busy port silently;
  // turning it off makes "port in use" a clear start-up error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  builder.RegisterService(rs->service_.get());
  rs->server_ = builder.BuildAndStart();
  if (!rs->server_ || selected_port == 0) {
    return Status(StatusCode::kUnavailable,
                  "cannot listen on " + address + " (port in use or address not local?)");
  }
  rs->port_ = selected_port;
  auto* health = rs->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    health->SetServingStatus(kServiceName, true);
  }
  return rs;
}

RunningServer::~RunningServer() { Shutdown(std::chrono::milliseconds(0)); }

std::string RunningServer::address() const { return host_ + ":" + std::to_string(port_); }

void RunningServer::BeginDrain() {
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
    health->SetServingStatus(kServiceName, false);
  }
  service_->SetDraining();
  engine_->BeginDrain();
}

void RunningServer::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace spatten::server
