// Simulate RPC and Generate projection; see simulate_service.h.
#include "server/simulate_service.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "sim/config.h"
#include "sim/dense_trace.h"
#include "sim/workload_csv.h"

namespace spatten::server {
namespace {

// Work bound: DRAM transactions the pipeline would model for the dense baseline (the larger
// of the two runs): every row's L keys and values at up to 12 + 8 bits, per transaction.
Status CheckWork(const sim::Workload& w, const sim::SimConfig& config) {
  if (static_cast<int64_t>(w.rows.size()) > kMaxSimulateRows) {
    return ResourceExhausted("workload has " + std::to_string(w.rows.size()) + " attention rows, above the limit of " +
                             std::to_string(kMaxSimulateRows));
  }
  double key_rows = 0, bytes = 0;
  for (const sim::AttentionRow& r : w.rows) {
    const double l = static_cast<double>(r.sentence_length);
    key_rows += l;
    bytes += l * r.head_dim * 20.0 / 8.0;
  }
  if (key_rows > static_cast<double>(kMaxSimulateKeyRows)) {
    return ResourceExhausted("workload asks for " + std::to_string(static_cast<int64_t>(key_rows)) +
                             " key rows (sum of sentence_length), above the limit of " +
                             std::to_string(kMaxSimulateKeyRows));
  }
  // Scaled so that the default 32-byte transactions allow exactly the key-row limit at D = 64.
  const double max_transactions = static_cast<double>(kMaxSimulateKeyRows) * 64 * 20.0 / 8.0 / 32.0;
  if (bytes / static_cast<double>(std::max<int64_t>(1, config.hbm_transaction_bytes)) > max_transactions) {
    return ResourceExhausted("workload and hbm_transaction_bytes ask for more than " +
                             std::to_string(static_cast<int64_t>(max_transactions)) + " DRAM transactions");
  }
  return Status::Ok();
}

Result<sim::SimConfig> ResolveConfig(const std::string& preset, const std::vector<std::string>& overrides) {
  // Only the named presets: a request must never make the server open a file.
  const std::string base = preset.empty() ? "full" : preset;
  const auto presets = SimulationPresets();
  if (std::find(presets.begin(), presets.end(), base) == presets.end()) {
    return InvalidArgument("config: unknown preset '" + base + "' (accepted: full, eighth)");
  }
  if (overrides.size() > 256) return InvalidArgument("overrides: at most 256 entries");
  auto config = sim::ResolveSimConfig(base, overrides);
  if (!config.ok()) return InvalidArgument("config: " + config.status().message());
  return config;
}

// ModelWorkload.pruning -> keep ratios ("none": dense; "spatten": the cascade approximation of
// sim/dense_trace.h). The token budget becomes a fraction of the final context length.
Result<sim::PruneSpec> PruneFor(const v1::PruningConfig& p, uint32_t final_context) {
  sim::PruneSpec s;
  const std::string policy = p.policy().empty() ? "none" : p.policy();
  if (p.has_quantization()) {
    const uint32_t bits = p.quantization().msb_bits();
    if (bits != 4 && bits != 6 && bits != 8) {
      return InvalidArgument("model.pruning.quantization.msb_bits: must be 4, 6 or 8, got " + std::to_string(bits));
    }
    s.key_bits = s.value_bits = static_cast<int32_t>(bits);
  }
  if (policy == "none") {
    if (p.token_budget_case() != v1::PruningConfig::TOKEN_BUDGET_NOT_SET || p.has_head_pruning_ratio() ||
        p.has_local_v_ratio()) {
      return InvalidArgument("model.pruning: policy 'none' takes no budget, head_pruning_ratio or local_v_ratio");
    }
    return s;
  }
  if (policy != "spatten") {
    return InvalidArgument("model.pruning.policy: the accelerator model runs 'none' or 'spatten', got '" + policy +
                           "'");
  }
  switch (p.token_budget_case()) {
    case v1::PruningConfig::kBudgetRatio:
      if (!(p.budget_ratio() > 0.0f && p.budget_ratio() <= 1.0f)) {
        return InvalidArgument("model.pruning.budget_ratio: must be in (0, 1]");
      }
      s.token_keep = p.budget_ratio();
      break;
    case v1::PruningConfig::kBudgetTokens:
      if (p.budget_tokens() < 1) return InvalidArgument("model.pruning.budget_tokens: must be >= 1");
      s.token_keep = std::min(1.0, static_cast<double>(p.budget_tokens()) / std::max(1u, final_context));
      break;
    case v1::PruningConfig::TOKEN_BUDGET_NOT_SET:
      break;
  }
  if (p.has_head_pruning_ratio()) {
    if (!(p.head_pruning_ratio() >= 0.0f && p.head_pruning_ratio() < 1.0f)) {
      return InvalidArgument("model.pruning.head_pruning_ratio: must be in [0, 1)");
    }
    s.head_keep = 1.0 - p.head_pruning_ratio();
  }
  if (p.has_local_v_ratio()) {
    if (!(p.local_v_ratio() > 0.0f && p.local_v_ratio() <= 1.0f)) {
      return InvalidArgument("model.pruning.local_v_ratio: must be in (0, 1]");
    }
    s.value_keep = p.local_v_ratio();
  }
  return s;
}

Result<sim::Workload> DescribedWorkload(const v1::ModelWorkload& m, const ModelDims& served, const std::string& name) {
  auto dim = [](uint32_t asked, int32_t served_value, const char* field) -> Result<int32_t> {
    const uint32_t v = asked != 0 ? asked : static_cast<uint32_t>(std::max(0, served_value));
    if (v < 1 || v > 1024) {
      return InvalidArgument(std::string("model.") + field + ": must be in [1, 1024], got " + std::to_string(v));
    }
    return static_cast<int32_t>(v);
  };
  sim::DenseTraceSpec spec;
  auto layers = dim(m.num_layers(), served.layers, "num_layers");
  if (!layers.ok()) return layers.status();
  auto heads = dim(m.num_heads(), served.heads, "num_heads");
  if (!heads.ok()) return heads.status();
  auto head_dim = dim(m.head_dim(), served.head_dim, "head_dim");
  if (!head_dim.ok()) return head_dim.status();
  if (m.prompt_tokens() < 1 || m.prompt_tokens() > (1u << 20)) {
    return InvalidArgument("model.prompt_tokens: must be in [1, 1048576], got " + std::to_string(m.prompt_tokens()));
  }
  if (m.generated_tokens() > (1u << 20)) {
    return InvalidArgument("model.generated_tokens: must be <= 1048576");
  }
  spec.layers = *layers;
  spec.heads = *heads;
  spec.head_dim = *head_dim;
  spec.context_tokens = static_cast<int32_t>(m.prompt_tokens());
  // A description with no generated tokens still runs one step (the prompt's last query).
  spec.generated_tokens = static_cast<int32_t>(std::max(1u, m.generated_tokens()));
  spec.name = name;
  if (sim::TraceRows(spec) > kMaxSimulateRows) {
    return ResourceExhausted("model: layers x heads x generated_tokens = " + std::to_string(sim::TraceRows(spec)) +
                             " attention rows, above the limit of " + std::to_string(kMaxSimulateRows));
  }
  auto prune = PruneFor(m.pruning(), m.prompt_tokens() + m.generated_tokens());
  if (!prune.ok()) return prune.status();
  return sim::BuildPrunedTrace(spec, *prune, kMaxSimulateRows);
}

Result<v1::SimulationResult> Run(const sim::Workload& w, const sim::SimConfig& config, bool per_layer) {
  SPATTEN_RETURN_IF_ERROR(CheckWork(w, config));
  auto report = sim::Simulate(w, config);
  if (!report.ok()) return report.status();
  v1::SimulationResult out;
  ToProto(*report, per_layer, &out);
  return out;
}

// One background thread running projections in arrival order. Its destructor (at exit) drops
// what is still queued and joins after the projection in progress.
class ProjectionWorker {
 public:
  ProjectionWorker() : thread_([this] { Loop(); }) {}
  ~ProjectionWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      jobs_.clear();
    }
    cv_.notify_all();
    thread_.join();
  }
  bool Post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ || jobs_.size() >= kMaxPendingProjections) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (stop_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;  // last: started after the members it uses
};

}  // namespace

bool ProjectGenerationAsync(const ModelDims& served, uint32_t prompt_tokens, uint32_t completion_tokens,
                            double measured_ms, std::function<void(Result<v1::SimulationResult>)> done) {
  static ProjectionWorker worker;
  return worker.Post([=, done = std::move(done)] {
    done(ProjectGeneration(served, prompt_tokens, completion_tokens, measured_ms));
  });
}

std::vector<std::string> SimulationPresets() { return {"full", "eighth"}; }

void ToProto(const sim::SimulationReport& r, bool per_layer, v1::SimulationResult* out) {
  out->set_total_cycles(r.spatten.total_cycles);
  out->set_latency_ms(r.LatencyMs(r.spatten));
  out->set_dram_bytes(r.spatten.dram.Total());
  out->set_dense_total_cycles(r.dense.total_cycles);
  out->set_dense_dram_bytes(r.dense.dram.Total());
  out->set_speedup(r.Speedup());
  out->set_dram_reduction(r.DramReduction());
  out->set_energy_j(sim::EstimateEnergy(r.spatten, r.config).Total());
  out->set_config(r.config.preset);
  out->set_rows(r.rows);
  if (per_layer) {
    for (const sim::LayerBreakdown& l : r.spatten.layers) {
      v1::LayerSimulation* ls = out->add_layers();
      ls->set_layer(l.layer);
      ls->set_cycles(l.cycles);
      ls->set_dram_bytes(l.dram_bytes);
      ls->set_heads(l.heads);
    }
  }
}

Result<v1::SimulationResult> RunSimulateRequest(const v1::SimulateRequest& request, const ModelDims& served) {
  const std::string name = request.name().empty() ? "request" : request.name();
  if (name.size() > 256) return InvalidArgument("name: at most 256 bytes");
  std::vector<std::string> overrides(request.overrides().begin(), request.overrides().end());
  auto config = ResolveConfig(request.config(), overrides);
  if (!config.ok()) return config.status();

  Result<sim::Workload> workload = InvalidArgument("workload: one of workload_csv or model must be set");
  switch (request.workload_case()) {
    case v1::SimulateRequest::kWorkloadCsv:
      if (request.workload_csv().size() > kMaxWorkloadCsvBytes) {
        return ResourceExhausted("workload_csv: " + std::to_string(request.workload_csv().size()) +
                                 " bytes, above the limit of " + std::to_string(kMaxWorkloadCsvBytes));
      }
      workload = sim::ParseWorkloadCsv(request.workload_csv(), name);
      if (!workload.ok()) {
        return Status(workload.status().code(), "workload_csv: " + workload.status().message());
      }
      break;
    case v1::SimulateRequest::kModel:
      workload = DescribedWorkload(request.model(), served, name);
      break;
    case v1::SimulateRequest::WORKLOAD_NOT_SET:
      break;
  }
  if (!workload.ok()) return workload.status();
  return Run(*workload, *config, request.per_layer());
}

Result<v1::SimulationResult> ProjectGeneration(const ModelDims& served, uint32_t prompt_tokens,
                                               uint32_t completion_tokens, double measured_ms) {
  if (prompt_tokens < 1 || completion_tokens < 1) {
    return InvalidArgument("projection: the request generated no tokens");
  }
  sim::DenseTraceSpec spec;
  spec.layers = served.layers;
  spec.heads = served.heads;
  spec.head_dim = served.head_dim;
  spec.context_tokens = static_cast<int32_t>(prompt_tokens);
  spec.generated_tokens = static_cast<int32_t>(completion_tokens);
  spec.name = "generate";
  auto workload = sim::BuildDenseTrace(spec, kMaxSimulateRows);
  if (!workload.ok()) return workload.status();
  auto config = ResolveConfig("full", {});
  if (!config.ok()) return config.status();
  auto result = Run(*workload, *config, /*per_layer=*/false);
  if (!result.ok()) return result.status();
  result->set_measured_engine_ms(measured_ms);
  return result;
}

}  // namespace spatten::server
