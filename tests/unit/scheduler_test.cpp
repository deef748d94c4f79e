// Scheduler with a fake model runner (no model, no threads): continuous batching, chunked
// prefill, admission by free blocks, preemption by recompute, aborts, priorities, pruning
// footprints, and a seeded randomized run checking the invariants after every step.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace spatten::scheduler {
namespace {

using kvcache::BlockPool;
using kvcache::BlockPoolConfig;
using kvcache::KvGeometry;

BlockPool MakePool(int32_t blocks, int32_t block_tokens) {
  BlockPoolConfig config{.geometry = KvGeometry{.num_layers = 1, .num_kv_heads = 1, .head_dim = 8},
                         .block_tokens = block_tokens, .byte_budget = 0};
  config.byte_budget = config.geometry.BytesPerToken() * static_cast<uint64_t>(block_tokens) *
                       static_cast<uint64_t>(blocks);
  return std::move(BlockPool::Create(config)).value();
}

// The token a fake model "samples" at a position: a pure function, so recompute after
// preemption must feed exactly these tokens back.
int32_t FakeToken(RequestId id, int64_t position) {
  return static_cast<int32_t>((id * 7919 + static_cast<uint64_t>(position) * 31) % 50000);
}

StepResult Result(RequestId id, std::optional<int32_t> token = std::nullopt) {
  StepResult r;
  r.id = id;
  r.token = token;
  return r;
}

NewRequest MakeRequest(RequestId id, int32_t prompt, int32_t max_tokens, int32_t priority = 0,
                       int64_t budget = 0) {
  NewRequest r;
  r.id = id;
  for (int32_t i = 0; i < prompt; ++i) r.prompt_tokens.push_back(FakeToken(id, i));
  r.max_tokens = max_tokens;
  r.priority = priority;
  r.kv_token_budget = budget;
  return r;
}

// Runs plans like an engine would and checks what the scheduler feeds it.
class FakeRunner {
 public:
  explicit FakeRunner(Scheduler& s) : s_(s) {}

  std::map<RequestId, int32_t> stop_after;  // id -> finish with kStop after this many tokens
  std::map<RequestId, std::vector<int32_t>> emitted;
  std::map<RequestId, FinishedRequest> finished;
  std::set<RequestId> aborted, preempted;
  int32_t max_step_tokens = 0;

  // One engine step; returns the plan it ran.
  BatchPlan Step() {
    auto plan_or = s_.Schedule();
    EXPECT_TRUE(plan_or.ok()) << plan_or.status().ToString();
    BatchPlan plan = std::move(plan_or).value();
    EXPECT_LE(plan.num_tokens, s_.config().max_tokens_per_step);
    EXPECT_LE(static_cast<int32_t>(plan.sequences.size()), s_.config().max_running);
    max_step_tokens = std::max(max_step_tokens, plan.num_tokens);
    for (RequestId id : plan.aborted) EXPECT_TRUE(aborted.insert(id).second);
    for (RequestId id : plan.preempted) preempted.insert(id);
    int32_t sum = 0;
    std::vector<StepResult> results;
    for (const ScheduledSequence& seq : plan.sequences) {
      sum += seq.num_tokens;
      const Request* r = s_.Find(seq.id);
      EXPECT_NE(r, nullptr);
      EXPECT_GE(seq.num_tokens, 1);
      // The fed tokens are the prompt, then exactly what this runner sampled earlier.
      for (int64_t p = seq.start_position; p < seq.start_position + seq.num_tokens; ++p) {
        const int64_t prompt = r->num_prompt_tokens();
        const int32_t expected = p < prompt ? FakeToken(seq.id, p) : emitted[seq.id][static_cast<size_t>(p - prompt)];
        EXPECT_EQ(r->token_at(p), expected) << "request " << seq.id << " position " << p;
      }
      StepResult res = Result(seq.id);
      if (seq.samples) {
        const int64_t pos = seq.start_position + seq.num_tokens;
        res.token = FakeToken(seq.id, pos);
        emitted[seq.id].push_back(*res.token);
        auto stop = stop_after.find(seq.id);
        res.stop = stop != stop_after.end() && static_cast<int32_t>(emitted[seq.id].size()) == stop->second;
      }
      if (r->kv_token_budget > 0) {
        // Amortised pruning: back down to the budget once past budget + slack.
        const int64_t held = r->num_kv_tokens + seq.num_tokens;
        if (held > r->kv_token_budget + s_.config().pruning_slack_tokens) res.kv_tokens_kept = r->kv_token_budget;
      }
      results.push_back(res);
    }
    EXPECT_EQ(sum, plan.num_tokens);
    auto done = s_.OnStepDone(results);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    for (const FinishedRequest& f : *done) EXPECT_TRUE(finished.emplace(f.id, f).second);
    Status inv = s_.CheckInvariants();
    EXPECT_TRUE(inv.ok()) << inv.ToString();
    return plan;
  }

  // Steps until nothing is left; returns the number of steps (bounded to catch livelock).
  int RunToIdle(int max_steps = 100000) {
    int steps = 0;
    while (s_.HasUnfinished() && steps < max_steps) {
      Step();
      ++steps;
    }
    EXPECT_FALSE(s_.HasUnfinished()) << "no progress after " << max_steps << " steps";
    Step();  // delivers the last finished/aborted lists
    return steps;
  }

 private:
  Scheduler& s_;
};

Scheduler MakeScheduler(BlockPool& pool, SchedulerConfig config) {
  auto s = Scheduler::Create(config, &pool);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(Scheduler, RejectsInvalidRequests) {
  BlockPool pool = MakePool(16, 4);  // 64 token slots
  SchedulerConfig config;
  config.max_context_tokens = 100;
  config.max_waiting = 2;
  Scheduler s = MakeScheduler(pool, config);

  auto code = [&](NewRequest r) { return s.AddRequest(std::move(r)); };
  Status st = code(MakeRequest(1, 0, 4));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("prompt:", 0), 0u) << st.message();
  st = code(MakeRequest(1, 4, 0));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("max_tokens:", 0), 0u) << st.message();
  st = code(MakeRequest(1, 101, 1));  // longer than the context
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("prompt:", 0), 0u) << st.message();
  st = code(MakeRequest(1, 90, 11));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("max_tokens:", 0), 0u) << st.message();
  // Fits the context but never the pool: refused up front instead of livelocking later.
  EXPECT_EQ(code(MakeRequest(1, 60, 10)).code(), StatusCode::kResourceExhausted);
  // ...unless pruning bounds its footprint.
  config.max_tokens_per_step = 8;
  config.pruning_slack_tokens = 4;
  Scheduler pruned = MakeScheduler(pool, config);
  EXPECT_TRUE(pruned.AddRequest(MakeRequest(1, 60, 10, 0, /*budget=*/16)).ok());

  EXPECT_TRUE(code(MakeRequest(1, 4, 4)).ok());
  EXPECT_EQ(code(MakeRequest(1, 4, 4)).code(), StatusCode::kInvalidArgument);  // id in use
  EXPECT_TRUE(code(MakeRequest(2, 4, 4)).ok());
  st = code(MakeRequest(3, 4, 4));  // bounded waiting queue
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("queue full"), std::string::npos);
  EXPECT_EQ(s.num_waiting(), 2);
}

TEST(Scheduler, ChunkedPrefillThenOneTokenPerStep) {
  BlockPool pool = MakePool(64, 4);
  SchedulerConfig config;
  config.max_tokens_per_step = 8;
  Scheduler s = MakeScheduler(pool, config);
  ASSERT_TRUE(s.AddRequest(MakeRequest(5, 20, 3)).ok());
  FakeRunner runner(s);
  std::vector<int32_t> sizes;
  std::vector<bool> samples;
  while (s.HasUnfinished()) {
    BatchPlan plan = runner.Step();
    ASSERT_EQ(plan.sequences.size(), 1u);
    sizes.push_back(plan.sequences[0].num_tokens);
    samples.push_back(plan.sequences[0].samples);
  }
  // 20 prompt tokens in chunks of 8, 8, 4 (the last samples token 1), then tokens 2 and 3.
  EXPECT_EQ(sizes, (std::vector<int32_t>{8, 8, 4, 1, 1}));
  EXPECT_EQ(samples, (std::vector<bool>{false, false, true, true, true}));
  ASSERT_TRUE(runner.finished.contains(5));
  EXPECT_EQ(runner.finished[5].reason, FinishReason::kLength);
  EXPECT_EQ(runner.finished[5].num_output_tokens, 3);
  EXPECT_EQ(pool.num_used_blocks(), 0);
  BatchPlan last = runner.Step();
  EXPECT_EQ(last.finished, std::vector<RequestId>{5});
  EXPECT_EQ(s.Find(5), nullptr);
}

TEST(Scheduler, ManyRequestsOverTimeAllFinishWithExactTotals) {
  BlockPool pool = MakePool(200, 8);
  SchedulerConfig config;
  config.max_running = 6;
  config.max_tokens_per_step = 32;
  config.max_context_tokens = 512;
  Scheduler s = MakeScheduler(pool, config);
  FakeRunner runner(s);
  std::mt19937 rng(7);
  std::map<RequestId, int32_t> max_tokens;
  for (RequestId id = 1; id <= 60; ++id) {
    const auto prompt = static_cast<int32_t>(1 + rng() % 100);
    const auto out = static_cast<int32_t>(1 + rng() % 40);
    max_tokens[id] = out;
    ASSERT_TRUE(s.AddRequest(MakeRequest(id, prompt, out)).ok());
    for (int k = 0; k < 3; ++k) runner.Step();  // requests keep arriving while others run
    EXPECT_LE(pool.num_used_blocks(), pool.num_blocks());
  }
  runner.RunToIdle();
  ASSERT_EQ(runner.finished.size(), max_tokens.size());
  for (const auto& [id, out] : max_tokens) {
    EXPECT_EQ(runner.finished[id].num_output_tokens, out) << id;
    EXPECT_EQ(static_cast<int32_t>(runner.emitted[id].size()), out) << id;
  }
  EXPECT_LE(runner.max_step_tokens, config.max_tokens_per_step);
  EXPECT_EQ(pool.num_used_blocks(), 0);
  EXPECT_EQ(pool.num_sequences(), 0u);
  EXPECT_GT(pool.Stats().peak_used_blocks, 0);
}

TEST(Scheduler, PreemptsUnderMemoryPressureAndRecomputes) {
  BlockPool pool = MakePool(12, 4);  // 48 token slots
  SchedulerConfig config;
  config.max_running = 8;
  config.max_tokens_per_step = 64;
  config.max_context_tokens = 64;
  Scheduler s = MakeScheduler(pool, config);
  FakeRunner runner(s);
  // Four requests whose prompts fit together but whose outputs do not.
  for (RequestId id = 1; id <= 4; ++id) ASSERT_TRUE(s.AddRequest(MakeRequest(id, 8, 24)).ok());
  runner.RunToIdle();
  EXPECT_GT(s.Stats().preemptions, 0u);
  EXPECT_FALSE(runner.preempted.empty());
  for (RequestId id = 1; id <= 4; ++id) {
    EXPECT_EQ(runner.finished[id].num_output_tokens, 24);
    EXPECT_EQ(runner.emitted[id].size(), 24u);
  }
  EXPECT_EQ(pool.num_used_blocks(), 0);
  // Recompute costs tokens: more were computed than prompt + output - 1 per request.
  EXPECT_GT(s.Stats().computed_tokens, 4u * (8 + 24 - 1));
}

TEST(Scheduler, VictimIsLowestPriorityThenLatestArrival) {
  BlockPool pool = MakePool(6, 4);  // 24 slots
  SchedulerConfig config;
  config.max_tokens_per_step = 64;
  config.max_context_tokens = 24;
  Scheduler s = MakeScheduler(pool, config);
  FakeRunner runner(s);
  ASSERT_TRUE(s.AddRequest(MakeRequest(1, 4, 12, /*priority=*/5)).ok());
  ASSERT_TRUE(s.AddRequest(MakeRequest(2, 4, 12, /*priority=*/0)).ok());
  ASSERT_TRUE(s.AddRequest(MakeRequest(3, 4, 12, /*priority=*/0)).ok());
  std::vector<RequestId> first_preempted;
  for (int i = 0; i < 100 && first_preempted.empty(); ++i) first_preempted = runner.Step().preempted;
  // Request 3: priority 0 like 2, but it arrived later.
  ASSERT_FALSE(first_preempted.empty());
  EXPECT_EQ(first_preempted.front(), 3u);
  runner.RunToIdle();
  for (RequestId id = 1; id <= 3; ++id) EXPECT_EQ(runner.finished[id].num_output_tokens, 12);
  EXPECT_FALSE(runner.preempted.contains(1));
}

TEST(Scheduler, PrioritiesOrderAdmission) {
  BlockPool pool = MakePool(64, 4);
  SchedulerConfig config;
  config.max_running = 1;
  Scheduler s = MakeScheduler(pool, config);
  FakeRunner runner(s);
  ASSERT_TRUE(s.AddRequest(MakeRequest(1, 4, 2, 0)).ok());
  runner.Step();  // 1 runs alone
  ASSERT_TRUE(s.AddRequest(MakeRequest(2, 4, 2, 0)).ok());
  ASSERT_TRUE(s.AddRequest(MakeRequest(3, 4, 2, 9)).ok());
  ASSERT_TRUE(s.AddRequest(MakeRequest(4, 4, 2, -3)).ok());
  ASSERT_TRUE(s.AddRequest(MakeRequest(5, 4, 2, 9)).ok());
  std::vector<RequestId> admitted_order;
  while (s.HasUnfinished()) {
    BatchPlan plan = runner.Step();
    for (const auto& seq : plan.sequences) {
      if (seq.start_position == 0) admitted_order.push_back(seq.id);
    }
  }
  // Waiting ones never preempt the running one; then priority, then arrival.
  EXPECT_EQ(admitted_order, (std::vector<RequestId>{3, 5, 2, 4}));
}

TEST(Scheduler, AbortFreesBlocksByTheNextStep) {
  BlockPool pool = MakePool(64, 4);
  SchedulerConfig config;
  Scheduler s = MakeScheduler(pool, config);
  FakeRunner runner(s);
  ASSERT_TRUE(s.AddRequest(MakeRequest(1, 10, 20)).ok());
  ASSERT_TRUE(s.AddRequest(MakeRequest(2, 10, 20)).ok());
  runner.Step();
  runner.Step();
  const int32_t used = pool.num_used_blocks();
  const auto held_by_1 = static_cast<int32_t>(pool.BlockTable(1).size());
  ASSERT_GT(held_by_1, 0);

  // Between steps: freed at once, reported in the next plan.
  ASSERT_TRUE(s.Abort(1).ok());
  EXPECT_EQ(pool.num_used_blocks(), used - held_by_1);
  EXPECT_EQ(s.Abort(1).code(), StatusCode::kNotFound);
  BatchPlan plan = runner.Step();
  EXPECT_EQ(plan.aborted, std::vector<RequestId>{1});
  for (const auto& seq : plan.sequences) EXPECT_NE(seq.id, 1u);

  // During a step: the result is ignored and the blocks freed when the step ends.
  auto next = s.Schedule();
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->sequences.size(), 1u);
  ASSERT_TRUE(s.Abort(2).ok());
  EXPECT_TRUE(pool.Contains(2));  // the engine is still using them
  StepResult res = Result(2, 42);
  ASSERT_TRUE(s.OnStepDone(std::span<const StepResult>(&res, 1)).ok());
  EXPECT_FALSE(pool.Contains(2));
  EXPECT_EQ(pool.num_used_blocks(), 0);
  EXPECT_EQ(runner.Step().aborted, std::vector<RequestId>{2});

  // Waiting requests abort too.
  ASSERT_TRUE(s.AddRequest(MakeRequest(3, 4, 4)).ok());
  ASSERT_TRUE(s.Abort(3).ok());
  EXPECT_EQ(s.num_waiting(), 0);
  EXPECT_EQ(s.Stats().aborted, 3u);
  EXPECT_TRUE(s.CheckInvariants().ok());
}

TEST(Scheduler, StopFinishesEarly) {
  BlockPool pool = MakePool(64, 4);
  Scheduler s = MakeScheduler(pool, SchedulerConfig{});
  FakeRunner runner(s);
  runner.stop_after[1] = 3;
  ASSERT_TRUE(s.AddRequest(MakeRequest(1, 5, 10)).ok());
  runner.RunToIdle();
  EXPECT_EQ(runner.finished[1].reason, FinishReason::kStop);
  EXPECT_EQ(runner.finished[1].num_output_tokens, 3);
  EXPECT_EQ(pool.num_used_blocks(), 0);
}

TEST(Scheduler, RejectsResultsThatDoNotMatchThePlan) {
  BlockPool pool = MakePool(64, 4);
  SchedulerConfig config;
  config.max_tokens_per_step = 4;
  Scheduler s = MakeScheduler(pool, config);
  ASSERT_TRUE(s.AddRequest(MakeRequest(1, 10, 2)).ok());
  auto plan = s.Schedule();
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(s.Schedule().status().code(), StatusCode::kFailedPrecondition);
  StepResult wrong_id = Result(9);
  EXPECT_EQ(s.OnStepDone(std::span<const StepResult>(&wrong_id, 1)).status().code(), StatusCode::kInternal);
  StepResult sampled_too_early = Result(1, 3);  // a partial prefill chunk
  EXPECT_EQ(s.OnStepDone(std::span<const StepResult>(&sampled_too_early, 1)).status().code(), StatusCode::kInternal);
  EXPECT_EQ(s.OnStepDone({}).status().code(), StatusCode::kInternal);
  EXPECT_EQ(s.Find(1)->num_computed_tokens, 0);  // nothing applied
  StepResult ok = Result(1);
  ASSERT_TRUE(s.OnStepDone(std::span<const StepResult>(&ok, 1)).ok());
  EXPECT_EQ(s.Find(1)->num_computed_tokens, 4);
}

TEST(Scheduler, PruningShrinksBlocksAndProjectedAdmissionAdmitsMore) {
  // Long generations: unpruned each needs 8 + 120 = 128 slots (32 blocks); with a 16-token
  // budget the projection is 16 + 4 slack + 8 chunk = 28 slots (7 blocks).
  auto run = [](int64_t budget, int32_t* max_running_seen, uint64_t* preemptions) {
    BlockPool pool = MakePool(40, 4);
    SchedulerConfig config;
    config.max_running = 16;
    config.max_tokens_per_step = 8;
    config.pruning_slack_tokens = 4;
    config.admission = AdmissionPolicy::kReserveProjected;
    Scheduler s = MakeScheduler(pool, config);
    FakeRunner runner(s);
    for (RequestId id = 1; id <= 8; ++id) EXPECT_TRUE(s.AddRequest(MakeRequest(id, 8, 120, 0, budget)).ok());
    *max_running_seen = 0;
    while (s.HasUnfinished()) {
      runner.Step();
      *max_running_seen = std::max(*max_running_seen, s.num_running());
      if (budget > 0) {
        for (RequestId id = 1; id <= 8; ++id) {
          if (const Request* r = s.Find(id)) {
            EXPECT_LE(r->num_kv_tokens, budget + 4);
          }
        }
      }
    }
    for (RequestId id = 1; id <= 8; ++id) EXPECT_EQ(runner.finished[id].num_output_tokens, 120);
    EXPECT_EQ(pool.num_used_blocks(), 0);
    *preemptions = s.Stats().preemptions;
  };
  int32_t unpruned_running = 0, pruned_running = 0;
  uint64_t unpruned_preemptions = 0, pruned_preemptions = 0;
  run(0, &unpruned_running, &unpruned_preemptions);
  run(16, &pruned_running, &pruned_preemptions);
  EXPECT_EQ(unpruned_running, 1);  // 32 of 40 blocks reserved per request
  EXPECT_EQ(pruned_running, 5);    // floor(40 / 7)
  EXPECT_EQ(unpruned_preemptions, 0u);  // reserving the projection never needs to preempt
  EXPECT_EQ(pruned_preemptions, 0u);
}

// Seeded random workload: arrivals, lengths, priorities, budgets, stops and aborts over
// thousands of steps, with every invariant checked after every step (FakeRunner::Step).
TEST(Scheduler, RandomizedInvariants) {
  for (AdmissionPolicy admission : {AdmissionPolicy::kOptimistic, AdmissionPolicy::kReserveProjected}) {
    BlockPool pool = MakePool(96, 8);
    SchedulerConfig config;
    config.max_running = 10;
    config.max_tokens_per_step = 48;
    config.max_prefill_chunk = 24;
    config.max_waiting = 20;
    config.max_context_tokens = 400;
    config.watermark_blocks = 2;
    config.pruning_slack_tokens = 8;
    config.admission = admission;
    Scheduler s = MakeScheduler(pool, config);
    FakeRunner runner(s);
    std::mt19937_64 rng(admission == AdmissionPolicy::kOptimistic ? 12345 : 54321);
    std::map<RequestId, int32_t> max_tokens;
    std::set<RequestId> abort_ok;
    RequestId next_id = 1;
    int refused = 0;
    for (int step = 0; step < 4000; ++step) {
      if (rng() % 3 == 0) {
        const auto prompt = static_cast<int32_t>(1 + rng() % 200);
        const auto out = static_cast<int32_t>(1 + rng() % 150);
        const auto priority = static_cast<int32_t>(rng() % 3);
        const int64_t budget = rng() % 4 == 0 ? static_cast<int64_t>(16 + rng() % 48) : 0;
        const RequestId id = next_id++;
        if (rng() % 10 == 0) runner.stop_after[id] = static_cast<int32_t>(1 + rng() % static_cast<uint64_t>(out));
        Status st = s.AddRequest(MakeRequest(id, prompt, out, priority, budget));
        if (st.ok()) {
          max_tokens[id] = out;
        } else {
          ASSERT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
          ++refused;
        }
      }
      if (rng() % 25 == 0 && !max_tokens.empty()) {
        // Abort a random live request (some are already finished: NotFound is fine).
        auto it = max_tokens.begin();
        std::advance(it, static_cast<long>(rng() % max_tokens.size()));
        if (s.Abort(it->first).ok()) abort_ok.insert(it->first);
      }
      runner.Step();
      ASSERT_FALSE(testing::Test::HasFailure()) << "at step " << step;
    }
    runner.RunToIdle();
    const SchedulerStats stats = s.Stats();
    std::cout << "[ stats    ] " << (admission == AdmissionPolicy::kOptimistic ? "optimistic" : "reserve-projected")
              << ": accepted " << max_tokens.size() << ", refused " << refused << ", aborted " << abort_ok.size()
              << ", preemptions " << stats.preemptions << ", steps " << stats.steps << ", computed tokens "
              << stats.computed_tokens << ", peak blocks " << pool.Stats().peak_used_blocks << "/" << pool.num_blocks()
              << "\n";
    EXPECT_GT(refused, 0);  // the bounded queue was exercised
    EXPECT_FALSE(abort_ok.empty());
    if (admission == AdmissionPolicy::kOptimistic) {
      EXPECT_GT(s.Stats().preemptions, 0u);
    }
    for (const auto& [id, out] : max_tokens) {
      if (abort_ok.contains(id)) {
        EXPECT_TRUE(runner.aborted.contains(id)) << id;
        EXPECT_FALSE(runner.finished.contains(id)) << id;
        continue;
      }
      ASSERT_TRUE(runner.finished.contains(id)) << id;
      const auto stop = runner.stop_after.find(id);
      const int32_t expected = stop != runner.stop_after.end() ? stop->second : out;
      EXPECT_EQ(runner.finished[id].num_output_tokens, expected) << id;
      EXPECT_EQ(static_cast<int32_t>(runner.emitted[id].size()), expected) << id;
    }
    EXPECT_EQ(pool.num_used_blocks(), 0);
    EXPECT_EQ(pool.num_sequences(), 0u);
    EXPECT_LE(runner.max_step_tokens, config.max_tokens_per_step);
    EXPECT_EQ(s.Stats().finished + s.Stats().aborted, max_tokens.size());
  }
}

}  // namespace
}  // namespace spatten::scheduler
