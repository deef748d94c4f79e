// chat_template.h: turns a conversation into the prompt text the model was trained on. Instead
// of running a Jinja engine, the model's template (tokenizer.chat_template) is recognised and
// rendered natively. Supported: ChatML templates that render every message as
//   <|im_start|>ROLE\nCONTENT<|im_end|>\n
// with an optional default system message injected when the conversation does not start with
// one (SmolLM2, Qwen2-style), and the generation prompt "<|im_start|>assistant\n". The output
// equals what the Jinja template renders (as llama.cpp renders it) for such conversations.
//
// Contract: a ChatTemplate is immutable after FromSource(); Apply() is const and thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace spatten::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool" ("developer" means "system")
  std::string content;
};

class ChatTemplate {
 public:
  // Recognises `source` (a Jinja chat template). NotFound for an empty source (the model has
  // no template); Unimplemented, naming the reason, for templates that are not plain ChatML or
  // use features not rendered natively here (tool calls, reasoning blocks, content trimming).
  static Result<ChatTemplate> FromSource(std::string source);

  // Renders the conversation. InvalidArgument for a role other than system / user / assistant /
  // tool / developer (developer is rendered as system, as llama.cpp maps it). Content is copied
  // verbatim, special-token text included.
  Result<std::string> Apply(std::span<const ChatMessage> messages, bool add_generation_prompt) const;

  const std::string& source() const { return source_; }
  // The system message injected when the first message is not a system message; empty when the
  // template injects none.
  const std::string& default_system_message() const { return default_system_; }
  bool injects_default_system() const { return injects_default_system_; }

 private:
  std::string source_;
  bool injects_default_system_ = false;
  // Whether the injection also happens for an empty conversation (the check is outside the
  // message loop) or only when there is a first message (checked on loop.first).
  bool inject_when_empty_ = false;
  std::string default_system_;
};

}  // namespace spatten::tokenizer
