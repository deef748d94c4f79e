// spatten-generate: generates text from a prompt with a GGUF model on the CPU. Streams only the
// generated text to stdout (flushed after every token); everything else (model info, timings,
// stop reason) is logged to stderr. Exit status: 0 success, 1 runtime error, 2 usage error.
//
//   spatten-generate --model M (--prompt T | --prompt-file F | --prompt-ids '[1, 2]') [--chat]
//       [--max-tokens N] [--temperature X] [--seed S] [--threads T] [--top-k K] [--top-p P]
//       [--min-p P] [--repeat-penalty X] [--repeat-last-n N] [--presence-penalty X]
//       [--frequency-penalty X] [--stop S]... [--logprobs N [--logprobs-file F]]
//       [--weights quant|f32] [--ignore-eos] [--log-level L]
//
// The prompt text is tokenized like llama.cpp's llama-completion does: the model's own BOS
// policy, special-token text (e.g. "<|im_start|>") parsed as the special token. --chat renders
// the prompt as one user message with the model's chat template (plus the generation prompt)
// first. --prompt-ids takes token ids directly (for side-by-side checks with another engine).
// Generation stops at an end-of-generation token of the model's vocabulary (its EOS and tokens
// such as <|im_end|> / <|endoftext|>, as the tokenizer identifies them), at --max-tokens, or
// when the context is full, or at a --stop string (matched across token boundaries; the stop
// string and anything after it are not printed, and text that could begin one is held back until
// it cannot). Sampling is greedy unless --temperature > 0. Penalties follow llama.cpp: the
// repetition, presence and frequency penalties all count the last --repeat-last-n tokens of
// prompt + output, so runs compare directly with llama-completion. --logprobs N writes one JSON
// line per generated token (its logprob and the N most likely alternatives, from the model's raw
// logits) to stderr or --logprobs-file; stdout stays the generated text only.

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/thread_pool.h"
#include "engine/gguf/gguf.h"
#include "engine/model/llama_model.h"
#include "engine/sampling/logprobs.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop_matcher.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/unicode.h"

namespace {

using spatten::Result;
using spatten::Status;
using spatten::tokenizer::TokenId;

struct Args {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  std::string prompt_ids;
  bool chat = false;
  int max_tokens = 128;
  float temperature = 0.0f;
  uint64_t seed = 0;
  int threads = 0;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::vector<std::string> stop;
  int logprobs = -1;  // -1: off; N >= 0: the chosen token's logprob plus N alternatives
  std::string logprobs_file;
  std::string weights = "quant";
  bool ignore_eos = false;
  std::string log_level = "info";
};

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return spatten::NotFound("cannot open prompt file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return spatten::IoError("error reading prompt file '" + path + "'");
  return ss.str();
}

// Parses "[1, 2, 3]" or "1,2,3" (brackets optional; commas and whitespace separate ids).
Result<std::vector<TokenId>> ParseIds(const std::string& text) {
  std::vector<TokenId> ids;
  std::string cleaned = text;
  for (char& c : cleaned) {
    if (c == '[' || c == ']' || c == ',') c = ' ';
  }
  std::istringstream in(cleaned);
  long long v = 0;
  while (in >> v) {
    if (v < 0 || v > INT32_MAX) {
      return spatten::InvalidArgument("token id out of range in --prompt-ids");
    }
    ids.push_back(static_cast<TokenId>(v));
  }
  if (!in.eof()) return spatten::InvalidArgument("--prompt-ids: not a list of integers: " + text);
  return ids;
}

Result<std::vector<TokenId>> PromptTokens(const Args& args,
                                          const spatten::tokenizer::Tokenizer& tok) {
  if (!args.prompt_ids.empty()) return ParseIds(args.prompt_ids);
  std::string text = args.prompt;
  if (!args.prompt_file.empty()) {
    SPATTEN_ASSIGN_OR_RETURN(text, ReadFile(args.prompt_file));
  }
  if (args.chat) {
    SPATTEN_ASSIGN_OR_RETURN(auto tmpl,
                             spatten::tokenizer::ChatTemplate::FromSource(tok.chat_template()));
    const spatten::tokenizer::ChatMessage messages[] = {{"user", text}};
    SPATTEN_ASSIGN_OR_RETURN(text, tmpl.Apply(messages, /*add_generation_prompt=*/true));
  }
  return tok.Encode(text, {.add_special = true, .parse_special = true});
}

// A JSON string literal for a token's bytes: ill-formed UTF-8 (a piece may end inside a
// character) becomes U+FFFD; the exact bytes are given separately as "bytes", as OpenAI does.
std::string JsonString(std::string_view bytes) {
  const std::string text = spatten::tokenizer::SanitizeUtf8(bytes);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";  // -inf (an impossible token) has no JSON spelling
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string JsonToken(const spatten::tokenizer::Tokenizer& tok, TokenId id) {
  auto piece = tok.Piece(id, {.render_special = true});
  const std::string_view bytes = piece.ok() ? *piece : std::string_view();
  std::string out = "\"id\":" + std::to_string(id) + ",\"token\":" + JsonString(bytes) +
                    ",\"bytes\":[";
  for (size_t i = 0; i < bytes.size(); ++i) {
    out += (i ? "," : "") + std::to_string(static_cast<unsigned char>(bytes[i]));
  }
  return out + "]";
}

// One JSON line: {"index":i,"id":..,"token":..,"bytes":[..],"logprob":..,"top_logprobs":[..]}.
std::string LogprobsLine(const spatten::tokenizer::Tokenizer& tok, size_t index,
                         const spatten::sampling::Logprobs& lp) {
  std::string line = "{\"index\":" + std::to_string(index) + "," +
                     JsonToken(tok, lp.chosen.token) + ",\"logprob\":" +
                     JsonNumber(lp.chosen.logprob) + ",\"top_logprobs\":[";
  for (size_t i = 0; i < lp.top.size(); ++i) {
    line += std::string(i ? "," : "") + "{" + JsonToken(tok, lp.top[i].token) +
            ",\"logprob\":" + JsonNumber(lp.top[i].logprob) + "}";
  }
  return line + "]}\n";
}

int Run(const Args& args) {
  spatten::log::Level level;
  if (!spatten::log::ParseLevel(args.log_level, &level)) {
    std::fprintf(stderr, "error: unknown --log-level '%s'\n", args.log_level.c_str());
    return 2;
  }
  spatten::log::SetLevel(level);
  auto fail = [](const Status& s) {
    SPATTEN_LOG_ERROR(s.ToString());
    return 1;
  };

  const auto t_start = std::chrono::steady_clock::now();
  auto opened = spatten::gguf::GgufFile::Open(args.model);
  if (!opened.ok()) return fail(opened.status().WithContext("opening model"));
  auto file = std::make_shared<const spatten::gguf::GgufFile>(std::move(opened).value());
  auto tok = spatten::tokenizer::Tokenizer::FromGguf(*file);
  if (!tok.ok()) return fail(tok.status().WithContext("loading tokenizer"));

  spatten::ThreadPool pool(static_cast<size_t>(args.threads));
  spatten::model::LoadOptions load_options;
  load_options.weight_format = args.weights == "quant" ? spatten::model::WeightFormat::kQuantized
                                                       : spatten::model::WeightFormat::kF32;
  load_options.pool = &pool;
  auto model = spatten::model::LlamaModel::Load(file, load_options);
  if (!model.ok()) return fail(model.status().WithContext("loading model"));
  const size_t n_vocab = static_cast<size_t>(model->config().n_vocab);
  if (tok->vocab_size() > n_vocab) {  // a larger embedding table (padding rows) is fine
    return fail(spatten::InvalidArgument("tokenizer has " + std::to_string(tok->vocab_size()) +
                                         " tokens but the model's vocabulary is " +
                                         std::to_string(n_vocab)));
  }

  auto sampler = spatten::sampling::Sampler::Create(
      {.temperature = args.temperature,
       .top_k = args.top_k,
       .top_p = args.top_p,
       .min_p = args.min_p,
       .seed = args.seed,
       .repetition_penalty = args.repeat_penalty,
       .repeat_last_n = args.repeat_last_n,
       .presence_penalty = args.presence_penalty,
       .frequency_penalty = args.frequency_penalty,
       .presence_frequency_in_window = true},  // llama.cpp's convention, for side-by-side runs
      n_vocab);
  if (!sampler.ok()) return fail(sampler.status());
  auto stops = spatten::sampling::StopMatcher::Create(args.stop);
  if (!stops.ok()) return fail(stops.status().WithContext("--stop"));
  std::FILE* logprobs_out = stderr;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> logprobs_file(nullptr, &std::fclose);
  if (args.logprobs >= 0 && !args.logprobs_file.empty()) {
    logprobs_file.reset(std::fopen(args.logprobs_file.c_str(), "w"));
    if (!logprobs_file) {
      return fail(spatten::IoError("cannot open --logprobs-file '" + args.logprobs_file + "'"));
    }
    logprobs_out = logprobs_file.get();
  }

  auto prompt = PromptTokens(args, *tok);
  if (!prompt.ok()) return fail(prompt.status().WithContext("preparing the prompt"));
  if (prompt->empty()) return fail(spatten::InvalidArgument("the prompt has no tokens"));

  sampler->AcceptPrompt(*prompt);  // the repetition window covers the prompt too

  spatten::model::SequenceKvCache cache = model->NewCache();
  const auto t_loaded = std::chrono::steady_clock::now();
  SPATTEN_LOG_INFO("loaded in " + std::to_string(Seconds(t_start, t_loaded)) + " s; " +
                   std::to_string(pool.num_threads()) + " threads, weights " + args.weights +
                   ", prompt " + std::to_string(prompt->size()) + " tokens");

  std::vector<float> logits;
  Status st = model->ForwardNext(*prompt, cache, &pool, &logits);
  if (!st.ok()) return fail(st.WithContext("prompt"));
  const auto t_prefilled = std::chrono::steady_clock::now();

  spatten::tokenizer::StreamingDecoder decoder(*tok);
  const bool tty = isatty(STDOUT_FILENO) != 0;
  auto emit = [](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  using spatten::sampling::FinishReason;
  FinishReason finish = FinishReason::kLength;  // also when --max-tokens is 0
  std::string stop_reason = "max tokens";
  std::vector<TokenId> generated;
  while (static_cast<int>(generated.size()) < args.max_tokens) {
    const TokenId next = sampler->Sample(logits);
    generated.push_back(next);
    if (args.logprobs >= 0) {  // from the raw logits, before penalties and temperature
      auto lp = spatten::sampling::ComputeLogprobs(logits, next, args.logprobs);
      if (!lp.ok()) return fail(lp.status().WithContext("logprobs"));
      const std::string line = LogprobsLine(*tok, generated.size() - 1, *lp);
      std::fwrite(line.data(), 1, line.size(), logprobs_out);
    }
    const bool eog = tok->IsEog(next);
    bool stop_matched = false;
    if (!eog || args.ignore_eos) {
      auto text = decoder.Push(next);
      if (!text.ok()) return fail(text.status());
      const auto out = stops->Push(*text);
      emit(out.text);
      stop_matched = out.stopped();
    }
    const bool context_full = cache.size() >= cache.max_slots();
    finish = spatten::sampling::FinishAfterToken(eog, args.ignore_eos, stop_matched,
                                                 generated.size(),
                                                 static_cast<size_t>(args.max_tokens),
                                                 context_full);
    if (finish == FinishReason::kEog) {
      stop_reason = "end of generation token " + std::to_string(next);
    } else if (finish == FinishReason::kStop) {
      stop_reason = "stop string '" + stops->stops()[static_cast<size_t>(stops->matched())] + "'";
    } else if (finish == FinishReason::kLength && context_full &&
               static_cast<int>(generated.size()) < args.max_tokens) {
      stop_reason = "context full (" + std::to_string(cache.max_slots()) + " tokens)";
    }
    if (finish != FinishReason::kNone) break;
    const TokenId one[1] = {next};
    st = model->ForwardNext(one, cache, &pool, &logits);
    if (!st.ok()) return fail(st.WithContext("decoding"));
  }
  if (finish != FinishReason::kStop) {
    // The decoder's unfinished character and the matcher's held-back text are released only
    // now; the decoder's tail could still complete a stop string.
    const auto out = stops->Push(decoder.Flush());
    emit(out.text);
    if (out.stopped()) {
      finish = FinishReason::kStop;
      stop_reason = "stop string '" + stops->stops()[static_cast<size_t>(out.matched)] + "'";
    } else {
      emit(stops->Flush());
    }
  }
  if (tty) std::fputc('\n', stdout);
  std::fflush(stdout);
  const auto t_done = std::chrono::steady_clock::now();

  const double prefill_s = Seconds(t_loaded, t_prefilled);
  const double decode_s = Seconds(t_prefilled, t_done);
  // Decode steps: every generated token but the last one was fed back through the model.
  const size_t steps = generated.empty() ? 0 : generated.size() - 1;
  char line[256];
  std::snprintf(line, sizeof(line),
                "prompt: %zu tokens in %.3f s (%.1f tok/s); generated %zu tokens, %zu decode "
                "steps in %.3f s (%.1f tok/s); stop: ",
                prompt->size(), prefill_s, static_cast<double>(prompt->size()) / prefill_s,
                generated.size(), steps, decode_s,
                decode_s > 0 ? static_cast<double>(steps) / decode_s : 0.0);
  SPATTEN_LOG_INFO(std::string(line) + stop_reason + " (finish reason " +
                   std::string(spatten::sampling::FinishReasonName(finish)) + ")");
  std::string ids = "generated ids: [";
  for (size_t i = 0; i < generated.size(); ++i) {
    ids += (i ? ", " : "") + std::to_string(generated[i]);
  }
  SPATTEN_LOG_DEBUG(ids + "]");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"spatten-generate: generate text with a GGUF model on the CPU"};
  app.add_option("--model,-m", args.model, "GGUF model file")->required()->check(CLI::ExistingFile);
  auto* prompt = app.add_option("--prompt,-p", args.prompt, "prompt text");
  auto* prompt_file =
      app.add_option("--prompt-file,-f", args.prompt_file, "file holding the prompt text");
  auto* prompt_ids = app.add_option("--prompt-ids", args.prompt_ids,
                                    "prompt as token ids, e.g. '[504, 3575]' (no tokenization)");
  prompt->excludes(prompt_file)->excludes(prompt_ids);
  prompt_file->excludes(prompt_ids);
  app.add_flag("--chat", args.chat,
               "render the prompt as a user message with the model's chat template");
  app.add_option("--max-tokens,-n", args.max_tokens, "tokens to generate at most")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--temperature,--temp", args.temperature, "sampling temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed,-s", args.seed, "sampling RNG seed");
  app.add_option("--threads,-t", args.threads, "threads (default: physical cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", args.top_k, "keep the K most likely tokens (0: off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", args.top_p, "nucleus sampling threshold (1: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--min-p", args.min_p, "drop tokens with p < min_p * p_max (0: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--repeat-penalty", args.repeat_penalty,
                 "divide positive / multiply negative logits of recent tokens (1: off)")
      ->check(CLI::Range(0.0f, spatten::sampling::kMaxRepetitionPenalty));
  app.add_option("--repeat-last-n", args.repeat_last_n,
                 "tokens of prompt + output the penalties look back on (-1: all, 0: off)")
      ->check(CLI::Range(-1, INT32_MAX));
  app.add_option("--presence-penalty", args.presence_penalty,
                 "subtracted from the logit of every recent token (0: off)")
      ->check(CLI::Range(-2.0f, 2.0f));
  app.add_option("--frequency-penalty", args.frequency_penalty,
                 "subtracted once per occurrence of a recent token (0: off)")
      ->check(CLI::Range(-2.0f, 2.0f));
  app.add_option("--stop", args.stop,
                 "stop before this text (repeatable; at most 16 strings of 1-256 bytes; use "
                 "$'\\n' for a newline)")
      ->allow_extra_args(false);
  auto* logprobs =
      app.add_option("--logprobs", args.logprobs,
                     "write each token's logprob and the N most likely alternatives as JSON "
                     "lines (to stderr unless --logprobs-file)")
          ->check(CLI::Range(0, spatten::sampling::kMaxTopLogprobs));
  app.add_option("--logprobs-file", args.logprobs_file, "file for the --logprobs JSON lines")
      ->needs(logprobs);
  app.add_option("--weights", args.weights,
                 "quant (default): packed weights from the file with 8-bit activations, like "
                 "llama.cpp (fast, small); f32: dequantize weights once at load and keep "
                 "activations in f32 (~4 bytes/parameter, slower)")
      ->check(CLI::IsMember({"f32", "quant"}));
  app.add_flag("--ignore-eos", args.ignore_eos, "keep generating after end-of-generation tokens");
  app.add_option("--log-level", args.log_level, "debug, info, warn or error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is not an error
  }
  if (args.prompt.empty() && args.prompt_file.empty() && args.prompt_ids.empty()) {
    std::fprintf(stderr, "error: one of --prompt, --prompt-file or --prompt-ids is required\n");
    return 2;
  }
  if (args.chat && !args.prompt_ids.empty()) {
    std::fprintf(stderr, "error: --chat needs a text prompt, not --prompt-ids\n");
    return 2;
  }
  return Run(args);
}
