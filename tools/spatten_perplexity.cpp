// spatten-perplexity: perplexity of a model on a text file, following llama-perplexity's
// protocol so that the two figures can be compared directly:
//   - the whole file is tokenized once (BOS only if the model asks for one, as llama.cpp does);
//   - it is split into floor(n_tokens / ctx) non-overlapping chunks of `ctx` tokens;
//   - each chunk is evaluated from an empty cache in one batch (with the model's BOS replacing
//     the chunk's first token when the model adds BOS);
//   - only the second half is scored: the logits at positions ctx/2 .. ctx-2 predict the next
//     token, so each chunk contributes ctx/2 - 1 negative log-likelihoods.
// Progress goes to stderr; the last stdout line is `PPL = <value>`.
//
//   spatten-perplexity --model M --file F [--ctx 512] [--threads T] [--chunks N]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "engine/gguf/gguf.h"
#include "engine/model/llama_model.h"
#include "engine/tokenizer/bpe_tokenizer.h"

namespace {

// -log softmax(logits)[target], computed stably in double.
double NegLogLikelihood(const float* logits, size_t n_vocab, int32_t target) {
  float max_logit = logits[0];
  for (size_t i = 1; i < n_vocab; ++i) max_logit = std::max(max_logit, logits[i]);
  double sum = 0.0;
  for (size_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max_logit));
  return std::log(sum) - static_cast<double>(logits[target] - max_logit);
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "spatten-perplexity: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, file_path;
  int ctx = 512;
  int threads = 0;
  int max_chunks = -1;
  CLI::App app{"Perplexity of a GGUF model on a text file (llama-perplexity protocol)"};
  app.add_option("--model,-m", model_path, "GGUF model file")->required();
  app.add_option("--file,-f", file_path, "text file to score")->required();
  app.add_option("--ctx,-c", ctx, "chunk length in tokens")->check(CLI::Range(16, 1 << 20));
  app.add_option("--threads,-t", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("--chunks", max_chunks, "score at most this many chunks (default: all)");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(file_path, std::ios::binary);
  if (!in) return Fail("cannot open text file '" + file_path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();

  auto file = spatten::gguf::GgufFile::Open(model_path);
  if (!file.ok()) return Fail(file.status().ToString());
  auto shared = std::make_shared<const spatten::gguf::GgufFile>(std::move(file).value());
  auto tok = spatten::tokenizer::Tokenizer::FromGguf(*shared);
  if (!tok.ok()) return Fail(tok.status().ToString());
  spatten::ThreadPool pool(static_cast<size_t>(threads));
  spatten::model::LoadOptions load_options;
  load_options.pool = &pool;
  auto model = spatten::model::LlamaModel::Load(shared, load_options);
  if (!model.ok()) return Fail(model.status().ToString());
  const auto& cfg = model->config();
  if (ctx > cfg.n_ctx_train) {
    return Fail("--ctx " + std::to_string(ctx) + " exceeds the model's context length " +
                std::to_string(cfg.n_ctx_train));
  }

  auto encoded = tok->Encode(text, {.add_special = true, .parse_special = false});
  if (!encoded.ok()) return Fail(encoded.status().ToString());
  const std::vector<int32_t> tokens(encoded->begin(), encoded->end());
  const bool add_bos = tok->vocab().add_bos();
  const size_t n_ctx = static_cast<size_t>(ctx);
  size_t n_chunks = tokens.size() / n_ctx;
  if (max_chunks >= 0) n_chunks = std::min(n_chunks, static_cast<size_t>(max_chunks));
  if (n_chunks == 0) {
    return Fail("the file has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                std::to_string(ctx));
  }
  std::fprintf(stderr, "perplexity: %zu tokens, %zu chunks of %d, %zu threads\n", tokens.size(), n_chunks,
               ctx, pool.num_threads());

  const size_t first = n_ctx / 2;
  const size_t n_vocab = static_cast<size_t>(cfg.n_vocab);
  double nll = 0.0;
  size_t count = 0;
  std::vector<int64_t> positions(n_ctx);
  for (size_t i = 0; i < n_ctx; ++i) positions[i] = static_cast<int64_t>(i);
  std::vector<float> logits;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t c = 0; c < n_chunks; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + static_cast<std::ptrdiff_t>(c * n_ctx),
                               tokens.begin() + static_cast<std::ptrdiff_t>((c + 1) * n_ctx));
    if (add_bos) chunk[0] = tok->bos();
    auto cache = model->NewCache(n_ctx);
    spatten::Status s = model->Forward(chunk, positions, cache, &pool, &logits, {.all_logits = true});
    if (!s.ok()) return Fail(s.ToString());
    for (size_t j = first; j + 1 < n_ctx; ++j) {
      nll += NegLogLikelihood(logits.data() + j * n_vocab, n_vocab, chunk[j + 1]);
      ++count;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[%zu/%zu] running PPL %.4f (%.1f s, %.0f tokens/s)\n", c + 1, n_chunks,
                 std::exp(nll / static_cast<double>(count)), secs,
                 static_cast<double>((c + 1) * n_ctx) / secs);
  }
  const double ppl = std::exp(nll / static_cast<double>(count));
  std::printf("chunks = %zu, ctx = %d, scored tokens = %zu\n", n_chunks, ctx, count);
  std::printf("PPL = %.4f\n", ppl);
  return 0;
}
