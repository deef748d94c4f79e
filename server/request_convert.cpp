// Validation and conversion of API requests; see request_convert.h.
#include "server/request_convert.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "engine/sampling/logprobs.h"

namespace spatten::server {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgument(field + ": " + what);
}

// Range check for a float field; NaN fails every comparison and is rejected here too.
Status CheckRange(const std::string& field, double v, double lo, bool lo_open, double hi,
                  bool hi_open) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (ok) return Status::Ok();
  return Bad(field, std::string("must be in ") + (lo_open ? "(" : "[") + Num(lo) + ", " + Num(hi) +
                        (hi_open ? ")" : "]") + ", got " + Num(v));
}

Result<std::vector<int32_t>> EncodeText(const ServedModel& model, const std::string& text,
                                        bool add_special, const std::string& field) {
  // As llama.cpp's completion does: special-token text in the prompt is the special token.
  auto ids = model.tokenizer.Encode(text, {.add_special = add_special, .parse_special = true});
  if (!ids.ok()) return ids.status().WithContext(field);
  return ids;
}

Result<std::vector<int32_t>> EncodeChat(const ServedModel& model, const v1::ChatPrompt& chat,
                                        bool add_special, const std::string& field) {
  if (!model.chat_template) {
    return Bad(field, "the model has no usable chat template (ModelInfo.has_chat_template)");
  }
  if (chat.messages_size() == 0) return Bad(field + ".messages", "at least one message is required");
  std::vector<tokenizer::ChatMessage> messages;
  for (int i = 0; i < chat.messages_size(); ++i) {
    const auto& m = chat.messages(i);
    static const char* kRoles[] = {"system", "user", "assistant", "tool", "developer"};
    bool known = false;
    for (const char* r : kRoles) known = known || m.role() == r;
    if (!known) {
      return Bad(field + ".messages[" + std::to_string(i) + "].role",
                 "unknown role '" + m.role() + "' (system, user, assistant, tool, developer)");
    }
    messages.push_back({m.role(), m.content()});
  }
  const bool gen_prompt = !chat.has_add_generation_prompt() || chat.add_generation_prompt();
  auto text = model.chat_template->Apply(messages, gen_prompt);
  if (!text.ok()) return text.status().WithContext(field);
  return EncodeText(model, *text, add_special, field);
}

Result<sampling::SamplerParams> ConvertSampling(const v1::SamplingParams& p, size_t n_vocab,
                                                int64_t max_context) {
  sampling::SamplerParams out;
  if (p.has_temperature()) {
    if (!(std::isfinite(p.temperature()) && p.temperature() >= 0.0f)) {
      return Bad("sampling.temperature", "must be >= 0, got " + Num(p.temperature()));
    }
    out.temperature = p.temperature();
  }
  if (p.has_top_k()) {
    if (p.top_k() < 0 || static_cast<size_t>(p.top_k()) > n_vocab) {
      return Bad("sampling.top_k", "must be in [0, " + std::to_string(n_vocab) + "], got " +
                                       std::to_string(p.top_k()));
    }
    out.top_k = p.top_k();
  }
  if (p.has_top_p()) {
    SPATTEN_RETURN_IF_ERROR(CheckRange("sampling.top_p", p.top_p(), 0, true, 1, false));
    out.top_p = p.top_p();
  }
  if (p.has_min_p()) {
    SPATTEN_RETURN_IF_ERROR(CheckRange("sampling.min_p", p.min_p(), 0, false, 1, false));
    out.min_p = p.min_p();
  }
  if (p.has_repetition_penalty()) {
    SPATTEN_RETURN_IF_ERROR(CheckRange("sampling.repetition_penalty", p.repetition_penalty(), 0,
                                       true, sampling::kMaxRepetitionPenalty, false));
    out.repetition_penalty = p.repetition_penalty();
  }
  if (p.has_presence_penalty()) {
    SPATTEN_RETURN_IF_ERROR(
        CheckRange("sampling.presence_penalty", p.presence_penalty(), -2, false, 2, false));
    out.presence_penalty = p.presence_penalty();
  }
  if (p.has_frequency_penalty()) {
    SPATTEN_RETURN_IF_ERROR(
        CheckRange("sampling.frequency_penalty", p.frequency_penalty(), -2, false, 2, false));
    out.frequency_penalty = p.frequency_penalty();
  }
  if (p.has_repeat_last_n()) {
    if (p.repeat_last_n() < -1 || p.repeat_last_n() > max_context) {
      return Bad("sampling.repeat_last_n", "must be in [-1, " + std::to_string(max_context) +
                                               "], got " + std::to_string(p.repeat_last_n()));
    }
    out.repeat_last_n = p.repeat_last_n();
  }
  if (p.has_seed()) {
    out.seed = p.seed();
  } else {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    out.seed = rng();
  }
  if (p.logit_bias_size() > static_cast<int>(sampling::kMaxLogitBiasEntries)) {
    return Bad("sampling.logit_bias", "at most " + std::to_string(sampling::kMaxLogitBiasEntries) +
                                          " entries, got " + std::to_string(p.logit_bias_size()));
  }
  for (const auto& [id, bias] : p.logit_bias()) {
    const std::string field = "sampling.logit_bias[" + std::to_string(id) + "]";
    if (id < 0 || static_cast<size_t>(id) >= n_vocab) {
      return Bad(field, "token id must be in [0, " + std::to_string(n_vocab) + ")");
    }
    SPATTEN_RETURN_IF_ERROR(CheckRange(field, bias, -100, false, 100, false));
    out.logit_bias[id] = bias;
  }
  // The sampler's own check, as a backstop for rules kept only there.
  SPATTEN_RETURN_IF_ERROR(out.Validate(n_vocab).WithContext("sampling"));
  return out;
}

}  // namespace

const std::vector<std::string>& KnownPruningPolicies() {
  static const std::vector<std::string> kPolicies = {"none", "spatten", "h2o", "streaming"};
  return kPolicies;
}

const std::vector<std::string>& SupportedPruningPolicies() {
  static const std::vector<std::string> kPolicies = {"none"};
  return kPolicies;
}

Status ValidatePruning(const v1::PruningConfig& p) {
  const std::string policy = p.policy().empty() ? "none" : p.policy();
  bool known = false;
  for (const auto& k : KnownPruningPolicies()) known = known || k == policy;
  if (!known) {
    return Bad("pruning.policy", "unknown policy '" + policy +
                                     "' (none, spatten, h2o, streaming)");
  }
  const bool is_none = policy == "none";
  const bool is_spatten = policy == "spatten";
  // Fields a policy does not use must be absent, so a typo in the policy name cannot silently
  // run with another policy's settings.
  auto unused = [&](const char* field) {
    return Bad(std::string("pruning.") + field, "not used by policy '" + policy + "'; leave it unset");
  };
  switch (p.token_budget_case()) {
    case v1::PruningConfig::kBudgetTokens:
      if (is_none) return unused("budget_tokens");
      break;
    case v1::PruningConfig::kBudgetRatio:
      if (is_none) return unused("budget_ratio");
      SPATTEN_RETURN_IF_ERROR(CheckRange("pruning.budget_ratio", p.budget_ratio(), 0, true, 1, false));
      break;
    case v1::PruningConfig::TOKEN_BUDGET_NOT_SET:
      break;
  }
  if (p.has_sink_tokens()) {
    if (is_none) return unused("sink_tokens");
    if (p.sink_tokens() > 1024) return Bad("pruning.sink_tokens", "must be in [0, 1024], got " + std::to_string(p.sink_tokens()));
  }
  if (p.has_recent_window()) {
    if (is_none) return unused("recent_window");
    if (p.recent_window() > 65536) {
      return Bad("pruning.recent_window", "must be in [0, 65536], got " + std::to_string(p.recent_window()));
    }
  }
  if (p.token_budget_case() == v1::PruningConfig::kBudgetTokens) {
    const uint64_t floor = (p.has_sink_tokens() ? p.sink_tokens() : 4u) +
                           (p.has_recent_window() ? p.recent_window() : 64u) + 1u;
    if (p.budget_tokens() < floor) {
      return Bad("pruning.budget_tokens", "must be >= sink_tokens + recent_window + 1 = " +
                                              std::to_string(floor) + ", got " +
                                              std::to_string(p.budget_tokens()));
    }
  }
  if (p.has_head_pruning_ratio()) {
    if (!is_spatten) return unused("head_pruning_ratio");
    SPATTEN_RETURN_IF_ERROR(
        CheckRange("pruning.head_pruning_ratio", p.head_pruning_ratio(), 0, false, 1, true));
  }
  if (p.has_local_v_ratio()) {
    if (!is_spatten) return unused("local_v_ratio");
    SPATTEN_RETURN_IF_ERROR(CheckRange("pruning.local_v_ratio", p.local_v_ratio(), 0, true, 1, false));
  }
  if (p.has_quantization()) {
    const auto& q = p.quantization();
    if (q.msb_bits() != 4 && q.msb_bits() != 6 && q.msb_bits() != 8) {
      return Bad("pruning.quantization.msb_bits", "must be 4, 6 or 8, got " + std::to_string(q.msb_bits()));
    }
    if (q.has_lsb_bits() && q.lsb_bits() != 0 && q.lsb_bits() != 2 && q.lsb_bits() != 4) {
      return Bad("pruning.quantization.lsb_bits", "must be 0, 2 or 4, got " + std::to_string(q.lsb_bits()));
    }
    if (q.has_group_size()) {
      const uint32_t g = q.group_size();
      if (g < 16 || g > 256 || (g & (g - 1)) != 0) {
        return Bad("pruning.quantization.group_size",
                   "must be a power of two in [16, 256], got " + std::to_string(g));
      }
    }
    if (q.has_recompute_threshold()) {
      SPATTEN_RETURN_IF_ERROR(CheckRange("pruning.quantization.recompute_threshold",
                                         q.recompute_threshold(), 0, false, 1, false));
    }
  }
  // Valid, but can this server run it? (ModelInfo.supported lists what it can.)
  bool supported = false;
  for (const auto& k : SupportedPruningPolicies()) supported = supported || k == policy;
  if (!supported) {
    return Bad("pruning.policy", "'" + policy + "' is not supported by this server yet (supported: none)");
  }
  if (p.has_quantization()) {
    return Bad("pruning.quantization", "progressive quantization is not supported by this server yet");
  }
  return Status::Ok();
}

Result<GenerationRequest> ConvertGenerateRequest(const v1::GenerateRequest& request,
                                                 const ServedModel& model,
                                                 const RequestLimits& limits) {
  GenerationRequest out;
  if (request.request_id().empty()) {
    out.request_id = NewRequestId();
  } else {
    const std::string& id = request.request_id();
    if (id.size() > 128) return Bad("request_id", "at most 128 characters, got " + std::to_string(id.size()));
    for (const char c : id) {
      if (c < 0x21 || c > 0x7e) return Bad("request_id", "must be printable ASCII without spaces");
    }
    out.request_id = id;
  }
  const size_t n_vocab = static_cast<size_t>(model.model.config().n_vocab);

  switch (request.prompt_case()) {
    case v1::GenerateRequest::kText: {
      SPATTEN_ASSIGN_OR_RETURN(out.prompt_tokens, EncodeText(model, request.text(), true, "prompt.text"));
      break;
    }
    case v1::GenerateRequest::kChat: {
      SPATTEN_ASSIGN_OR_RETURN(out.prompt_tokens, EncodeChat(model, request.chat(), true, "prompt.chat"));
      break;
    }
    case v1::GenerateRequest::kTokenIds: {
      const auto& ids = request.token_ids().ids();
      for (int i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= n_vocab) {
          return Bad("prompt.token_ids.ids[" + std::to_string(i) + "]",
                     "must be in [0, " + std::to_string(n_vocab) + "), got " + std::to_string(ids[i]));
        }
      }
      out.prompt_tokens.assign(ids.begin(), ids.end());
      break;
    }
    case v1::GenerateRequest::PROMPT_NOT_SET:
      return Bad("prompt", "one of text, chat or token_ids must be set");
  }
  if (out.prompt_tokens.empty()) return Bad("prompt", "the prompt has no tokens");
  const auto prompt_len = static_cast<int64_t>(out.prompt_tokens.size());
  if (prompt_len >= limits.max_context_tokens) {
    return Bad("prompt", std::to_string(prompt_len) + " tokens leave no room in the context of " +
                             std::to_string(limits.max_context_tokens) + " tokens");
  }
  if (request.has_max_tokens()) {
    if (request.max_tokens() < 1) return Bad("max_tokens", "must be >= 1, got 0");
    if (prompt_len + request.max_tokens() > limits.max_context_tokens) {
      return Bad("max_tokens", std::to_string(request.max_tokens()) + " + " +
                                   std::to_string(prompt_len) + " prompt tokens exceed the context of " +
                                   std::to_string(limits.max_context_tokens) + " tokens");
    }
    out.max_tokens = static_cast<int32_t>(request.max_tokens());
  } else {
    out.max_tokens = static_cast<int32_t>(
        std::min<int64_t>(limits.max_context_tokens - prompt_len, limits.default_max_tokens));
  }

  SPATTEN_ASSIGN_OR_RETURN(out.sampler, ConvertSampling(request.sampling(), n_vocab,
                                                        limits.max_context_tokens));
  if (request.stop_size() > limits.max_stop_strings) {
    return Bad("stop", "at most " + std::to_string(limits.max_stop_strings) + " strings, got " +
                           std::to_string(request.stop_size()));
  }
  for (int i = 0; i < request.stop_size(); ++i) {
    const size_t n = request.stop(i).size();
    if (n < 1 || n > static_cast<size_t>(limits.max_stop_string_bytes)) {
      return Bad("stop[" + std::to_string(i) + "]", "must be 1.." + std::to_string(limits.max_stop_string_bytes) +
                                                        " bytes, got " + std::to_string(n));
    }
    out.stop.push_back(request.stop(i));
  }
  out.ignore_eos = request.ignore_eos();
  if (request.has_logprobs()) {
    if (request.logprobs() > static_cast<uint32_t>(limits.max_logprobs)) {
      return Bad("logprobs", "must be in [0, " + std::to_string(limits.max_logprobs) + "], got " +
                                 std::to_string(request.logprobs()));
    }
    out.logprobs = static_cast<int32_t>(request.logprobs());
  }
  if (request.priority() < -100 || request.priority() > 100) {
    return Bad("priority", "must be in [-100, 100], got " + std::to_string(request.priority()));
  }
  out.priority = request.priority();
  if (request.has_pruning()) {
    SPATTEN_RETURN_IF_ERROR(ValidatePruning(request.pruning()));
    out.pruning_policy = request.pruning().policy().empty() ? "none" : request.pruning().policy();
  }
  return out;
}

Result<std::vector<int32_t>> TokenizeForRequest(const v1::TokenizeRequest& request,
                                                const ServedModel& model) {
  const bool add_special = !request.has_add_special_tokens() || request.add_special_tokens();
  switch (request.input_case()) {
    case v1::TokenizeRequest::kText:
      return EncodeText(model, request.text(), add_special, "text");
    case v1::TokenizeRequest::kChat:
      return EncodeChat(model, request.chat(), add_special, "chat");
    case v1::TokenizeRequest::INPUT_NOT_SET:
      break;
  }
  return Bad("input", "one of text or chat must be set");
}

std::string NewRequestId() {
  static const uint64_t base = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  static std::atomic<uint64_t> counter{0};
  // splitmix64 of base + counter: unique per process, and not guessable as a sequence.
  uint64_t z = base + 0x9e3779b97f4a7c15ull * (counter.fetch_add(1) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  char buf[24];
  std::snprintf(buf, sizeof(buf), "req-%016llx", static_cast<unsigned long long>(z));
  return buf;
}

grpc::Status ToGrpcStatus(const Status& status) {
  using grpc::StatusCode;
  switch (status.code()) {
    case spatten::StatusCode::kOk: return grpc::Status::OK;
    case spatten::StatusCode::kInvalidArgument:
    case spatten::StatusCode::kOutOfRange: return {StatusCode::INVALID_ARGUMENT, status.message()};
    case spatten::StatusCode::kNotFound: return {StatusCode::NOT_FOUND, status.message()};
    case spatten::StatusCode::kUnimplemented: return {StatusCode::UNIMPLEMENTED, status.message()};
    case spatten::StatusCode::kResourceExhausted: return {StatusCode::RESOURCE_EXHAUSTED, status.message()};
    case spatten::StatusCode::kFailedPrecondition: return {StatusCode::FAILED_PRECONDITION, status.message()};
    case spatten::StatusCode::kUnavailable: return {StatusCode::UNAVAILABLE, status.message()};
    case spatten::StatusCode::kCancelled: return {StatusCode::CANCELLED, status.message()};
    case spatten::StatusCode::kDeadlineExceeded: return {StatusCode::DEADLINE_EXCEEDED, status.message()};
    case spatten::StatusCode::kInternal:
    case spatten::StatusCode::kIoError: break;
  }
  // No internals leak to clients; the server log has the details.
  return {StatusCode::INTERNAL, "internal server error"};
}

}  // namespace spatten::server
