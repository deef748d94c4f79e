// EngineLoop implementation: the inbox shared with the gRPC threads, and the engine thread's
// schedule -> forward -> sample -> report cycle. See engine_loop.h for the contract.
#include "server/engine_loop.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/log.h"
#include "engine/sampling/logprobs.h"
#include "engine/sampling/stop_matcher.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/unicode.h"
#include "kvcache/block_pool.h"
#include "scheduler/scheduler.h"

namespace spatten::server {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// MemAvailable from /proc/meminfo in bytes; 0 when unknown.
uint64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

}  // namespace

std::string RequestLog(const std::string& request_id, const std::string& message) {
  return "[" + request_id + "] " + message;
}

Result<std::shared_ptr<const ServedModel>> LoadServedModel(const std::string& path,
                                                           ThreadPool* pool,
                                                           model::WeightFormat weights) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) return NotFound("model file '" + path + "' cannot be opened");
  }
  SPATTEN_ASSIGN_OR_RETURN(auto opened, gguf::GgufFile::Open(path));
  auto file = std::make_shared<const gguf::GgufFile>(std::move(opened));
  SPATTEN_ASSIGN_OR_RETURN(auto tok, tokenizer::Tokenizer::FromGguf(*file));
  model::LoadOptions options;
  options.pool = pool;
  options.weight_format = weights;
  SPATTEN_ASSIGN_OR_RETURN(auto llama, model::LlamaModel::Load(file, options));
  if (tok.vocab_size() > static_cast<size_t>(llama.config().n_vocab)) {
    return InvalidArgument("tokenizer has " + std::to_string(tok.vocab_size()) +
                           " tokens but the model's vocabulary is " +
                           std::to_string(llama.config().n_vocab));
  }
  auto served = std::make_shared<ServedModel>(ServedModel{
      file, std::move(llama), tok, std::nullopt, "", "", 0});
  if (!tok.chat_template().empty()) {
    auto tmpl = tokenizer::ChatTemplate::FromSource(tok.chat_template());
    if (tmpl.ok()) {
      served->chat_template = std::move(tmpl).value();
    } else {
      // Chat requests are then INVALID_ARGUMENT; text prompts still work.
      SPATTEN_LOG_WARN("chat template not usable, chat prompts disabled: " +
                       tmpl.status().ToString());
    }
  }
  auto name = file->GetString("general.name");
  served->name = name.ok() ? *name : path.substr(path.find_last_of('/') + 1);
  std::map<std::string, uint64_t> elems_by_type;  // the type holding most weights names it
  for (const auto& t : file->tensors()) {
    served->parameter_count += t.n_elements;
    if (t.shape.size() >= 2) elems_by_type[std::string(t.type.name)] += t.n_elements;
  }
  uint64_t best = 0;
  for (const auto& [type, n] : elems_by_type) {
    if (n > best) {
      best = n;
      served->weight_type = type;
    }
  }
  std::transform(served->weight_type.begin(), served->weight_type.end(),
                 served->weight_type.begin(), [](unsigned char c) { return std::toupper(c); });
  return std::shared_ptr<const ServedModel>(std::move(served));
}

// ---- engine-thread state ---------------------------------------------------------------

struct EngineLoop::Impl {
  struct Submission {
    GenerationRequest request;
    std::shared_ptr<RequestSink> sink;
    Clock::time_point arrival;
  };

  // One admitted request: everything the engine needs beyond the scheduler's view of it.
  struct Live {
    std::string name;  // the API request_id
    std::shared_ptr<RequestSink> sink;
    model::SequenceKvCache cache;
    sampling::Sampler sampler;
    sampling::StopMatcher stops;
    tokenizer::StreamingDecoder decoder;
    bool ignore_eos = false;
    std::optional<int32_t> logprobs;
    int32_t max_tokens = 0;
    uint32_t prompt_tokens = 0;
    uint32_t generated = 0;
    uint32_t preemptions = 0;
    Clock::time_point arrival, first_scheduled, first_token, last_token;
    bool scheduled = false;
    double prefill_ms = 0.0;
    std::optional<FinishKind> engine_finish;  // set when EOS or a stop string ended it
    std::string stop_string;
  };

  // ---- shared with other threads, guarded by mu ----
  mutable std::mutex mu;
  std::condition_variable wake;  // the engine thread waits here when idle
  std::condition_variable idle;  // WaitUntilIdle waits here
  std::deque<Submission> inbox;
  std::vector<std::pair<std::string, FinishKind>> aborts;
  std::set<std::string> live_names;  // submitted and not yet final: duplicate ids refused
  bool draining = false;
  bool stopping = false;

  mutable std::mutex snapshot_mu;
  EngineSnapshot snapshot;

  // ---- engine thread only ----
  std::optional<kvcache::BlockPool> pool;
  std::optional<scheduler::Scheduler> sched;
  std::unique_ptr<ThreadPool> threads;
  std::unordered_map<scheduler::RequestId, std::unique_ptr<Live>> live;
  std::unordered_map<std::string, scheduler::RequestId> by_name;
  scheduler::RequestId next_id = 1;
  uint64_t requests_total = 0, requests_aborted = 0, generated_total = 0;
  Clock::time_point started = Clock::now();
  model::BatchLogits batch_logits;  // the step's logits, one entry per scheduled sequence
};

EngineLoop::EngineLoop(std::shared_ptr<const ServedModel> model, const EngineConfig& config)
    : model_(std::move(model)), config_(config), impl_(std::make_unique<Impl>()) {}

EngineLoop::~EngineLoop() { Stop(); }

Result<std::unique_ptr<EngineLoop>> EngineLoop::Start(std::shared_ptr<const ServedModel> model,
                                                      const EngineConfig& config_in) {
  if (!model) return InvalidArgument("no model");
  EngineConfig config = config_in;
  const auto& mc = model->model.config();
  if (config.max_context_tokens <= 0) config.max_context_tokens = mc.n_ctx_train;
  config.max_context_tokens = std::min<int64_t>(config.max_context_tokens, mc.n_ctx_train);
  if (config.default_max_tokens < 1) return InvalidArgument("default_max_tokens must be >= 1");
  if (config.kv_memory_bytes == 0) {
    const uint64_t avail = AvailableMemoryBytes();
    config.kv_memory_bytes = std::min<uint64_t>(avail > 0 ? avail / 4 : (1ull << 30), 4ull << 30);
  }
  kvcache::BlockPoolConfig pool_config;
  // The caches hold f32 K/V today, so the budget is accounted at 4 bytes per element.
  pool_config.geometry = {.num_layers = static_cast<int32_t>(mc.n_layer),
                          .num_kv_heads = static_cast<int32_t>(mc.n_head_kv),
                          .head_dim = static_cast<int32_t>(mc.head_dim),
                          .dtype = kvcache::KvDtype::kF32};
  pool_config.block_tokens = config.kv_block_tokens;
  pool_config.byte_budget = config.kv_memory_bytes;
  auto pool = kvcache::BlockPool::Create(pool_config);
  if (!pool.ok()) return pool.status().WithContext("--kv-memory-mb");

  std::unique_ptr<EngineLoop> loop(new EngineLoop(std::move(model), config));
  Impl& s = *loop->impl_;
  s.pool.emplace(std::move(pool).value());
  scheduler::SchedulerConfig sc;
  sc.max_running = config.max_running;
  sc.max_waiting = config.max_waiting;
  sc.max_tokens_per_step = config.max_tokens_per_step;
  sc.max_context_tokens = config.max_context_tokens;
  auto sched = scheduler::Scheduler::Create(sc, &*s.pool);
  if (!sched.ok()) return sched.status();
  s.sched.emplace(std::move(sched).value());
  s.threads = std::make_unique<ThreadPool>(static_cast<size_t>(std::max(0, config.threads)));
  loop->config_.threads = static_cast<int32_t>(s.threads->num_threads());
  loop->thread_ = std::thread([raw = loop.get()] { raw->Run(); });
  return loop;
}

Status EngineLoop::Submit(GenerationRequest request, std::shared_ptr<RequestSink> sink) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.draining || s.stopping) return Status(StatusCode::kUnavailable, "server is draining");
  if (s.live_names.contains(request.request_id)) {
    return InvalidArgument("request_id: '" + request.request_id + "' is already in use");
  }
  s.live_names.insert(request.request_id);
  s.inbox.push_back({std::move(request), std::move(sink), Clock::now()});
  s.wake.notify_one();
  return Status::Ok();
}

void EngineLoop::Abort(const std::string& request_id, FinishKind kind) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  s.aborts.emplace_back(request_id, kind);
  s.wake.notify_one();
}

void EngineLoop::BeginDrain() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->draining = true;
}

bool EngineLoop::WaitUntilIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->idle.wait_for(lock, timeout, [&] { return impl_->live_names.empty(); });
}

void EngineLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->wake.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

EngineSnapshot EngineLoop::Snapshot() const {
  EngineSnapshot snap;
  {
    std::lock_guard<std::mutex> lock(impl_->snapshot_mu);
    snap = impl_->snapshot;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    snap.draining = impl_->draining || impl_->stopping;
  }
  const auto stats = impl_->pool->Stats();  // atomics: safe from any thread
  snap.kv_blocks_total = static_cast<uint32_t>(stats.num_blocks);
  snap.kv_blocks_used = static_cast<uint32_t>(stats.used_blocks);
  snap.kv_block_tokens = static_cast<uint32_t>(stats.block_tokens);
  snap.kv_bytes_per_block = stats.bytes_per_block;
  snap.uptime_s = std::chrono::duration<double>(Clock::now() - impl_->started).count();
  return snap;
}

// ---- the engine thread -----------------------------------------------------------------

void EngineLoop::Run() {
  Impl& s = *impl_;
  const model::LlamaModel& llama = model_->model;
  const tokenizer::Tokenizer& tok = model_->tokenizer;
  const size_t n_vocab = static_cast<size_t>(llama.config().n_vocab);
  // A request's last event was delivered: forget its name so WaitUntilIdle can return.
  auto retire = [&](const std::string& name) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.live_names.erase(name);
    if (s.live_names.empty()) s.idle.notify_all();
  };

  auto publish = [&] {
    const auto stats = s.sched->Stats();
    std::lock_guard<std::mutex> lock(s.snapshot_mu);
    s.snapshot.running = static_cast<uint32_t>(stats.running);
    s.snapshot.waiting = static_cast<uint32_t>(stats.waiting);
    s.snapshot.requests_total = s.requests_total;
    s.snapshot.requests_aborted = s.requests_aborted;
    s.snapshot.preemptions_total = stats.preemptions;
    s.snapshot.generated_tokens_total = s.generated_total;
    s.snapshot.engine_steps_total = stats.steps;
  };

  auto final_event = [&](const Impl::Live& l, FinishKind kind, uint32_t completion) {
    const auto now = Clock::now();
    FinalEvent f;
    f.finish = kind;
    f.stop_string = l.stop_string;
    f.prompt_tokens = l.prompt_tokens;
    f.completion_tokens = completion;
    f.kept_tokens = l.prompt_tokens + completion;  // no pruning yet
    f.preemptions = l.preemptions;
    f.queue_ms = l.scheduled ? Ms(l.arrival, l.first_scheduled) : Ms(l.arrival, now);
    f.time_to_first_token_ms = l.generated > 0 ? Ms(l.arrival, l.first_token) : 0.0;
    f.mean_time_per_output_token_ms =
        l.generated > 1 ? Ms(l.first_token, l.last_token) / (l.generated - 1) : 0.0;
    f.total_ms = Ms(l.arrival, now);
    f.prefill_ms = l.prefill_ms;
    return f;
  };

  // Ends a live request outside the normal finish path (cancel, deadline, error, shutdown).
  auto end_abnormally = [&](scheduler::RequestId id, FinishKind kind, const std::string& why) {
    auto it = s.live.find(id);
    if (it == s.live.end()) return;
    Impl::Live& l = *it->second;
    const Status st = s.sched->Abort(id);  // NotFound: the scheduler already retired it
    (void)st;
    ++s.requests_aborted;
    FinalEvent f = final_event(l, kind, l.generated);
    f.error_message = kind == FinishKind::kError ? why : "";
    SPATTEN_LOG_INFO(RequestLog(l.name, "ended: " + why + " after " +
                                std::to_string(l.generated) + " tokens"));
    l.sink->OnFinal(std::move(f));
    const std::string name = l.name;
    s.by_name.erase(name);
    s.live.erase(it);
    retire(name);
  };

  auto admit = [&](Impl::Submission sub) {
    GenerationRequest& r = sub.request;
    const std::string name = r.request_id;
    auto reject = [&](const Status& st) {
      SPATTEN_LOG_INFO(RequestLog(name, "rejected: " + st.ToString()));
      sub.sink->OnRejected(st);
      retire(name);
    };
    auto sampler = sampling::Sampler::Create(r.sampler, n_vocab);
    if (!sampler.ok()) return reject(sampler.status());
    auto stops = sampling::StopMatcher::Create(r.stop);
    if (!stops.ok()) return reject(stops.status().WithContext("stop"));
    sampler->AcceptPrompt(r.prompt_tokens);
    const scheduler::RequestId id = s.next_id++;
    const size_t slots = r.prompt_tokens.size() + static_cast<size_t>(r.max_tokens);
    scheduler::NewRequest nr{.id = id, .prompt_tokens = r.prompt_tokens,
                             .max_tokens = r.max_tokens, .priority = r.priority,
                             .kv_token_budget = 0};
    const Status added = s.sched->AddRequest(std::move(nr));
    if (!added.ok()) return reject(added);
    auto l = std::unique_ptr<Impl::Live>(new Impl::Live{
        name, sub.sink, llama.NewCache(slots), std::move(sampler).value(),
        std::move(stops).value(), tokenizer::StreamingDecoder(tok), r.ignore_eos, r.logprobs,
        r.max_tokens, static_cast<uint32_t>(r.prompt_tokens.size()), 0, 0, sub.arrival, {}, {},
        {}, false, 0.0, std::nullopt, ""});
    ++s.requests_total;
    SPATTEN_LOG_INFO(RequestLog(name, "queued: " + std::to_string(r.prompt_tokens.size()) +
                                " prompt tokens, max_tokens " + std::to_string(r.max_tokens) +
                                ", priority " + std::to_string(r.priority)));
    s.by_name[name] = id;
    s.live.emplace(id, std::move(l));
  };

  // Samples after a forward pass and reports the token; returns the StepResult's fields.
  auto sample = [&](Impl::Live& l, std::span<const float> logits, scheduler::StepResult* result) {
    const auto now = Clock::now();
    const int32_t token = l.sampler.Sample(logits);
    result->token = token;
    if (l.generated == 0) l.first_token = now;
    l.last_token = now;
    ++l.generated;
    ++s.generated_total;
    ChunkEvent chunk;
    TokenEvent te;
    te.token = token;
    if (l.logprobs) {
      auto lp = sampling::ComputeLogprobs(logits, token, *l.logprobs);
      if (lp.ok()) {
        te.logprob = lp->chosen.logprob;
        for (const auto& alt : lp->top) {
          auto piece = tok.Piece(alt.token, {.render_special = true});
          te.top.push_back({alt.token, alt.logprob,
                            tokenizer::SanitizeUtf8(piece.ok() ? *piece : std::string_view())});
        }
      }
    }
    chunk.tokens.push_back(std::move(te));
    const bool eog = tok.IsEog(token);
    bool stop_matched = false;
    if (!eog || l.ignore_eos) {
      auto text = l.decoder.Push(token);
      if (text.ok()) {
        auto out = l.stops.Push(*text);
        chunk.text = std::move(out.text);
        stop_matched = out.stopped();
        if (stop_matched) l.stop_string = l.stops.stops()[static_cast<size_t>(out.matched)];
      }
    }
    const auto finish = sampling::FinishAfterToken(eog, l.ignore_eos, stop_matched, l.generated,
                                                   static_cast<size_t>(l.max_tokens), false);
    if (finish == sampling::FinishReason::kEog || finish == sampling::FinishReason::kStop) {
      l.engine_finish = FinishKind::kStop;
      result->stop = true;
    }
    l.sink->OnChunk(std::move(chunk));
  };

  auto step = [&] {
    auto plan = s.sched->Schedule();
    if (!plan.ok()) {  // a scheduler bug: fail what is live rather than spin
      SPATTEN_LOG_ERROR("scheduler: " + plan.status().ToString());
      std::vector<scheduler::RequestId> ids;
      for (const auto& [id, l] : s.live) ids.push_back(id);
      for (auto id : ids) end_abnormally(id, FinishKind::kError, "internal scheduler error");
      return;
    }
    for (auto id : plan->preempted) {
      auto it = s.live.find(id);
      if (it == s.live.end()) continue;
      it->second->cache.Clear();
      ++it->second->preemptions;
      SPATTEN_LOG_INFO(RequestLog(it->second->name, "preempted (KV memory full); will recompute"));
    }
    // One forward call for the whole step: every sequence's new tokens go through each weight
    // matrix together (continuous batching). Work items keep their token/position storage
    // alive until the call returns, since the batch holds spans into them.
    struct Work {
      const scheduler::ScheduledSequence* seq = nullptr;
      int64_t prompt_tokens = 0;
      Impl::Live* live = nullptr;  // null: the request vanished (cannot happen; plan stays whole)
      std::vector<int32_t> tokens;
      std::vector<int64_t> positions;
      Status status;
      int entry = -1;  // index into `batch`
      Clock::time_point start;
    };
    std::vector<Work> work(plan->sequences.size());
    std::vector<model::SequenceBatch> batch;
    batch.reserve(work.size());
    for (size_t i = 0; i < work.size(); ++i) {
      Work& w = work[i];
      w.seq = &plan->sequences[i];
      auto it = s.live.find(w.seq->id);
      const scheduler::Request* req = s.sched->Find(w.seq->id);
      if (it == s.live.end() || req == nullptr) continue;
      Impl::Live& l = *it->second;
      w.live = &l;
      w.prompt_tokens = req->num_prompt_tokens();
      w.start = Clock::now();
      if (!l.scheduled) {
        l.scheduled = true;
        l.first_scheduled = w.start;
      }
      for (int64_t p = w.seq->start_position; p < w.seq->start_position + w.seq->num_tokens; ++p) {
        w.tokens.push_back(req->token_at(p));
        w.positions.push_back(p);
      }
      // The cache holds exactly the computed tokens; after a preemption it was cleared.
      if (l.cache.size() != static_cast<size_t>(w.seq->start_position)) {
        w.status = Internal("KV cache holds " + std::to_string(l.cache.size()) +
                            " tokens, plan starts at " + std::to_string(w.seq->start_position));
        continue;
      }
      w.entry = static_cast<int>(batch.size());
      batch.push_back({&l.cache, w.tokens, w.positions, false});
    }
    Status batch_status = llama.ForwardBatch(batch, s.threads.get(), &s.batch_logits);
    if (!batch_status.ok() && batch.size() > 1) {
      // ForwardBatch validates before touching any cache, so one bad entry fails the whole
      // step with every cache intact: run the entries one by one so only the bad one fails.
      SPATTEN_LOG_WARN("batched forward failed (" + batch_status.ToString() +
                       "); retrying the step sequence by sequence");
    }
    std::vector<scheduler::StepResult> results;
    results.reserve(work.size());
    std::vector<float> single_logits;
    for (Work& w : work) {
      scheduler::StepResult result;
      result.id = w.seq->id;
      if (w.live == nullptr) {
        if (w.seq->samples) result.token = 0;
        results.push_back(result);
        continue;
      }
      Impl::Live& l = *w.live;
      std::span<const float> logits;
      if (w.status.ok() && batch_status.ok()) {
        logits = s.batch_logits.Last(static_cast<size_t>(w.entry));
      } else if (w.status.ok()) {
        w.status = llama.Forward(w.tokens, w.positions, l.cache, s.threads.get(), &single_logits);
        logits = single_logits;
      }
      if (w.seq->start_position < w.prompt_tokens || w.seq->num_tokens > 1) {
        l.prefill_ms += Ms(w.start, Clock::now());
      }
      if (!w.status.ok()) {
        SPATTEN_LOG_ERROR(RequestLog(l.name, "forward pass failed: " + w.status.ToString()));
        if (w.seq->samples) result.token = 0;  // ignored: the request is aborted below
        results.push_back(result);
        end_abnormally(w.seq->id, FinishKind::kError, "the engine failed while generating");
        continue;
      }
      if (w.seq->samples) sample(l, logits, &result);
      results.push_back(result);
    }
    auto finished = s.sched->OnStepDone(results);
    if (!finished.ok()) {
      SPATTEN_LOG_ERROR("scheduler: " + finished.status().ToString());
      return;
    }
    for (const auto& f : *finished) {
      auto it = s.live.find(f.id);
      if (it == s.live.end()) continue;
      Impl::Live& l = *it->second;
      const FinishKind kind = l.engine_finish.value_or(
          f.reason == scheduler::FinishReason::kStop ? FinishKind::kStop : FinishKind::kLength);
      if (l.stop_string.empty()) {
        // The decoder's unfinished character and the matcher's held-back text are released
        // only now; the decoder's tail could still complete a stop string.
        ChunkEvent tail;
        auto out = l.stops.Push(l.decoder.Flush());
        tail.text = std::move(out.text);
        if (out.stopped()) {
          l.stop_string = l.stops.stops()[static_cast<size_t>(out.matched)];
        } else {
          tail.text += l.stops.Flush();
        }
        if (!tail.text.empty()) l.sink->OnChunk(std::move(tail));
      }
      FinalEvent fe = final_event(l, l.stop_string.empty() ? kind : FinishKind::kStop,
                                  static_cast<uint32_t>(f.num_output_tokens));
      char line[200];
      std::snprintf(line, sizeof(line),
                    "finished (%s): %u prompt + %d generated tokens, ttft %.1f ms, tpot %.1f ms, "
                    "total %.1f ms",
                    fe.finish == FinishKind::kStop ? "stop" : "length", l.prompt_tokens,
                    f.num_output_tokens, fe.time_to_first_token_ms,
                    fe.mean_time_per_output_token_ms, fe.total_ms);
      SPATTEN_LOG_INFO(RequestLog(l.name, line));
      l.sink->OnFinal(std::move(fe));
      const std::string name = l.name;
      s.by_name.erase(name);
      s.live.erase(it);
      retire(name);
    }
  };

  for (;;) {
    publish();
    std::deque<Impl::Submission> subs;
    std::vector<std::pair<std::string, FinishKind>> aborts;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(s.mu);
      if (!s.sched->HasUnfinished()) {
        s.wake.wait(lock, [&] { return !s.inbox.empty() || !s.aborts.empty() || s.stopping; });
      }
      subs.swap(s.inbox);
      aborts.swap(s.aborts);
      stopping = s.stopping;
    }
    if (stopping) {
      for (auto& sub : subs) {
        sub.sink->OnRejected(Status(StatusCode::kUnavailable, "server is shutting down"));
        retire(sub.request.request_id);
      }
      std::vector<scheduler::RequestId> ids;
      for (const auto& [id, l] : s.live) ids.push_back(id);
      for (auto id : ids) end_abnormally(id, FinishKind::kCancelled, "server shut down");
      publish();
      return;
    }
    for (auto& sub : subs) admit(std::move(sub));
    for (const auto& [name, kind] : aborts) {
      auto it = s.by_name.find(name);
      if (it == s.by_name.end()) continue;  // already finished
      end_abnormally(it->second, kind,
                     kind == FinishKind::kDeadline ? "deadline exceeded" : "cancelled by client");
    }
    if (s.sched->HasUnfinished()) step();
  }
}

}  // namespace spatten::server
