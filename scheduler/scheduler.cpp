// Scheduler implementation (policy described in scheduler.h).
#include "scheduler/scheduler.h"

#include <algorithm>
#include <string>
#include <unordered_set>

namespace spatten::scheduler {

std::string_view RequestStatusName(RequestStatus status) {
  switch (status) {
    case RequestStatus::kWaiting: return "waiting";
    case RequestStatus::kRunning: return "running";
    case RequestStatus::kPreempted: return "preempted";
    case RequestStatus::kFinished: return "finished";
  }
  return "?";
}

Status SchedulerConfig::Validate() const {
  if (max_running < 1) return InvalidArgument("scheduler max_running must be >= 1");
  if (max_tokens_per_step < 1) return InvalidArgument("scheduler max_tokens_per_step must be >= 1");
  if (max_prefill_chunk < 0) return InvalidArgument("scheduler max_prefill_chunk must be >= 0");
  if (max_waiting < 0) return InvalidArgument("scheduler max_waiting must be >= 0");
  if (max_context_tokens < 2) return InvalidArgument("scheduler max_context_tokens must be >= 2");
  if (watermark_blocks < 0) return InvalidArgument("scheduler watermark_blocks must be >= 0");
  if (pruning_slack_tokens < 0) return InvalidArgument("scheduler pruning_slack_tokens must be >= 0");
  return Status::Ok();
}

Result<Scheduler> Scheduler::Create(const SchedulerConfig& config, kvcache::BlockPool* pool) {
  if (pool == nullptr) return InvalidArgument("scheduler: no block pool");
  SPATTEN_RETURN_IF_ERROR(config.Validate());
  return Scheduler(config, pool);
}

bool Scheduler::ServedBefore(RequestId a, RequestId b) const {
  const Request& ra = requests_.at(a);
  const Request& rb = requests_.at(b);
  if (ra.priority != rb.priority) return ra.priority > rb.priority;
  return ra.arrival < rb.arrival;
}

void Scheduler::InsertWaiting(RequestId id) {
  // A preempted request keeps its arrival number, so it goes back in front of every request
  // of its priority that arrived after it (vLLM puts preempted requests at the queue front).
  auto pos = std::upper_bound(waiting_.begin(), waiting_.end(), id,
                              [this](RequestId a, RequestId b) { return ServedBefore(a, b); });
  waiting_.insert(pos, id);
}

void Scheduler::EraseFrom(std::vector<RequestId>& queue, RequestId id) {
  auto it = std::find(queue.begin(), queue.end(), id);
  if (it != queue.end()) queue.erase(it);
}

int64_t Scheduler::ProjectedPeak(const NewRequest& request) const {
  const int64_t full = static_cast<int64_t>(request.prompt_tokens.size()) + request.max_tokens;
  if (request.kv_token_budget <= 0) return full;
  // Between prunings the cache may hold budget + slack tokens, and one step adds at most a
  // prefill chunk on top of that before the engine prunes again.
  const int64_t pruned = request.kv_token_budget + config_.pruning_slack_tokens + config_.prefill_chunk();
  return std::min(full, pruned);
}

Status Scheduler::AddRequest(NewRequest request) {
  const auto prompt = static_cast<int64_t>(request.prompt_tokens.size());
  const std::string id = std::to_string(request.id);
  if (requests_.contains(request.id)) return InvalidArgument("request_id: " + id + " is already in use");
  if (prompt == 0) return InvalidArgument("prompt: empty (request " + id + ")");
  if (request.max_tokens < 1) {
    return InvalidArgument("max_tokens: must be >= 1, got " + std::to_string(request.max_tokens));
  }
  if (prompt > config_.max_context_tokens) {
    return InvalidArgument("prompt: " + std::to_string(prompt) + " tokens exceed the context of " +
                           std::to_string(config_.max_context_tokens) + " tokens");
  }
  if (prompt + request.max_tokens > config_.max_context_tokens) {
    return InvalidArgument("max_tokens: " + std::to_string(request.max_tokens) + " + " +
                           std::to_string(prompt) + " prompt tokens exceed the context of " +
                           std::to_string(config_.max_context_tokens) + " tokens");
  }
  if (request.kv_token_budget < 0) {
    return InvalidArgument("pruning.budget_tokens: must be >= 0, got " + std::to_string(request.kv_token_budget));
  }
  const int64_t peak = ProjectedPeak(request);
  if (pool_->BlocksForTokens(peak) > pool_->num_blocks()) {
    return ResourceExhausted("request " + id + " needs " + std::to_string(pool_->BlocksForTokens(peak)) +
                             " KV blocks at its peak (" + std::to_string(peak) + " tokens); the pool has " +
                             std::to_string(pool_->num_blocks()));
  }
  if (num_new_waiting_ >= config_.max_waiting) {
    return ResourceExhausted("waiting queue full (" + std::to_string(config_.max_waiting) + " requests)");
  }

  Request r;
  r.id = request.id;
  r.prompt_tokens = std::move(request.prompt_tokens);
  r.max_tokens = request.max_tokens;
  r.priority = request.priority;
  r.arrival = next_arrival_++;
  r.kv_token_budget = request.kv_token_budget;
  r.projected_peak_kv_tokens = peak;
  const RequestId rid = r.id;
  requests_.emplace(rid, std::move(r));
  InsertWaiting(rid);
  ++num_new_waiting_;
  ++stats_.added;
  return Status::Ok();
}

void Scheduler::Retire(RequestId id, std::vector<RequestId>& report) {
  pool_->Free(id);
  requests_.erase(id);
  report.push_back(id);
}

Status Scheduler::Abort(RequestId id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second.status == RequestStatus::kFinished) {
    return NotFound("request " + std::to_string(id) + " is not queued or running");
  }
  Request& r = it->second;
  if (r.abort_requested) return Status::Ok();  // already aborting (a second cancel is harmless)
  ++stats_.aborted;
  if (step_in_flight_ && in_flight_.contains(id)) {
    // The engine is computing it right now; its blocks are in use until OnStepDone.
    r.abort_requested = true;
    return Status::Ok();
  }
  if (r.status == RequestStatus::kRunning) {
    EraseFrom(running_, id);
  } else {
    if (r.status == RequestStatus::kWaiting) --num_new_waiting_;
    EraseFrom(waiting_, id);
  }
  Retire(id, pending_aborted_);
  return Status::Ok();
}

void Scheduler::Preempt(Request& request) {
  pool_->Free(request.id);
  request.status = RequestStatus::kPreempted;
  request.num_computed_tokens = 0;
  request.num_kv_tokens = 0;
  ++request.num_preemptions;
  ++stats_.preemptions;
  InsertWaiting(request.id);
}

bool Scheduler::AdmissionFits(const Request& request, int32_t first_chunk) const {
  const int32_t free_blocks = pool_->num_free_blocks();
  if (config_.admission == AdmissionPolicy::kOptimistic) {
    return pool_->BlocksForTokens(first_chunk) + config_.watermark_blocks <= free_blocks;
  }
  // kReserveProjected: subtract what the running requests may still grow into.
  int64_t reserved_growth = 0;
  for (RequestId id : running_) {
    const Request& r = requests_.at(id);
    const int32_t held = static_cast<int32_t>(pool_->BlockTable(id).size());
    reserved_growth += std::max(0, pool_->BlocksForTokens(r.projected_peak_kv_tokens) - held);
  }
  return pool_->BlocksForTokens(request.projected_peak_kv_tokens) + reserved_growth <= free_blocks;
}

Result<BatchPlan> Scheduler::Schedule() {
  if (step_in_flight_) return FailedPrecondition("Schedule called before OnStepDone of step " + std::to_string(stats_.steps));
  BatchPlan plan;
  plan.step = ++stats_.steps;
  plan.finished = std::move(pending_finished_);
  plan.aborted = std::move(pending_aborted_);
  pending_finished_.clear();
  pending_aborted_.clear();
  in_flight_.clear();
  in_flight_order_.clear();

  int32_t budget = config_.max_tokens_per_step;
  const int32_t chunk = config_.prefill_chunk();
  auto schedule = [&](Request& r, int32_t n) {
    ScheduledSequence s;
    s.id = r.id;
    s.start_position = r.num_computed_tokens;
    s.num_tokens = n;
    s.samples = r.num_computed_tokens + n == r.num_tokens();
    plan.sequences.push_back(s);
    plan.num_tokens += n;
    in_flight_.emplace(r.id, n);
    budget -= n;
  };

  // 1. Running requests, most important first, so that victims come from the tail.
  std::stable_sort(running_.begin(), running_.end(),
                   [this](RequestId a, RequestId b) { return ServedBefore(a, b); });
  bool preempted_this_step = false;
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Request& r = Get(running_[i]);
    const int64_t missing = r.num_tokens() - r.num_computed_tokens;
    if (missing <= 0) {  // cannot happen (a sampled token always extends the total); be safe
      ++i;
      continue;
    }
    const auto n = static_cast<int32_t>(std::min<int64_t>({missing, budget, chunk}));
    bool fits = true;
    while (!pool_->TryReserve(r.id, r.num_kv_tokens + n)) {
      Request& victim = Get(running_.back());
      running_.pop_back();
      Preempt(victim);
      plan.preempted.push_back(victim.id);
      preempted_this_step = true;
      if (victim.id == r.id) {
        fits = false;
        break;
      }
    }
    if (!fits) break;  // r was the last running request
    schedule(r, n);
    ++i;
  }

  // 2. Waiting requests, strictly in order.
  while (!preempted_this_step && !waiting_.empty() && budget > 0 &&
         static_cast<int32_t>(running_.size()) < config_.max_running) {
    Request& r = Get(waiting_.front());
    const auto n = static_cast<int32_t>(std::min<int64_t>({r.num_tokens(), budget, chunk}));
    if (!AdmissionFits(r, n) || !pool_->TryReserve(r.id, n)) break;
    if (r.status == RequestStatus::kWaiting) --num_new_waiting_;
    waiting_.erase(waiting_.begin());
    r.status = RequestStatus::kRunning;
    running_.push_back(r.id);
    ++stats_.admitted;
    schedule(r, n);
  }

  in_flight_order_ = plan.sequences;
  step_in_flight_ = !plan.sequences.empty();
  return plan;
}

Result<std::vector<FinishedRequest>> Scheduler::OnStepDone(std::span<const StepResult> results) {
  if (!step_in_flight_) {
    if (results.empty()) return std::vector<FinishedRequest>{};
    return Internal("OnStepDone: " + std::to_string(results.size()) + " results but no step in flight");
  }
  // Validate everything first so that a bad report changes nothing.
  std::unordered_map<RequestId, const StepResult*> by_id;
  for (const StepResult& res : results) {
    const std::string id = std::to_string(res.id);
    if (!in_flight_.contains(res.id)) return Internal("OnStepDone: request " + id + " was not scheduled");
    if (!by_id.emplace(res.id, &res).second) return Internal("OnStepDone: two results for request " + id);
  }
  for (const ScheduledSequence& s : in_flight_order_) {
    const Request& r = requests_.at(s.id);
    auto it = by_id.find(s.id);
    if (it == by_id.end()) {
      if (r.abort_requested) continue;
      return Internal("OnStepDone: no result for request " + std::to_string(s.id));
    }
    if (r.abort_requested) continue;
    const StepResult& res = *it->second;
    if (res.token.has_value() != s.samples) {
      return Internal("OnStepDone: request " + std::to_string(s.id) +
                      (s.samples ? " needs a sampled token" : " must not sample (partial prefill)"));
    }
    if (res.stop && !res.token) return Internal("OnStepDone: request " + std::to_string(s.id) + " stopped without a token");
    if (res.kv_tokens_kept && (*res.kv_tokens_kept < 0 || *res.kv_tokens_kept > r.num_kv_tokens + s.num_tokens)) {
      return Internal("OnStepDone: request " + std::to_string(s.id) + " kept " + std::to_string(*res.kv_tokens_kept) +
                      " KV tokens of " + std::to_string(r.num_kv_tokens + s.num_tokens));
    }
  }

  std::vector<FinishedRequest> finished;
  for (const ScheduledSequence& s : in_flight_order_) {
    Request& r = Get(s.id);
    if (r.abort_requested) {
      EraseFrom(running_, s.id);
      Retire(s.id, pending_aborted_);
      continue;
    }
    const StepResult& res = *by_id.at(s.id);
    r.num_computed_tokens += s.num_tokens;
    r.num_kv_tokens += s.num_tokens;
    stats_.computed_tokens += static_cast<uint64_t>(s.num_tokens);
    if (res.kv_tokens_kept) {
      r.num_kv_tokens = *res.kv_tokens_kept;
      pool_->Shrink(s.id, r.num_kv_tokens);
    }
    if (!res.token) continue;
    r.output_tokens.push_back(*res.token);
    const bool length = r.num_output_tokens() >= r.max_tokens;
    if (!res.stop && !length) continue;
    finished.push_back({s.id, res.stop ? FinishReason::kStop : FinishReason::kLength,
                        static_cast<int32_t>(r.num_output_tokens())});
    r.status = RequestStatus::kFinished;
    EraseFrom(running_, s.id);
    Retire(s.id, pending_finished_);
    ++stats_.finished;
  }
  step_in_flight_ = false;
  in_flight_.clear();
  in_flight_order_.clear();
  return finished;
}

const Request* Scheduler::Find(RequestId id) const {
  auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : &it->second;
}

SchedulerStats Scheduler::Stats() const {
  SchedulerStats s = stats_;
  s.running = num_running();
  s.waiting = num_waiting();
  s.preempted_waiting = num_waiting() - num_new_waiting_;
  return s;
}

Status Scheduler::CheckInvariants() const {
  SPATTEN_RETURN_IF_ERROR(pool_->CheckInvariants());
  if (static_cast<int32_t>(running_.size()) > config_.max_running) return Internal("more running requests than max_running");
  if (running_.size() + waiting_.size() != requests_.size()) {
    return Internal("queues hold " + std::to_string(running_.size() + waiting_.size()) + " requests, map " +
                    std::to_string(requests_.size()));
  }
  std::unordered_set<RequestId> seen;
  int32_t new_waiting = 0;
  int64_t blocks = 0;
  for (RequestId id : running_) {
    if (!seen.insert(id).second) return Internal("request " + std::to_string(id) + " queued twice");
    const Request& r = requests_.at(id);
    if (r.status != RequestStatus::kRunning) return Internal("request in running queue is " + std::string(RequestStatusName(r.status)));
    const auto held = static_cast<int32_t>(pool_->BlockTable(id).size());
    // During a step the blocks also cover the tokens being computed.
    auto flight = in_flight_.find(id);
    const int64_t slots = r.num_kv_tokens + (step_in_flight_ && flight != in_flight_.end() ? flight->second : 0);
    if (held != pool_->BlocksForTokens(slots)) {
      return Internal("request " + std::to_string(id) + " holds " + std::to_string(held) + " blocks for " +
                      std::to_string(slots) + " KV token slots");
    }
    blocks += held;
  }
  for (size_t i = 0; i < waiting_.size(); ++i) {
    RequestId id = waiting_[i];
    if (!seen.insert(id).second) return Internal("request " + std::to_string(id) + " queued twice");
    const Request& r = requests_.at(id);
    if (r.status == RequestStatus::kWaiting) ++new_waiting;
    else if (r.status != RequestStatus::kPreempted) return Internal("request in waiting queue is " + std::string(RequestStatusName(r.status)));
    if (r.num_computed_tokens != 0 || pool_->Contains(id)) return Internal("waiting request " + std::to_string(id) + " holds KV");
    if (i > 0 && ServedBefore(id, waiting_[i - 1])) return Internal("waiting queue out of order");
  }
  if (new_waiting != num_new_waiting_) return Internal("new-waiting counter mismatch");
  if (blocks != pool_->num_used_blocks()) return Internal("blocks held by running requests != pool's used blocks");
  for (const auto& [id, r] : requests_) {
    if (r.num_computed_tokens > r.num_tokens() || r.num_output_tokens() > r.max_tokens ||
        r.num_kv_tokens > r.num_computed_tokens) {
      return Internal("request " + std::to_string(id) + " progress out of range");
    }
  }
  return Status::Ok();
}

}  // namespace spatten::scheduler
