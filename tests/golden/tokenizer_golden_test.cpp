// tokenizer_golden_test.cpp: checks the tokenizer and the chat template against llama.cpp's
// output recorded in tests/golden/ (see tests/golden/README.md). Every token line and every chat
// rendering must match exactly; each mismatch is reported with its text and both results.
// Needs the model named by SPATTEN_MODEL (skips when unset); missing golden files are failures.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/chat_template.h"
#include "tests/support/json_lines.h"

namespace spatten::tokenizer {
namespace {

using nlohmann::json;

const std::string kTokensFile = std::string(SPATTEN_SOURCE_ROOT) + "/tests/golden/tokenizer/llama_cpp_tokens.jsonl";
const std::string kChatFile = std::string(SPATTEN_SOURCE_ROOT) + "/tests/golden/chat/llama_cpp_chat.jsonl";

// Golden JSON Lines reader (tests/support/json_lines.h) bound to this suite's generator.
bool ReadJsonLines(const std::string& path, std::vector<json>* out) {
  return spatten::testing::ReadJsonLines(path, "tools/peer/make-goldens.sh", out);
}

std::string IdsToString(const std::vector<TokenId>& ids) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? ", " : "") << ids[i];
  s << "]";
  return s.str();
}

// JSON string literal of `text` (shows whitespace and control characters unambiguously).
std::string Quote(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* ModelPath() { return std::getenv("SPATTEN_MODEL"); }

bool HaveModel() { return ModelPath() != nullptr && *ModelPath() != '\0'; }

#define SKIP_WITHOUT_MODEL()                                                                \
  if (!HaveModel()) {                                                                       \
    GTEST_SKIP() << "SPATTEN_MODEL is not set (path of SmolLM2-135M-Instruct.Q4_1.gguf); " \
                    "skipping the llama.cpp golden comparison";                            \
  }

// The golden files are checked first: their absence fails even without a model.
TEST(TokenizerGolden, TokenIdsMatchLlamaCpp) {
  std::vector<json> lines;
  if (!ReadJsonLines(kTokensFile, &lines)) return;
  SKIP_WITHOUT_MODEL();
  auto tokenizer = Tokenizer::Open(ModelPath());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();

  size_t mismatches = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& rec = lines[i];
    const std::string text = rec.at("text").get<std::string>();
    const bool parse_special = rec.at("parse_special").get<bool>();
    const bool add_bos = rec.at("add_bos").get<bool>();
    const auto expected = rec.at("ids").get<std::vector<TokenId>>();
    // "add_bos" records llama.cpp's add_special behaviour for this model (its add_bos flag).
    auto got = tokenizer->Encode(text, {.add_special = true, .parse_special = parse_special});
    if (!got.ok()) {
      ++mismatches;
      ADD_FAILURE() << "line " << i + 1 << ": text " << Quote(text) << " parse_special=" << parse_special
                    << ": error " << got.status().ToString() << "\n  llama.cpp: " << IdsToString(expected);
      continue;
    }
    if (add_bos != tokenizer->vocab().add_bos()) {
      ++mismatches;
      ADD_FAILURE() << "line " << i + 1 << ": llama.cpp add_bos=" << add_bos
                    << " but the vocabulary says " << tokenizer->vocab().add_bos();
    }
    if (*got != expected) {
      ++mismatches;
      ADD_FAILURE() << "line " << i + 1 << ": text " << Quote(text) << " parse_special=" << parse_special
                    << "\n  llama.cpp: " << IdsToString(expected) << "\n  ours:      " << IdsToString(*got);
    }
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << lines.size() << " golden token lines differ";
  std::cout << "[ golden   ] " << lines.size() - mismatches << "/" << lines.size()
            << " token lines match llama.cpp\n";
}

TEST(TokenizerGolden, ChatRenderingsMatchLlamaCpp) {
  std::vector<json> lines;
  if (!ReadJsonLines(kChatFile, &lines)) return;
  SKIP_WITHOUT_MODEL();
  auto tokenizer = Tokenizer::Open(ModelPath());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
  auto tmpl = ChatTemplate::FromSource(tokenizer->chat_template());
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();

  size_t mismatches = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& rec = lines[i];
    std::vector<ChatMessage> messages;
    for (const json& m : rec.at("messages")) {
      messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    }
    const bool add_generation_prompt = rec.at("add_generation_prompt").get<bool>();
    const std::string expected = rec.at("rendered").get<std::string>();
    auto got = tmpl->Apply(messages, add_generation_prompt);
    if (!got.ok()) {
      ++mismatches;
      ADD_FAILURE() << "line " << i + 1 << ": " << got.status().ToString();
      continue;
    }
    if (*got != expected) {
      ++mismatches;
      ADD_FAILURE() << "line " << i + 1 << ": messages " << rec.at("messages").dump()
                    << "\n  llama.cpp: " << Quote(expected) << "\n  ours:      " << Quote(*got);
    }
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << lines.size() << " chat renderings differ";
  std::cout << "[ golden   ] " << lines.size() - mismatches << "/" << lines.size()
            << " chat renderings match llama.cpp\n";
}

}  // namespace
}  // namespace spatten::tokenizer
