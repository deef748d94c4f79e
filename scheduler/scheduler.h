// Scheduler: iteration-level continuous batching over the KV block pool. This is policy only:
// it decides which requests compute how many tokens in the next engine step, who is admitted
// and who is preempted. The block pool (kvcache/block_pool.h) is the mechanism that answers
// whether memory fits; the engine loop runs the model on the plan. No model, no threads, no
// clocks: the scheduler is driven entirely by its caller, so tests run it with a fake model.
//
// One engine step:
//   plan = scheduler.Schedule();         // BatchPlan: plain data
//   results = run_model(plan);           // one StepResult per plan.sequences entry
//   finished = scheduler.OnStepDone(results);
// Abort(id) may be called at any time between those calls (cancel, disconnect, deadline).
//
// Policy, per step (Schedule):
//   1. Running requests first, highest priority then earliest arrival: each gets
//      min(missing tokens, token budget left, prefill chunk limit) tokens (1 when decoding).
//      If the pool cannot hold them, the running request with the lowest priority and the
//      latest arrival is preempted by recompute (all blocks freed, back to the waiting queue,
//      computed tokens reset) until it fits; that victim may be the request itself.
//   2. Then, unless a preemption happened this step (admitting now would only thrash),
//      waiting requests in (priority desc, arrival asc) order are admitted while the token
//      budget, max_running and free blocks allow. Admission is strictly in order: the first
//      request that does not fit stops admission, so a large request is not starved by small
//      ones behind it. Waiting requests never preempt running ones.
//   Admission test (SchedulerConfig::admission):
//     kOptimistic        the blocks for the first chunk are free beyond the watermark
//                        (vLLM's behaviour; later growth may cause preemption);
//     kReserveProjected  the request's projected peak footprint fits in the blocks left after
//                        every running request's projected growth. With pruning budgets the
//                        projection is small (budget + slack + chunk, not prompt + max_tokens),
//                        which is how pruning admits more concurrent requests; without
//                        pruning this mode never preempts.
//
// Guarantees: the plan's token count never exceeds max_tokens_per_step; at most max_running
// requests run; a request's KV blocks are released by the time the next plan is returned after
// it finishes or is aborted (immediately when no step is in flight); every accepted request
// eventually finishes with exactly max_tokens tokens unless the engine reports a stop or it
// is aborted (AddRequest refuses requests whose projected peak exceeds the whole pool).
//
// Thread safety: none. The scheduler and its BlockPool belong to the engine thread; other
// threads talk to the engine through its own queues and read the pool's atomic statistics.
// The pool is borrowed (not owned) and must outlive the scheduler.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "kvcache/block_pool.h"
#include "scheduler/request.h"

namespace spatten::scheduler {

enum class AdmissionPolicy { kOptimistic, kReserveProjected };

struct SchedulerConfig {
  int32_t max_running = 16;           // sequences per step, >= 1
  int32_t max_tokens_per_step = 512;  // decode + prefill tokens per step, >= 1
  int32_t max_prefill_chunk = 0;      // tokens of one request per step; 0 = the step budget
  int32_t max_waiting = 256;          // new (never run) waiting requests; beyond: refused
  int64_t max_context_tokens = 2048;  // prompt + max_tokens of one request
  int32_t watermark_blocks = 0;       // kOptimistic: blocks left free when admitting
  int32_t pruning_slack_tokens = 32;  // see NewRequest::kv_token_budget
  AdmissionPolicy admission = AdmissionPolicy::kOptimistic;

  Status Validate() const;
  int32_t prefill_chunk() const { return max_prefill_chunk > 0 ? max_prefill_chunk : max_tokens_per_step; }
};

// One request's share of a step: compute tokens [start_position, start_position + num_tokens)
// of its prompt + output (Request::token_at), with KV in pool.BlockTable(id).
struct ScheduledSequence {
  RequestId id = 0;
  int64_t start_position = 0;  // == the request's computed tokens before the step
  int32_t num_tokens = 0;      // >= 1; 1 for a decode step
  // The step reaches the end of the known tokens: the engine samples one token and must
  // return it. False for a partial prefill chunk (no token sampled).
  bool samples = false;
};

struct BatchPlan {
  uint64_t step = 0;                        // 1, 2, ... per Schedule call
  std::vector<ScheduledSequence> sequences; // in priority order
  int32_t num_tokens = 0;                   // sum of sequences[i].num_tokens
  // Requests whose KV was taken back this step (their blocks are already free); the engine
  // drops their per-sequence state. They reappear later with start_position 0.
  std::vector<RequestId> preempted;
  // Requests that finished (OnStepDone) or were aborted since the previous plan, blocks
  // already free; the engine drops their state. Each id appears once, ever.
  std::vector<RequestId> finished;
  std::vector<RequestId> aborted;

  bool empty() const {
    return sequences.empty() && preempted.empty() && finished.empty() && aborted.empty();
  }
};

// The engine's report for one ScheduledSequence.
struct StepResult {
  RequestId id = 0;
  std::optional<int32_t> token;  // present iff the sequence's `samples` was true
  bool stop = false;             // the engine finished it (EOS / stop string); needs a token
  // After pruning: the context tokens the request keeps in KV (<= tokens it had). Absent:
  // nothing was pruned. The scheduler then returns the tail blocks to the pool.
  std::optional<int64_t> kv_tokens_kept;
};

enum class FinishReason { kStop, kLength };

struct FinishedRequest {
  RequestId id = 0;
  FinishReason reason = FinishReason::kLength;
  int32_t num_output_tokens = 0;
};

struct SchedulerStats {
  uint64_t steps = 0;
  uint64_t added = 0;
  uint64_t admitted = 0;       // transitions waiting/preempted -> running
  uint64_t preemptions = 0;
  uint64_t finished = 0;
  uint64_t aborted = 0;
  uint64_t computed_tokens = 0;  // prefill + recompute + decode tokens run
  int32_t running = 0;
  int32_t waiting = 0;          // including preempted
  int32_t preempted_waiting = 0;
};

class Scheduler {
 public:
  // InvalidArgument for a bad config; `pool` must be non-null and outlive the scheduler.
  static Result<Scheduler> Create(const SchedulerConfig& config, kvcache::BlockPool* pool);

  // Queues a request. InvalidArgument (message names the field) for an empty prompt,
  // max_tokens < 1, a prompt or prompt + max_tokens beyond max_context_tokens, a negative
  // budget or an id already in use; ResourceExhausted when max_waiting new requests already
  // wait, or when the request's projected peak KV exceeds the whole pool (it could never run).
  Status AddRequest(NewRequest request);

  // Cancels a request in any state. Its blocks are freed now, or when the step in flight ends
  // if the request is part of it (its result is then ignored); it is listed in the next plan's
  // `aborted`. NotFound for an unknown or already finished id.
  Status Abort(RequestId id);

  // Plans the next step (see the file comment). FailedPrecondition when the previous plan's
  // OnStepDone has not been called.
  Result<BatchPlan> Schedule();

  // Applies the results of the last plan: exactly one per scheduled sequence, any order
  // (a result for a sequence aborted meanwhile may be present or absent). Returns the requests
  // that finished. Internal (and nothing applied) when the results do not match the plan.
  Result<std::vector<FinishedRequest>> OnStepDone(std::span<const StepResult> results);

  // A live (not yet reported finished) request; nullptr otherwise.
  const Request* Find(RequestId id) const;
  bool HasUnfinished() const { return !running_.empty() || !waiting_.empty(); }
  bool step_in_flight() const { return step_in_flight_; }
  int32_t num_running() const { return static_cast<int32_t>(running_.size()); }
  int32_t num_waiting() const { return static_cast<int32_t>(waiting_.size()); }
  SchedulerStats Stats() const;
  const SchedulerConfig& config() const { return config_; }
  const kvcache::BlockPool& pool() const { return *pool_; }

  // Cross-checks queues, request states and the pool; for tests.
  Status CheckInvariants() const;

 private:
  Scheduler(const SchedulerConfig& config, kvcache::BlockPool* pool) : config_(config), pool_(pool) {}

  // (priority desc, arrival asc): true when a is served before b.
  bool ServedBefore(RequestId a, RequestId b) const;
  void InsertWaiting(RequestId id);
  void EraseFrom(std::vector<RequestId>& queue, RequestId id);
  void Preempt(Request& request);
  void Retire(RequestId id, std::vector<RequestId>& report);
  bool AdmissionFits(const Request& request, int32_t first_chunk) const;
  int64_t ProjectedPeak(const NewRequest& request) const;
  Request& Get(RequestId id) { return requests_.at(id); }

  SchedulerConfig config_;
  kvcache::BlockPool* pool_;
  std::unordered_map<RequestId, Request> requests_;
  std::vector<RequestId> running_;  // admission order; sorted by priority at each Schedule
  std::vector<RequestId> waiting_;  // kept sorted by ServedBefore
  int32_t num_new_waiting_ = 0;     // waiting_ entries in state kWaiting (the bounded part)
  uint64_t next_arrival_ = 0;

  bool step_in_flight_ = false;
  std::unordered_map<RequestId, int32_t> in_flight_;  // id -> tokens scheduled this step
  std::vector<ScheduledSequence> in_flight_order_;
  std::vector<RequestId> pending_finished_;
  std::vector<RequestId> pending_aborted_;
  SchedulerStats stats_;
};

}  // namespace spatten::scheduler
