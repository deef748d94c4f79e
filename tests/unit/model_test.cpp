// Tests for the llama model (engine/model), the sampler (engine/sampling) and the thread pool
// the forward pass runs on.
//
// - Config and tensor validation use tiny GGUF files built in memory (tests/support).
// - A tiny random f32 llama checks invariances of the forward pass: batched prefill equals
//   token-by-token decoding, threads do not change results, f32-at-load equals on-the-fly.
// - With SPATTEN_MODEL set (the SmolLM2-135M-Instruct Q4_1 file), the config is read from it
//   and greedy continuations are compared with llama.cpp's (tests/golden/model/), produced by
//   the peer and never by this code. Without SPATTEN_MODEL those tests skip.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "engine/gguf/gguf.h"
#include "engine/model/llama_model.h"
#include "engine/model/model_config.h"
#include "engine/sampling/sampler.h"
#include "kernels/cpu/dispatch.h"
#include "tests/support/gguf_writer.h"

namespace spatten::model {
namespace {

using testing::GgufWriter;

// ---- tiny models ---------------------------------------------------------------------------

struct TinySpec {
  std::string arch = "llama";
  int64_t n_layer = 2, n_embd = 8, n_head = 2, n_head_kv = 1, n_ff = 16, n_vocab = 11;
  bool write_block_count = true;
  std::string drop_tensor;        // leave this tensor out
  std::string reshape_tensor;     // give this tensor a wrong shape
  bool untied = false;            // write output.weight
};

std::vector<uint8_t> F32Bytes(size_t n, uint32_t* seed) {
  std::vector<uint8_t> bytes(n * 4);
  for (size_t i = 0; i < n; ++i) {
    *seed = *seed * 1664525u + 1013904223u;  // LCG: deterministic weights in [-0.5, 0.5)
    const float v = static_cast<float>(*seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
    std::memcpy(bytes.data() + 4 * i, &v, 4);
  }
  return bytes;
}

std::vector<uint8_t> BuildTiny(const TinySpec& s) {
  GgufWriter w;
  w.Str("general.architecture", s.arch);
  const std::string a = s.arch;
  if (s.write_block_count) w.U32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.U32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.U32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.U32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  w.U32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.U32(a + ".context_length", 64);
  w.F32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.F32(a + ".rope.freq_base", 10000.0f);
  w.U32(a + ".vocab_size", static_cast<uint32_t>(s.n_vocab));
  uint32_t seed = 12345;
  const uint64_t E = s.n_embd, D = s.n_embd / s.n_head, KV = D * s.n_head_kv, F = s.n_ff;
  auto tensor = [&](const std::string& name, std::vector<uint64_t> shape) {
    if (name == s.drop_tensor) return;
    if (name == s.reshape_tensor) shape[0] += 1;
    size_t n = 1;
    for (uint64_t d : shape) n *= d;
    std::vector<uint8_t> data = F32Bytes(n, &seed);
    if (name.find("norm") != std::string::npos) {  // norms near 1, like trained models
      for (size_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, data.data() + 4 * i, 4);
        v += 1.0f;
        std::memcpy(data.data() + 4 * i, &v, 4);
      }
    }
    w.Tensor(name, 0, shape, data);
  };
  tensor("token_embd.weight", {E, static_cast<uint64_t>(s.n_vocab)});
  tensor("output_norm.weight", {E});
  if (s.untied) tensor("output.weight", {E, static_cast<uint64_t>(s.n_vocab)});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    tensor(LayerTensorName(l, "attn_norm"), {E});
    tensor(LayerTensorName(l, "attn_q"), {E, E});
    tensor(LayerTensorName(l, "attn_k"), {E, KV});
    tensor(LayerTensorName(l, "attn_v"), {E, KV});
    tensor(LayerTensorName(l, "attn_output"), {E, E});
    tensor(LayerTensorName(l, "ffn_norm"), {E});
    tensor(LayerTensorName(l, "ffn_gate"), {E, F});
    tensor(LayerTensorName(l, "ffn_up"), {E, F});
    tensor(LayerTensorName(l, "ffn_down"), {F, E});
  }
  return w.Build();
}

// Owns the bytes a parsed GgufFile points into.
struct TinyFile {
  std::shared_ptr<std::vector<uint8_t>> bytes;
  std::shared_ptr<const gguf::GgufFile> file;
};

TinyFile ParseTiny(const TinySpec& spec) {
  TinyFile t;
  t.bytes = std::make_shared<std::vector<uint8_t>>(BuildTiny(spec));
  auto f = gguf::GgufFile::Parse(*t.bytes);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (f.ok()) t.file = std::make_shared<const gguf::GgufFile>(std::move(f).value());
  return t;
}

// ---- config and validation -----------------------------------------------------------------

TEST(ModelConfigTest, ReadsTinyConfig) {
  TinyFile t = ParseTiny({});
  ASSERT_NE(t.file, nullptr);
  auto c = ReadModelConfig(*t.file);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->n_layer, 2);
  EXPECT_EQ(c->head_dim, 4);
  EXPECT_EQ(c->n_rot, 4);
  EXPECT_EQ(c->gqa_group(), 2);
  EXPECT_TRUE(c->tied_embeddings);
  EXPECT_TRUE(ValidateModelTensors(*c, *t.file).ok());
}

TEST(ModelConfigTest, RejectsOtherArchitecture) {
  TinySpec spec;
  spec.arch = "gemma3";
  TinyFile t = ParseTiny(spec);
  ASSERT_NE(t.file, nullptr);
  auto c = ReadModelConfig(*t.file);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(c.status().message().find("gemma3"), std::string::npos) << c.status().ToString();
}

TEST(ModelConfigTest, MissingKeyIsNamed) {
  TinySpec spec;
  spec.write_block_count = false;
  TinyFile t = ParseTiny(spec);
  ASSERT_NE(t.file, nullptr);
  auto c = ReadModelConfig(*t.file);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("llama.block_count"), std::string::npos);
}

TEST(ModelConfigTest, MissingTensorIsNamed) {
  TinySpec spec;
  spec.drop_tensor = "blk.1.ffn_up.weight";
  TinyFile t = ParseTiny(spec);
  ASSERT_NE(t.file, nullptr);
  auto m = LlamaModel::Load(t.file);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("blk.1.ffn_up.weight"), std::string::npos)
      << m.status().ToString();
}

TEST(ModelConfigTest, WrongShapeIsNamed) {
  TinySpec spec;
  spec.reshape_tensor = "blk.0.attn_k.weight";
  TinyFile t = ParseTiny(spec);
  ASSERT_NE(t.file, nullptr);
  auto m = LlamaModel::Load(t.file);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("blk.0.attn_k.weight"), std::string::npos)
      << m.status().ToString();
}

// ---- forward-pass invariances on the tiny model ----------------------------------------------

std::vector<float> Decode(const LlamaModel& m, const std::vector<int32_t>& tokens,
                          ThreadPool* pool) {
  SequenceKvCache cache = m.NewCache();
  std::vector<float> all, logits;
  for (int32_t tok : tokens) {
    const int32_t one[1] = {tok};
    EXPECT_TRUE(m.ForwardNext(one, cache, pool, &logits).ok());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(LlamaForwardTest, BatchedPrefillEqualsTokenByToken) {
  TinyFile t = ParseTiny({});
  ASSERT_NE(t.file, nullptr);
  auto m = LlamaModel::Load(t.file);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  const std::vector<float> stepwise = Decode(*m, tokens, nullptr);

  SequenceKvCache cache = m->NewCache();
  std::vector<float> batched;
  ASSERT_TRUE(m->ForwardNext(tokens, cache, nullptr, &batched, {.all_logits = true}).ok());
  ASSERT_EQ(batched.size(), stepwise.size());
  for (size_t i = 0; i < batched.size(); ++i) EXPECT_NEAR(batched[i], stepwise[i], 1e-5) << i;
  EXPECT_EQ(cache.size(), tokens.size());
  EXPECT_EQ(cache.next_position(), 8);
  for (float v : batched) EXPECT_TRUE(std::isfinite(v));
}

TEST(LlamaForwardTest, ThreadsAndWeightFormatDoNotChangeLogits) {
  TinySpec spec;
  spec.untied = true;
  TinyFile t = ParseTiny(spec);
  ASSERT_NE(t.file, nullptr);
  ThreadPool pool(3);
  auto quant = LlamaModel::Load(t.file);
  auto f32 = LlamaModel::Load(t.file, {.weight_format = WeightFormat::kF32, .pool = &pool});
  ASSERT_TRUE(quant.ok() && f32.ok());
  EXPECT_FALSE(quant->config().tied_embeddings);
  const std::vector<int32_t> tokens = {10, 0, 7, 7};
  const std::vector<float> serial = Decode(*quant, tokens, nullptr);
  // Each row's dot product is computed the same way whichever thread runs it: bit-equal.
  EXPECT_EQ(Decode(*quant, tokens, &pool), serial);
  EXPECT_EQ(Decode(*f32, tokens, &pool), serial);
}

TEST(LlamaForwardTest, RejectsBadInputAndKeepsCache) {
  TinyFile t = ParseTiny({});
  ASSERT_NE(t.file, nullptr);
  auto m = LlamaModel::Load(t.file);
  ASSERT_TRUE(m.ok());
  SequenceKvCache cache = m->NewCache(4);
  std::vector<float> logits;
  const int32_t ok_tokens[2] = {1, 2};
  ASSERT_TRUE(m->ForwardNext(ok_tokens, cache, nullptr, &logits).ok());
  const int32_t bad_token[1] = {11};  // vocab is 11: ids 0..10
  EXPECT_EQ(m->ForwardNext(bad_token, cache, nullptr, &logits).code(),
            StatusCode::kInvalidArgument);
  const int32_t too_many[3] = {1, 2, 3};  // 2 + 3 > 4 slots
  EXPECT_EQ(m->ForwardNext(too_many, cache, nullptr, &logits).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(cache.size(), 2u);
  const int64_t positions[1] = {0};
  EXPECT_EQ(m->Forward({}, {}, cache, nullptr, &logits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m->Forward(ok_tokens, positions, cache, nullptr, &logits).code(),
            StatusCode::kInvalidArgument);  // 2 tokens, 1 position
  EXPECT_EQ(cache.size(), 2u);
}

// ---- batched steps over many sequences (ForwardBatch) ----------------------------------------

// One mixed step against running each entry alone from the same cache state. Entries 0, 2, 4
// decode one token on caches of 2, 9 and 17 slots; entry 1 prefills 11 tokens on an empty
// cache (all logits; >= 8 tokens takes the blocked attention path), entry 3 continues a 5-slot
// cache with 4 tokens (last logits only).
struct BatchDiff {
  float logits = 0;  // max |batched - alone| over every logit
  float kv = 0;      // the same over the K / V rows the step wrote
  bool argmax_equal = true;
};

BatchDiff MixedBatchVsAlone(const LlamaModel& m, ThreadPool* pool) {
  const size_t V = static_cast<size_t>(m.config().n_vocab);
  auto ids = [&](size_t n, size_t seed) {
    std::vector<int32_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<int32_t>((seed + 7919 * (i + 1)) % V);
    return v;
  };
  constexpr size_t kEntries = 5;
  const size_t prefix[kEntries] = {2, 0, 9, 5, 17}, step[kEntries] = {1, 11, 1, 4, 1};
  std::vector<SequenceKvCache> caches;
  caches.reserve(kEntries);  // batch points into it
  std::vector<SequenceBatch> batch;
  std::vector<std::vector<int32_t>> tokens(kEntries);
  std::vector<std::vector<int64_t>> positions(kEntries);
  std::vector<float> logits;
  for (size_t e = 0; e < kEntries; ++e) {
    caches.push_back(m.NewCache());
    EXPECT_TRUE(prefix[e] == 0 ||
                m.ForwardNext(ids(prefix[e], e), caches[e], pool, &logits).ok());
    tokens[e] = ids(step[e], 100 + e);
    for (size_t i = 0; i < step[e]; ++i) {
      positions[e].push_back(caches[e].next_position() + static_cast<int64_t>(i));
    }
    batch.push_back({&caches[e], tokens[e], positions[e], e == 1});
  }
  std::vector<SequenceKvCache> alone = caches;  // the same states, stepped one at a time
  BatchLogits out;
  EXPECT_TRUE(m.ForwardBatch(batch, pool, &out).ok());
  EXPECT_EQ(out.entries(), kEntries);
  BatchDiff d;
  for (size_t e = 0; e < kEntries && e < out.entries(); ++e) {
    EXPECT_TRUE(m.Forward(tokens[e], positions[e], alone[e], pool, &logits,
                          {.all_logits = batch[e].all_logits}).ok());
    const std::span<const float> got = out.Entry(e);
    EXPECT_EQ(got.size(), logits.size()) << "entry " << e;
    EXPECT_EQ(got.size(), (e == 1 ? step[e] : 1) * V) << "entry " << e;
    if (got.size() != logits.size()) continue;
    for (size_t i = 0; i < got.size(); ++i) {
      d.logits = std::max(d.logits, std::fabs(got[i] - logits[i]));
    }
    for (size_t row = 0; row < got.size() / V; ++row) {
      d.argmax_equal &= sampling::ArgMax(got.subspan(row * V, V)) ==
                        sampling::ArgMax(std::span<const float>(logits).subspan(row * V, V));
    }
    EXPECT_EQ(caches[e].positions(), alone[e].positions()) << "entry " << e;
    const SequenceKvCache &c = caches[e], &a = alone[e];
    for (size_t l = 0; l < c.n_layer(); ++l) {
      for (size_t j = prefix[e] * c.kv_dim(); j < c.size() * c.kv_dim(); ++j) {
        d.kv = std::max({d.kv, std::fabs(c.K(l, 0)[j] - a.K(l, 0)[j]),
                         std::fabs(c.V(l, 0)[j] - a.V(l, 0)[j])});
      }
    }
  }
  return d;
}

// f32 weights take the f32 dot path, one dot per (row, token): batching is bit-exact.
TEST(LlamaForwardTest, BatchOfSequencesEqualsEachAlone) {
  TinySpec spec;
  spec.untied = true;
  TinyFile t = ParseTiny(spec);
  ASSERT_NE(t.file, nullptr);
  auto m = LlamaModel::Load(t.file);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ThreadPool pool(3);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    const BatchDiff d = MixedBatchVsAlone(*m, p);
    EXPECT_TRUE(d.logits == 0.0f && d.kv == 0.0f && d.argmax_equal) << d.logits << " " << d.kv;
  }
}

void ExpectSameCache(const SequenceKvCache& got, const SequenceKvCache& want, const char* what) {
  ASSERT_EQ(got.positions(), want.positions()) << what;
  for (size_t l = 0; l < got.n_layer(); ++l) {
    for (size_t j = 0; j < got.size() * got.kv_dim(); ++j) {
      ASSERT_TRUE(got.K(l, 0)[j] == want.K(l, 0)[j] && got.V(l, 0)[j] == want.V(l, 0)[j]) << what;
    }
  }
}

// A valid entry followed by a bad one: the step fails as a whole and neither cache changes.
TEST(LlamaForwardTest, BatchErrorsLeaveEveryCacheUnchanged) {
  TinyFile t = ParseTiny({});
  ASSERT_NE(t.file, nullptr);
  auto m = LlamaModel::Load(t.file);
  ASSERT_TRUE(m.ok());
  SequenceKvCache a = m->NewCache(), b = m->NewCache(4);
  SequenceKvCache wrong(3, static_cast<size_t>(m->config().kv_dim()), 64);  // 3 layers, not 2
  std::vector<float> logits;
  const int32_t two[2] = {1, 2}, three[3] = {3, 4, 5};
  ASSERT_TRUE(m->ForwardNext(two, a, nullptr, &logits).ok() &&
              m->ForwardNext(three, b, nullptr, &logits).ok());
  const SequenceKvCache a0 = a, b0 = b;
  const int32_t tok[1] = {5}, bad_tok[1] = {11}, two_more[2] = {6, 7};
  const int64_t pa[1] = {2}, pb[1] = {3}, neg[1] = {-1}, pb2[2] = {3, 4};
  const SequenceBatch good{&a, tok, pa};
  struct Case { const char* name; SequenceBatch bad; StatusCode code; };
  const Case cases[] = {
      {"token id", {&b, bad_tok, pb}, StatusCode::kInvalidArgument},
      {"negative position", {&b, tok, neg}, StatusCode::kInvalidArgument},
      {"positions count", {&b, tok, pb2}, StatusCode::kInvalidArgument},
      {"no tokens", {&b, {}, {}}, StatusCode::kInvalidArgument},
      {"no cache", {nullptr, tok, pb}, StatusCode::kInvalidArgument},
      {"cache shape", {&wrong, tok, pb}, StatusCode::kInvalidArgument},
      {"same cache twice", {&a, tok, pa}, StatusCode::kInvalidArgument},
      {"cache full", {&b, two_more, pb2}, StatusCode::kResourceExhausted},  // 3 + 2 > 4
  };
  BatchLogits out;
  for (const Case& c : cases) {
    const SequenceBatch batch[2] = {good, c.bad};
    const Status s = m->ForwardBatch(batch, nullptr, &out);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.ToString();
    ExpectSameCache(a, a0, c.name);
    ExpectSameCache(b, b0, c.name);
  }
  EXPECT_EQ(m->ForwardBatch({&good, 1}, nullptr, nullptr).code(), StatusCode::kInvalidArgument);
  ExpectSameCache(a, a0, "no output");
  // An empty batch is a valid step with no rows.
  out.data.assign(7, 1.0f);
  ASSERT_TRUE(m->ForwardBatch({}, nullptr, &out).ok());
  EXPECT_TRUE(out.entries() == 0u && out.data.empty());
  // The caches still work: the same two entries, valid, succeed.
  const SequenceBatch ok_batch[2] = {good, {&b, tok, pb}};
  ASSERT_TRUE(m->ForwardBatch(ok_batch, nullptr, &out).ok());
  EXPECT_TRUE(out.entries() == 2u && out.rows(1) == 1u && a.size() == 3u && b.size() == 4u);
}

// ---- thread pool and sampler -----------------------------------------------------------------

TEST(ThreadPoolTest, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.num_threads(), 4u);
  EXPECT_GE(ThreadPool::DefaultThreadCount(), 1u);
  for (size_t n : {0u, 1u, 3u, 4u, 5u, 1000u}) {
    std::vector<std::atomic<int>> hits(n);
    for (int rep = 0; rep < 3; ++rep) {
      pool.ParallelFor(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
      });
    }
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 3) << "n " << n << " i " << i;
  }
}

// Many short jobs back to back, more threads than cores: late workers of one job must never
// run a chunk of the next one (chunks are claimed with a generation-tagged ticket).
TEST(ThreadPoolTest, BackToBackJobsRunEachChunkOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(64);
  std::vector<int> want(64, 0);
  for (int job = 0; job < 20000; ++job) {
    const size_t n = 1 + static_cast<size_t>(job % 64);
    pool.ParallelFor(n, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
    });
    for (size_t i = 0; i < n; ++i) ++want[i];
  }
  for (size_t i = 0; i < hits.size(); ++i) EXPECT_EQ(hits[i].load(), want[i]) << "element " << i;
}

// Decoding issues ~5 parallel regions per layer (150 per token for 30 layers), so the cost of
// one fork/join matters. Measured and printed: (a) an empty body, the fixed cost of a call;
// (b) 8 chunks of ~2 us, where the hand-off to the worker is on the critical path: the time
// above the ideal 8 us (16 us of work on 2 threads). Only a loose bound on (a) is asserted
// (timings on a shared machine vary): a hand-off that fell back to sleeping on every call
// (tens of microseconds) would show.
TEST(ThreadPoolTest, DispatchOverheadIsSmall) {
  using Clock = std::chrono::steady_clock;
  ThreadPool pool(2);
  std::atomic<size_t> sink{0};
  auto empty = [&](size_t b, size_t e) { sink.fetch_add(e - b, std::memory_order_relaxed); };
  auto busy = [&](size_t b, size_t e) {
    const auto t0 = Clock::now();
    while (std::chrono::duration<double, std::micro>(Clock::now() - t0).count() <
           2.0 * static_cast<double>(e - b)) {
    }
  };
  auto best_us = [&](const std::function<void(size_t, size_t)>& fn, size_t n, int calls) {
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = Clock::now();
      for (int i = 0; i < calls; ++i) pool.ParallelFor(n, fn);
      best = std::min(
          best, std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / calls);
    }
    return best;
  };
  const double empty_us = best_us(empty, 64, 2000);
  const double busy_us = best_us(busy, 8, 500);
  EXPECT_EQ(sink.load(), 5u * 2000u * 64u);
  std::printf("[          ] ParallelFor (2 threads): empty body %.2f us per call; 8 x 2 us "
              "chunks %.2f us (ideal 8.00)\n", empty_us, busy_us);
  EXPECT_LT(empty_us, 200.0);
}

TEST(SamplerTest, GreedyAndFilters) {
  const std::vector<float> logits = {0.0f, 3.0f, 1.0f, 3.0f, -2.0f};
  auto greedy = sampling::Sampler::Create({});
  ASSERT_TRUE(greedy.ok());
  EXPECT_EQ(greedy->Sample(logits), 1);  // lowest id among equal maxima

  // top-k 1 is greedy whatever the temperature.
  auto k1 = sampling::Sampler::Create({.temperature = 5.0f, .top_k = 1});
  ASSERT_TRUE(k1.ok());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(k1->Sample(logits), 1);

  // top-k 2 keeps ids 1 and 3 only; a seed reproduces the sequence.
  auto a = sampling::Sampler::Create({.temperature = 1.0f, .top_k = 2, .seed = 7});
  auto b = sampling::Sampler::Create({.temperature = 1.0f, .top_k = 2, .seed = 7});
  ASSERT_TRUE(a.ok() && b.ok());
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) {
    const int32_t x = a->Sample(logits);
    EXPECT_EQ(x, b->Sample(logits));
    seen.insert(x);
  }
  EXPECT_EQ(seen, (std::set<int32_t>{1, 3}));

  // min-p 0.5: p_i >= 0.5 p_max keeps the two logits of 3 (e^-2 < 0.5 for logit 1).
  auto mp = sampling::Sampler::Create({.temperature = 1.0f, .min_p = 0.5f, .seed = 1});
  ASSERT_TRUE(mp.ok());
  for (int i = 0; i < 100; ++i) {
    const int32_t x = mp->Sample(logits);
    EXPECT_TRUE(x == 1 || x == 3) << x;
  }

  // top-p 0.5: the first of the two equal tokens (p ~0.46 each) is not enough; two are.
  auto tp = sampling::Sampler::Create({.temperature = 1.0f, .top_p = 0.5f, .seed = 3});
  ASSERT_TRUE(tp.ok());
  for (int i = 0; i < 100; ++i) {
    const int32_t x = tp->Sample(logits);
    EXPECT_TRUE(x == 1 || x == 3) << x;
  }

  EXPECT_FALSE(sampling::Sampler::Create({.top_k = -1}).ok());
  EXPECT_FALSE(sampling::Sampler::Create({.top_p = 0.0f}).ok());
  EXPECT_FALSE(sampling::Sampler::Create({.min_p = 1.5f}).ok());
}

// ---- the real model (SPATTEN_MODEL) ----------------------------------------------------------

std::shared_ptr<const gguf::GgufFile> OpenRealModel() {
  const char* path = std::getenv("SPATTEN_MODEL");
  if (path == nullptr || *path == '\0') return nullptr;
  auto f = gguf::GgufFile::Open(path);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (!f.ok()) return nullptr;
  return std::make_shared<const gguf::GgufFile>(std::move(f).value());
}

#define SKIP_WITHOUT_MODEL(file)                                                          \
  if ((file) == nullptr) {                                                                \
    GTEST_SKIP() << "SPATTEN_MODEL is not set (path of SmolLM2-135M-Instruct.Q4_1.gguf)"; \
  }

TEST(RealModelTest, ConfigFromFile) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  auto c = ReadModelConfig(*file);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, "llama");
  EXPECT_EQ(c->n_layer, 30);
  EXPECT_EQ(c->n_embd, 576);
  EXPECT_EQ(c->n_head, 9);
  EXPECT_EQ(c->n_head_kv, 3);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->n_rot, 64);
  EXPECT_EQ(c->n_ff, 1536);
  EXPECT_EQ(c->n_vocab, 49152);
  EXPECT_EQ(c->n_ctx_train, 8192);
  EXPECT_FLOAT_EQ(c->rope_freq_base, 100000.0f);
  EXPECT_FLOAT_EQ(c->rms_norm_eps, 1e-5f);
  EXPECT_TRUE(c->tied_embeddings);
  EXPECT_TRUE(ValidateModelTensors(*c, *file).ok());
}

// ---- agreement with llama.cpp (golden ids from tests/golden/model/llama_cpp_greedy.json) -----
//
// Numerics differ by design: llama.cpp multiplies the Q4_1 / Q8_0 weights with activations
// quantized to 8 bits (Q8_1 / Q8_0 blocks) and, by default, keeps the KV cache in f16; we use
// f32 activations and an f32 cache. Logits here are ~20-25 in magnitude, and the 8-bit
// activation error (~0.4% relative per product) moves them by up to a few tenths. Two
// candidates closer than that may swap, and from there free-running continuations fork. So:
// - where our top-2 margin is at least kNearTie, the tokens must be equal;
// - at a near tie, llama.cpp's token must still be within kNearTie of our best logit.
constexpr float kNearTie = 0.5f;

struct GoldenCase {
  std::string name;
  std::vector<int32_t> prompt;
  std::vector<int32_t> greedy;  // llama.cpp's continuation (ends with EOG when it stopped)
};

std::vector<GoldenCase> LoadGolden() {
  std::ifstream in(std::string(SPATTEN_SOURCE_ROOT) + "/tests/golden/model/llama_cpp_greedy.json");
  EXPECT_TRUE(in.good()) << "missing tests/golden/model/llama_cpp_greedy.json";
  std::vector<GoldenCase> cases;
  if (!in.good()) return cases;
  const nlohmann::json golden = nlohmann::json::parse(in);
  for (const auto& c : golden["cases"]) {
    cases.push_back({c["name"].get<std::string>(), c["prompt_ids"].get<std::vector<int32_t>>(),
                     c["greedy_ids"].get<std::vector<int32_t>>()});
  }
  EXPECT_GE(cases.size(), 6u);
  return cases;
}

// Our top-2 margin: best logit minus the second best.
float TopTwoMargin(std::span<const float> logits) {
  float best = -INFINITY, second = -INFINITY;
  for (float v : logits) {
    if (v > best) {
      second = best;
      best = v;
    } else if (v > second) {
      second = v;
    }
  }
  return best - second;
}

// Free-running greedy decoding compared token by token with llama.cpp's.
// N, the number of tokens that must be equal: the whole continuation (up to 32 tokens and its
// end-of-generation token) unless a near tie (top-2 margin < kNearTie) is met first, where the
// two engines may legitimately fork; the comparison stops at such a fork. With the f32 KV
// cache on both sides, "The capital of France is" has no near tie, so for that case N is its
// full 30 tokens (" Paris." ... ":53." <|im_end|>) and a fork there fails the test.
TEST(RealModelTest, GreedyMatchesLlamaCpp) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  ThreadPool pool;
  // Decode-heavy: weights dequantized once at load. The teacher-forced test below covers the
  // on-the-fly path; both give bit-identical logits (ThreadsAndWeightFormatDoNotChangeLogits).
  auto m = LlamaModel::Load(file, {.weight_format = WeightFormat::kF32, .pool = &pool});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  for (const GoldenCase& c : LoadGolden()) {
    SequenceKvCache cache = m->NewCache();
    std::vector<float> logits;
    ASSERT_TRUE(m->ForwardNext(c.prompt, cache, &pool, &logits).ok());
    size_t compared = 0;
    for (; compared < c.greedy.size(); ++compared) {
      const int32_t ours = sampling::ArgMax(logits);
      const int32_t theirs = c.greedy[compared];
      if (ours != theirs) {
        const float margin = TopTwoMargin(logits);
        EXPECT_LT(margin, kNearTie) << c.name << ": token " << compared << " is " << ours
                                    << ", llama.cpp has " << theirs << " (no near tie)";
        break;
      }
      const int32_t one[1] = {ours};
      ASSERT_TRUE(m->ForwardNext(one, cache, &pool, &logits).ok());
    }
    if (c.name == "capital_of_france.kv_f32") {
      EXPECT_EQ(compared, c.greedy.size()) << c.name << " must match in full";
      EXPECT_EQ(c.greedy.size(), 30u);
    }
    std::printf("[          ] %-32s greedy equal for %zu of %zu tokens\n", c.name.c_str(), compared,
                c.greedy.size());
  }
}

// Teacher forcing: run prompt + llama.cpp's continuation in one batch and look at our logits
// at every generated position, so that one fork does not hide the rest of the sequence.
// llama.cpp's token must be within `near_tie` of our best logit everywhere, and our top-1 must
// equal it at >= 85% of the positions (near ties are rare; a wrong op would break far more).
void TeacherForced(const LlamaModel& m, ThreadPool* pool, float near_tie, const char* label) {
  const size_t V = static_cast<size_t>(m.config().n_vocab);
  float worst = 0;  // largest row[ours] - row[llama.cpp's], for the log
  for (const GoldenCase& c : LoadGolden()) {
    std::vector<int32_t> seq = c.prompt;
    seq.insert(seq.end(), c.greedy.begin(), c.greedy.end() - 1);
    SequenceKvCache cache = m.NewCache();
    std::vector<float> logits;
    ASSERT_TRUE(m.ForwardNext(seq, cache, pool, &logits, {.all_logits = true}).ok());
    size_t agree = 0;
    for (size_t i = 0; i < c.greedy.size(); ++i) {
      const std::span<const float> row(logits.data() + (c.prompt.size() - 1 + i) * V, V);
      const int32_t ours = sampling::ArgMax(row);
      agree += ours == c.greedy[i];
      worst = std::max(worst, row[ours] - row[c.greedy[i]]);
      EXPECT_LE(row[ours] - row[c.greedy[i]], near_tie)
          << label << " " << c.name << ": position " << i << " ours " << ours << " llama.cpp "
          << c.greedy[i];
    }
    EXPECT_GE(agree * 100, c.greedy.size() * 85) << label << " " << c.name;
    std::printf("[          ] %-5s %-32s teacher-forced top-1 agreement %zu of %zu\n", label,
                c.name.c_str(), agree, c.greedy.size());
  }
  std::printf("[          ] %-5s largest logit gap to llama.cpp's token: %.3f\n", label, worst);
}

// f32 activations: kNearTie, as for the greedy test.
TEST(RealModelTest, TeacherForcedMatchesLlamaCppF32) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  ThreadPool pool;
  auto m = LlamaModel::Load(file, {.weight_format = WeightFormat::kF32, .pool = &pool});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  TeacherForced(*m, &pool, kNearTie, "f32");
}

// 8-bit activations (the default path), like llama.cpp's; but each 8-bit implementation is
// its own draw of rounding noise that the network spreads (see
// SimdForwardMatchesScalarReferenceQuantized: ours SIMD vs ours scalar differ by up to 1.5 on
// single logits). Measured worst gap to llama.cpp's token: 0.60 with the SIMD kernels (one
// position of fibonacci_code.kv_f32), below 0.5 with the scalar ones. The near-tie bound here
// is 1.0, and the 85% top-1 agreement is unchanged.
constexpr float kNearTieQuantized = 1.0f;

TEST(RealModelTest, TeacherForcedMatchesLlamaCpp) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  ThreadPool pool;
  auto m = LlamaModel::Load(file, {.weight_format = WeightFormat::kQuantized});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  TeacherForced(*m, &pool, kNearTieQuantized, "8-bit");
}

// The SIMD kernels (best ISA level of this CPU) against the scalar references over the whole
// forward pass: batched prefill (all logits), then a few decoding steps.
struct ForwardDiff {
  float max_diff = 0;       // max |simd - scalar| over all logits
  size_t argmax_checked = 0;
  size_t argmax_equal = 0;  // among positions where the scalar top-2 margin exceeds `margin`
};

ForwardDiff CompareForward(const LlamaModel& simd, const LlamaModel& scalar,
                           const std::vector<int32_t>& prompt, ThreadPool* pool, float margin) {
  const size_t V = static_cast<size_t>(simd.config().n_vocab);
  SequenceKvCache c1 = simd.NewCache(), c2 = scalar.NewCache();
  std::vector<float> l1, l2;
  ForwardDiff d;
  auto compare = [&] {
    EXPECT_EQ(l1.size(), l2.size());
    for (size_t i = 0; i < l1.size() && i < l2.size(); ++i) {
      d.max_diff = std::max(d.max_diff, std::fabs(l1[i] - l2[i]));
    }
    for (size_t row = 0; row + 1 <= l2.size() / V; ++row) {
      const std::span<const float> r1(l1.data() + row * V, V), r2(l2.data() + row * V, V);
      if (TopTwoMargin(r2) < margin) continue;
      ++d.argmax_checked;
      d.argmax_equal += sampling::ArgMax(r1) == sampling::ArgMax(r2);
    }
  };
  EXPECT_TRUE(simd.ForwardNext(prompt, c1, pool, &l1, {.all_logits = true}).ok());
  EXPECT_TRUE(scalar.ForwardNext(prompt, c2, pool, &l2, {.all_logits = true}).ok());
  compare();
  for (int step = 0; step < 4; ++step) {
    const int32_t next[1] = {sampling::ArgMax(std::span<const float>(l2.data() + l2.size() - V, V))};
    EXPECT_TRUE(simd.ForwardNext(next, c1, pool, &l1).ok());
    EXPECT_TRUE(scalar.ForwardNext(next, c2, pool, &l2).ok());
    compare();
  }
  return d;
}

// f32 weights and activations: the SIMD ops (RMSNorm, RoPE, attention, SiLU, dot) differ from
// the references by float rounding only, and nothing downstream amplifies it: measured max
// |diff| 4e-5 on logits of magnitude ~30. Bound 1e-2, with every top-1 equal.
TEST(RealModelTest, SimdForwardMatchesScalarReferenceF32) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  if (kernels::cpu::BestIsa() == kernels::cpu::Isa::kScalar) GTEST_SKIP() << "no SIMD level";
  ThreadPool pool;
  auto simd = LlamaModel::Load(
      file, {.weight_format = WeightFormat::kF32, .pool = &pool, .isa = kernels::cpu::BestIsa()});
  auto scalar = LlamaModel::Load(
      file, {.weight_format = WeightFormat::kF32, .pool = &pool, .isa = kernels::cpu::Isa::kScalar});
  ASSERT_TRUE(simd.ok() && scalar.ok());
  ASSERT_EQ(scalar->isa(), kernels::cpu::Isa::kScalar);
  const ForwardDiff d = CompareForward(*simd, *scalar, LoadGolden().at(0).prompt, &pool, 0.0f);
  std::printf("[          ] f32 SIMD vs scalar: max |logit diff| %.6f\n", d.max_diff);
  EXPECT_LT(d.max_diff, 1e-2f);
  EXPECT_EQ(d.argmax_equal, d.argmax_checked);
}

// 8-bit activations (the default path): every integer matrix product agrees with the scalar
// reference to ~3e-7 relative, but rounding an activation to 8 bits turns such a difference,
// where it crosses a rounding boundary, into a whole quantization step, and 30 layers spread
// it. Measured over the golden prompts: max |diff| 1.51 (0.36 - 1.02 per position on one
// prompt, where the gap between f32 and 8-bit activations is 0.5 - 1.1, the same size: two
// correct 8-bit implementations are two draws of that noise). Bound 3.0 (2x the measured
// maximum), and top-1 equal wherever the scalar top-2 margin exceeds it. A wrong kernel moves
// logits by far more, and the f32 test above checks the ops tightly.
TEST(RealModelTest, SimdForwardMatchesScalarReferenceQuantized) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  if (kernels::cpu::BestIsa() == kernels::cpu::Isa::kScalar) GTEST_SKIP() << "no SIMD level";
  ThreadPool pool;
  auto simd = LlamaModel::Load(file, {.isa = kernels::cpu::BestIsa()});
  auto scalar = LlamaModel::Load(file, {.isa = kernels::cpu::Isa::kScalar});
  ASSERT_TRUE(simd.ok() && scalar.ok());
  ForwardDiff total;
  for (const GoldenCase& c : LoadGolden()) {
    const ForwardDiff d = CompareForward(*simd, *scalar, c.prompt, &pool, 3.0f);
    total.max_diff = std::max(total.max_diff, d.max_diff);
    total.argmax_checked += d.argmax_checked;
    total.argmax_equal += d.argmax_equal;
  }
  std::printf("[          ] 8-bit SIMD vs scalar: max |logit diff| %.4f, top-1 equal %zu of %zu\n",
              total.max_diff, total.argmax_equal, total.argmax_checked);
  EXPECT_LT(total.max_diff, 3.0f);
  EXPECT_EQ(total.argmax_equal, total.argmax_checked);
  EXPECT_GT(total.argmax_checked, 0u);
}

// The mixed batch on the real model, default 8-bit activations (Q4_1 layers, Q8_0 output
// head). Activations are quantized per token and Q4_1 GEMM tiles sum each (row, token) dot the
// same way at any tile width: every K / V row (hence hidden state) is bit-identical to running
// the entry alone (measured 0 with avx512, avx2 and scalar kernels). The Q8_0 head: a 1 x 1 tile
// (a lone token) sums with two interleaved accumulators, a wider tile with one, so logits
// differ by float rounding (measured max 9.5e-6 avx512, 1.1e-5 avx2, 0 scalar, on logits ~20).
// Bound 1e-3, every top-1 equal.
TEST(RealModelTest, BatchOfSequencesEqualsEachAlone) {
  auto file = OpenRealModel();
  SKIP_WITHOUT_MODEL(file);
  ThreadPool pool(2);
  auto m = LlamaModel::Load(file);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const BatchDiff d = MixedBatchVsAlone(*m, &pool);
  std::printf("[          ] batch of 5 vs alone: max |logit diff| %.3g, max |K/V diff| %.3g\n",
              d.logits, d.kv);
  EXPECT_EQ(d.kv, 0.0f);
  EXPECT_LE(d.logits, 1e-3f);
  EXPECT_TRUE(d.argmax_equal);
}

}  // namespace
}  // namespace spatten::model
