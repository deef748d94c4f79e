// Discrete-event implementation of the attention pipeline; see pipeline.h for the model.

#include "sim/pipeline.h"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <queue>

#include "sim/topk.h"

namespace spatten::sim {

std::string_view StageName(Stage s) {
  switch (s) {
    case Stage::kKeyFetch: return "key_fetch";
    case Stage::kQueryKey: return "query_key";
    case Stage::kSoftmax: return "softmax";
    case Stage::kLsbFetch: return "lsb_fetch";
    case Stage::kRecompute: return "recompute";
    case Stage::kLocalVTopK: return "local_v_topk";
    case Stage::kValueFetch: return "value_fetch";
    case Stage::kProbValue: return "prob_value";
    case Stage::kTokenTopK: return "token_topk";
  }
  return "?";
}

namespace {

enum class Ev : uint8_t { kAdmitK, kLsbFetch, kValueReady, kReleaseK, kReleaseV };

struct Event {
  uint64_t time;
  uint64_t seq;  // FIFO among equal times, so runs are deterministic
  uint32_t job;
  Ev kind;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

struct JobState {
  uint64_t k_occupancy = 0, v_occupancy = 0;
  uint64_t probs_ready = 0, v_issue = 0, v_done = 0, finish = 0, token_end = 0;
  bool probs_known = false, v_fetched = false, v_ready = false;
};

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

class Pipeline {
 public:
  Pipeline(const LoweredWorkload& work, const SimConfig& c, DramModel& dram, TopKEngine& local_topk,
           TopKEngine& token_topk)
      : work_(work), c_(c), dram_(dram), local_topk_(local_topk), token_topk_(token_topk), state_(work.jobs.size()) {
    for (size_t i = 0; i < work.jobs.size(); ++i) {
      const AttentionJob& j = work.jobs[i];
      // Buffers hold 12-bit lines: an 8+4-bit key, or one key of each head of a 6-bit pair.
      const uint64_t line = (static_cast<uint64_t>(j.head_dim) * 12 + 7) / 8;
      const uint64_t pair_lines = j.heads == 2 ? 1 : static_cast<uint64_t>(j.heads);
      state_[i].k_occupancy = std::min<uint64_t>(j.keys * line * pair_lines, static_cast<uint64_t>(c.key_sram_bytes));
      state_[i].v_occupancy = std::min<uint64_t>(j.values * line * pair_lines, static_cast<uint64_t>(c.value_sram_bytes));
    }
  }

  Result<PipelineResult> Run() {
    TryAdmitK(0);
    while (!events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      switch (e.kind) {
        case Ev::kAdmitK: admit_pending_ = false; TryAdmitK(e.time); break;
        case Ev::kLsbFetch: LsbFetch(e.job, e.time); break;
        case Ev::kValueReady: state_[e.job].v_ready = true; TryAdmitV(e.time); break;
        case Ev::kReleaseK: k_used_ -= state_[e.job].k_occupancy; TryAdmitK(e.time); break;
        case Ev::kReleaseV: v_used_ -= state_[e.job].v_occupancy; TryAdmitV(e.time); break;
      }
    }
    if (next_k_ != work_.jobs.size() || next_v_ != work_.jobs.size() || finished_ != work_.jobs.size())
      return Internal("pipeline stalled with " + std::to_string(work_.jobs.size() - finished_) + " jobs unfinished");
    return Summarise();
  }

 private:
  void Push(uint64_t time, uint32_t job, Ev kind) { events_.push(Event{time, seq_++, job, kind}); }

  uint64_t Address(const AttentionJob& j, int plane) const {
    // Each (layer, head) keeps its K MSB, K LSB and V planes in separate 4 MiB regions.
    return (j.address_slot * 3 + static_cast<uint64_t>(plane)) << 22;
  }

  uint64_t Rows(const AttentionJob& j, uint64_t queries) const { return static_cast<uint64_t>(j.heads) * queries; }

  // Q.K (or prob.V) on an array of `mults` multipliers, streaming behind a fetch.
  uint64_t Array(uint64_t& free, uint64_t issue, uint64_t data_done, uint64_t occupancy, Stage stage) {
    const uint64_t start = std::max(free, issue);
    const uint64_t end = std::max(start + occupancy, data_done + 1);
    free = end;
    result_.stage_busy[static_cast<int>(stage)] += occupancy;
    last_array_start_ = start;
    return end;
  }

  struct SoftmaxTiming { uint64_t decision, probs; };
  // Exp/accumulate streams behind Q.K; the divide pass needs the sum, so it follows.
  SoftmaxTiming Softmax(uint64_t qk_start, uint64_t qk_end, uint64_t rows, uint64_t keys) {
    const uint64_t per = rows * CeilDiv(keys, static_cast<uint64_t>(c_.softmax_parallelism));
    const uint64_t front = static_cast<uint64_t>(c_.softmax_dequant_cycles + c_.softmax_exp_cycles);
    const uint64_t exp_start = std::max(exp_free_, qk_start + front);
    const uint64_t exp_end = std::max(exp_start + per, qk_end + front);
    exp_free_ = exp_end;
    const uint64_t sum_ready = exp_end + static_cast<uint64_t>(c_.softmax_accumulate_cycles);
    const uint64_t div_start = std::max(div_free_, sum_ready);
    div_free_ = div_start + per;
    result_.stage_busy[static_cast<int>(Stage::kSoftmax)] += per;
    const auto divide = static_cast<uint64_t>(c_.softmax_divide_cycles);
    // The LSB decision needs only the row maximum over the sum: one division after the sum.
    return {sum_ready + divide, div_free_ + divide + static_cast<uint64_t>(c_.softmax_quant_cycles)};
  }

  void TryAdmitK(uint64_t now) {
    const auto capacity = static_cast<uint64_t>(c_.key_sram_bytes);
    while (next_k_ < work_.jobs.size()) {
      const auto j = static_cast<uint32_t>(next_k_);
      const JobState& s = state_[j];
      if (k_used_ > 0 && k_used_ + s.k_occupancy > capacity) return;
      if (c_.layer_barrier && j > 0 && (work_.jobs[j].layer != work_.jobs[j - 1].layer ||
                                        work_.jobs[j].iteration != work_.jobs[j - 1].iteration)) {
        if (barrier_pending_ > 0) return;  // re-tried when the token top-k is timed
        if (barrier_time_ > now) {
          if (!admit_pending_) { Push(barrier_time_, j, Ev::kAdmitK); admit_pending_ = true; }
          return;
        }
      }
      k_used_ += s.k_occupancy;
      ++next_k_;
      StartJob(j, now);
    }
  }

  void StartJob(uint32_t id, uint64_t now) {
    const AttentionJob& j = work_.jobs[id];
    if (j.token_topk_candidates > 0) ++barrier_pending_;
    uint64_t done = dram_.Read(now, Address(j, 0), j.key_msb_bytes, Traffic::kKeyMsb);
    if (j.lsb_upfront && j.key_lsb_bytes > 0)
      done = std::max(done, dram_.Read(now, Address(j, 1), j.key_lsb_bytes, Traffic::kKeyLsb));
    result_.stage_busy[static_cast<int>(Stage::kKeyFetch)] += done - now;
    const uint64_t rows = Rows(j, j.queries);
    const uint64_t qk_occ = rows * CeilDiv(j.keys * static_cast<uint64_t>(j.head_dim),
                                           static_cast<uint64_t>(c_.qk_multipliers));
    const uint64_t qk_end = Array(qk_free_, now, done, qk_occ, Stage::kQueryKey);
    const SoftmaxTiming sm = Softmax(last_array_start_, qk_end, rows, j.keys);
    if (!j.local_v_topk) Push(now, id, Ev::kValueReady);  // all V rows are needed: prefetch
    if (j.lsb_queries > 0 && !j.lsb_upfront && j.key_lsb_bytes > 0) {
      Push(sm.decision, id, Ev::kLsbFetch);
    } else {
      Push(qk_end, id, Ev::kReleaseK);
      ProbsReady(id, sm.probs);
    }
  }

  // The row's maximum probability fell below the threshold: fetch the LSB plane, recompute.
  void LsbFetch(uint32_t id, uint64_t now) {
    const AttentionJob& j = work_.jobs[id];
    const uint64_t done = dram_.Read(now, Address(j, 1), j.key_lsb_bytes, Traffic::kKeyLsb);
    result_.stage_busy[static_cast<int>(Stage::kLsbFetch)] += done - now;
    const uint64_t rows = Rows(j, j.lsb_queries);
    const uint64_t occ = rows * CeilDiv(j.keys * static_cast<uint64_t>(j.head_dim),
                                        static_cast<uint64_t>(c_.qk_multipliers));
    const uint64_t qk_end = Array(qk_free_, now, done, occ, Stage::kRecompute);
    const SoftmaxTiming sm = Softmax(last_array_start_, qk_end, rows, j.keys);
    Push(qk_end, id, Ev::kReleaseK);
    ProbsReady(id, sm.probs);
  }

  void ProbsReady(uint32_t id, uint64_t t) {
    const AttentionJob& j = work_.jobs[id];
    JobState& s = state_[id];
    if (j.token_topk_candidates > 0) {
      const uint64_t start = std::max(token_free_, t);
      const uint64_t cycles = token_topk_.Cycles(j.token_topk_candidates, j.token_topk_keep);
      token_free_ = start + cycles;
      s.token_end = token_free_;
      result_.stage_busy[static_cast<int>(Stage::kTokenTopK)] += cycles;
      barrier_time_ = std::max(barrier_time_, s.token_end);
      if (--barrier_pending_ == 0 && c_.layer_barrier && !admit_pending_) { Push(std::max(t, barrier_time_), id, Ev::kAdmitK); admit_pending_ = true; }
    }
    if (j.local_v_topk) {
      // One selection per job: the harness charges a fused pair's top-k once.
      // Many query rows (BERT-like jobs): time a bounded sample and scale it.
      const uint64_t samples = std::min<uint64_t>(j.queries, 64);
      uint64_t cycles = 0;
      for (uint64_t q = 0; q < samples; ++q) cycles += local_topk_.Cycles(j.keys, j.values);
      cycles = cycles / samples * j.queries + (cycles % samples) * j.queries / samples;
      const uint64_t start = std::max(local_free_, t);
      local_free_ = start + cycles;
      result_.stage_busy[static_cast<int>(Stage::kLocalVTopK)] += cycles;
      Push(local_free_, id, Ev::kValueReady);
    }
    s.probs_ready = t;
    s.probs_known = true;
    if (s.v_fetched) ProbValue(id);
  }

  void TryAdmitV(uint64_t now) {
    const auto capacity = static_cast<uint64_t>(c_.value_sram_bytes);
    while (next_v_ < work_.jobs.size() && state_[next_v_].v_ready) {
      JobState& s = state_[next_v_];
      if (v_used_ > 0 && v_used_ + s.v_occupancy > capacity) return;
      const AttentionJob& j = work_.jobs[next_v_];
      v_used_ += s.v_occupancy;
      s.v_issue = now;
      s.v_done = dram_.Read(now, Address(j, 2), j.value_bytes, Traffic::kValue);
      result_.stage_busy[static_cast<int>(Stage::kValueFetch)] += s.v_done - now;
      s.v_fetched = true;
      const auto id = static_cast<uint32_t>(next_v_++);
      if (s.probs_known) ProbValue(id);
    }
  }

  void ProbValue(uint32_t id) {
    const AttentionJob& j = work_.jobs[id];
    JobState& s = state_[id];
    const uint64_t occ = Rows(j, j.queries) * CeilDiv(j.values * static_cast<uint64_t>(j.head_dim),
                                                      static_cast<uint64_t>(c_.pv_multipliers));
    const uint64_t end = Array(pv_free_, std::max(s.v_issue, s.probs_ready), s.v_done, occ, Stage::kProbValue);
    Push(end, id, Ev::kReleaseV);
    s.finish = std::max(end, s.token_end);
    ++finished_;
  }

  PipelineResult Summarise() {
    std::map<int32_t, LayerBreakdown> layers;
    std::vector<uint32_t> order(work_.jobs.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return state_[a].finish < state_[b].finish; });
    uint64_t horizon = 0;
    for (uint32_t id : order) {
      const AttentionJob& j = work_.jobs[id];
      LayerBreakdown& l = layers[j.layer];
      l.layer = j.layer;
      ++l.jobs;
      l.heads += static_cast<uint64_t>(j.heads);
      l.dram_bytes += j.key_msb_bytes + j.value_bytes + (j.lsb_queries > 0 ? j.key_lsb_bytes : 0);
      if (state_[id].finish > horizon) {
        l.cycles += state_[id].finish - horizon;
        horizon = state_[id].finish;
      }
    }
    result_.total_cycles = horizon;
    for (auto& [id, l] : layers) result_.layers.push_back(l);
    result_.dram = dram_.stats();
    result_.dram_peak_bytes_per_cycle = dram_.PeakBytesPerCycle();
    result_.qk_mults = work_.qk_mults;
    result_.pv_mults = work_.pv_mults;
    result_.jobs = work_.jobs.size();
    return result_;
  }

  const LoweredWorkload& work_;
  const SimConfig& c_;
  DramModel& dram_;
  TopKEngine& local_topk_;
  TopKEngine& token_topk_;
  std::vector<JobState> state_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t seq_ = 0;
  size_t next_k_ = 0, next_v_ = 0, finished_ = 0;
  uint64_t k_used_ = 0, v_used_ = 0;
  uint64_t qk_free_ = 0, pv_free_ = 0, exp_free_ = 0, div_free_ = 0, local_free_ = 0, token_free_ = 0;
  uint64_t last_array_start_ = 0;
  uint64_t barrier_time_ = 0;
  int64_t barrier_pending_ = 0;
  bool admit_pending_ = false;
  PipelineResult result_;
};

}  // namespace

Result<PipelineResult> RunPipeline(const LoweredWorkload& work, const SimConfig& config) {
  SPATTEN_RETURN_IF_ERROR(ValidateSimConfig(config));
  SPATTEN_ASSIGN_OR_RETURN(std::unique_ptr<DramModel> dram, CreateDram(config));
  SPATTEN_ASSIGN_OR_RETURN(std::unique_ptr<TopKEngine> local_topk, CreateTopKEngine(config));
  SPATTEN_ASSIGN_OR_RETURN(std::unique_ptr<TopKEngine> token_topk, CreateTopKEngine(config));
  Pipeline pipeline(work, config, *dram, *local_topk, *token_topk);
  return pipeline.Run();
}

}  // namespace spatten::sim
