// spatten-bench: prefill and decode throughput of the CPU engine, measured the way llama-bench
// measures llama.cpp so that the figures sit side by side:
//   ppN: one batch of N prompt tokens from an empty cache (tokens/s = N / time);
//   tgN: N single-token decode steps from an empty cache (tokens/s = N / time);
//   tgN_bB (with --batch B[,B...]): continuous-batching decode, B sequences from empty caches
//     advanced together, one ForwardBatch step of B tokens (one per sequence) at a time, N
//     steps; aggregate tokens/s = B * N / time.
// Each test runs once as warm-up, then --repetitions times; mean and sample stddev of the
// tokens/s are reported. Token ids are pseudo-random (seeded), as throughput does not depend on
// them. Prints a Markdown table, or JSON with --json.
//
//   spatten-bench --model M [--threads T] [-p 512] [-n 128] [-r 5] [--batch 1,4,16] [--json]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "engine/gguf/gguf.h"
#include "engine/model/llama_model.h"

namespace {

struct Stats {
  double mean = 0;
  double stddev = 0;
};

Stats Summarise(const std::vector<double>& xs) {
  Stats s;
  for (double x : xs) s.mean += x;
  s.mean /= static_cast<double>(xs.size());
  if (xs.size() > 1) {
    double var = 0;
    for (double x : xs) var += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(var / static_cast<double>(xs.size() - 1));
  }
  return s;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "spatten-bench: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  int threads = 0, n_prompt = 512, n_gen = 128, reps = 5;
  bool json = false;
  std::vector<int> batches;
  CLI::App app{"Prefill (ppN) and decode (tgN) throughput, llama-bench style"};
  app.add_option("--model,-m", model_path, "GGUF model file")->required();
  app.add_option("--threads,-t", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("--n-prompt,-p", n_prompt, "prompt tokens for the pp test (0 skips it)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--n-gen,-n", n_gen, "generated tokens for the tg test (0 skips it)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--repetitions,-r", reps, "measured repetitions")->check(CLI::Range(1, 1000));
  app.add_option("--batch,-b", batches,
                 "also measure decode with B concurrent sequences (comma-separated list)")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  app.add_flag("--json", json, "print JSON instead of a Markdown table");
  CLI11_PARSE(app, argc, argv);

  auto file = spatten::gguf::GgufFile::Open(model_path);
  if (!file.ok()) return Fail(file.status().ToString());
  auto shared = std::make_shared<const spatten::gguf::GgufFile>(std::move(file).value());
  spatten::ThreadPool pool(static_cast<size_t>(threads));
  spatten::model::LoadOptions load_options;
  load_options.pool = &pool;
  auto model = spatten::model::LlamaModel::Load(shared, load_options);
  if (!model.ok()) return Fail(model.status().ToString());
  const auto& cfg = model->config();
  if (n_prompt > cfg.n_ctx_train || n_gen > cfg.n_ctx_train) return Fail("test longer than the model's context");

  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(cfg.n_vocab - 1));
  std::vector<float> logits;
  using Clock = std::chrono::steady_clock;

  // Returns tokens/s of one run, or a negative value on error (message already printed).
  auto run_pp = [&]() -> double {
    std::vector<int32_t> toks(static_cast<size_t>(n_prompt));
    for (auto& t : toks) t = pick(rng);
    auto cache = model->NewCache(static_cast<size_t>(n_prompt));
    const auto t0 = Clock::now();
    spatten::Status s = model->ForwardNext(toks, cache, &pool, &logits);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!s.ok()) { Fail(s.ToString()); return -1; }
    return n_prompt / secs;
  };
  auto run_tg = [&]() -> double {
    auto cache = model->NewCache(static_cast<size_t>(n_gen));
    int32_t tok = pick(rng);
    const auto t0 = Clock::now();
    for (int i = 0; i < n_gen; ++i) {
      spatten::Status s = model->ForwardNext(std::span<const int32_t>(&tok, 1), cache, &pool, &logits);
      if (!s.ok()) { Fail(s.ToString()); return -1; }
      tok = pick(rng);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    return n_gen / secs;
  };

  // B sequences decoded together: n_gen steps of one token each (aggregate tokens/s).
  auto run_tg_batch = [&](int n_seq) -> double {
    std::vector<spatten::model::SequenceKvCache> caches;
    caches.reserve(static_cast<size_t>(n_seq));
    for (int s = 0; s < n_seq; ++s) caches.push_back(model->NewCache(static_cast<size_t>(n_gen)));
    std::vector<int32_t> toks(static_cast<size_t>(n_seq));
    std::vector<int64_t> pos(static_cast<size_t>(n_seq), 0);
    std::vector<spatten::model::SequenceBatch> batch(static_cast<size_t>(n_seq));
    for (size_t s = 0; s < batch.size(); ++s) {
      batch[s] = {&caches[s], std::span<const int32_t>(&toks[s], 1),
                  std::span<const int64_t>(&pos[s], 1), false};
    }
    spatten::model::BatchLogits out;
    const auto t0 = Clock::now();
    for (int i = 0; i < n_gen; ++i) {
      for (size_t s = 0; s < toks.size(); ++s) {
        toks[s] = pick(rng);
        pos[s] = i;
      }
      spatten::Status st = model->ForwardBatch(batch, &pool, &out);
      if (!st.ok()) { Fail(st.ToString()); return -1; }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    return static_cast<double>(n_seq) * n_gen / secs;
  };

  struct Result { std::string name; int n_prompt, n_gen; Stats stats; std::vector<double> samples; };
  std::vector<Result> results;
  auto measure = [&](const std::string& name, int np, int ng, auto&& fn) -> bool {
    if (fn() < 0) return false;  // warm-up
    std::vector<double> samples;
    for (int r = 0; r < reps; ++r) {
      const double ts = fn();
      if (ts < 0) return false;
      samples.push_back(ts);
      std::fprintf(stderr, "%s rep %d: %.2f tokens/s\n", name.c_str(), r + 1, ts);
    }
    results.push_back({name, np, ng, Summarise(samples), samples});
    return true;
  };
  if (n_prompt > 0 && !measure("pp" + std::to_string(n_prompt), n_prompt, 0, run_pp)) return 1;
  if (n_gen > 0 && !measure("tg" + std::to_string(n_gen), 0, n_gen, run_tg)) return 1;
  for (int b : batches) {
    if (n_gen > 0 && !measure("tg" + std::to_string(n_gen) + "_b" + std::to_string(b), 0, n_gen,
                              [&] { return run_tg_batch(b); })) {
      return 1;
    }
  }

  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) {
      out.push_back({{"test", r.name}, {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen},
                     {"n_threads", pool.num_threads()}, {"avg_ts", r.stats.mean},
                     {"stddev_ts", r.stats.stddev}, {"samples_ts", r.samples},
                     {"model", model_path}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("| model | threads | test | t/s |\n|---|---:|---:|---:|\n");
    for (const auto& r : results) {
      std::printf("| %s | %zu | %s | %.2f ± %.2f |\n", model_path.c_str(), pool.num_threads(), r.name.c_str(),
                  r.stats.mean, r.stats.stddev);
    }
  }
  return 0;
}
