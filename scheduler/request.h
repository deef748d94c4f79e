// A request as the scheduler sees it: token ids, limits, priority and progress. No text, no
// sampling parameters, no model state: those belong to the engine loop, keyed by the same id.
//
// Progress follows vLLM v1: a request has `num_tokens()` tokens (prompt + generated so far) and
// `num_computed_tokens` of them have been run through the model. Each step computes some of the
// missing ones; there is no separate prefill phase. When computed catches up with the total
// the model samples one token, which makes the total one larger again (a decode step computes
// exactly that token). Preemption by recompute sets computed back to 0 and keeps the
// generated tokens, so the request later re-prefills prompt + output and continues.
//
// Invariants (checked by Scheduler::CheckInvariants):
//   0 <= num_computed_tokens <= num_tokens();  output size <= max_tokens;
//   num_kv_tokens <= num_computed_tokens (pruning can only lower it);
//   waiting/preempted requests hold no KV blocks and have num_computed_tokens == 0.
//
// Owned by the Scheduler; callers get const access only. Not thread-safe (engine thread).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace spatten::scheduler {

using RequestId = uint64_t;

enum class RequestStatus {
  kWaiting,    // admitted to the queue, never ran (or ran and was preempted: see kPreempted)
  kRunning,    // holds KV blocks and is computed every step the token budget allows
  kPreempted,  // waiting again after its blocks were taken back; will recompute from 0
  kFinished,   // done; reported once in the next BatchPlan, then forgotten
};

std::string_view RequestStatusName(RequestStatus status);

// What the caller hands to Scheduler::AddRequest.
struct NewRequest {
  RequestId id = 0;                    // unique among live requests
  std::vector<int32_t> prompt_tokens;  // >= 1 token
  int32_t max_tokens = 0;              // tokens to generate, >= 1
  int32_t priority = 0;                // larger values are served first; ties by arrival
  // Pruning: the most context tokens the request's KV keeps (resolved by the caller from the
  // API's count or ratio); 0 = unpruned. The engine must report, after every step, a kept
  // count <= kv_token_budget + SchedulerConfig::pruning_slack_tokens (pruning is amortised),
  // which lets the scheduler project a smaller KV footprint for admission.
  int64_t kv_token_budget = 0;
};

struct Request {
  RequestId id = 0;
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> output_tokens;
  int32_t max_tokens = 0;
  int32_t priority = 0;
  uint64_t arrival = 0;  // order of AddRequest calls, from 0
  RequestStatus status = RequestStatus::kWaiting;

  int64_t num_computed_tokens = 0;
  // Token slots the request holds in KV memory now: equal to num_computed_tokens unless the
  // engine pruned (then the kept count it reported).
  int64_t num_kv_tokens = 0;
  int64_t kv_token_budget = 0;
  // The most KV token slots the request can need at once over its life (admission by
  // projected footprint); prompt + max_tokens when unpruned.
  int64_t projected_peak_kv_tokens = 0;
  int32_t num_preemptions = 0;
  // Abort() arrived while the request was part of the step in flight; freed when it ends.
  bool abort_requested = false;

  int64_t num_prompt_tokens() const { return static_cast<int64_t>(prompt_tokens.size()); }
  int64_t num_output_tokens() const { return static_cast<int64_t>(output_tokens.size()); }
  int64_t num_tokens() const { return num_prompt_tokens() + num_output_tokens(); }
  // Token at position `pos` of prompt + output (what the engine feeds for a step).
  int32_t token_at(int64_t pos) const {
    return pos < num_prompt_tokens() ? prompt_tokens[static_cast<size_t>(pos)]
                                     : output_tokens[static_cast<size_t>(pos - num_prompt_tokens())];
  }
};

}  // namespace spatten::scheduler
