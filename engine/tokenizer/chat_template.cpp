// chat_template.cpp: recognising ChatML-style Jinja templates and rendering them natively.
//
// Recognition works on a normalised form of the template: whitespace outside string literals is
// dropped, literals are unescaped and re-quoted with single quotes, `~` becomes `+`, and
// attribute access (message.role) becomes subscripting (message['role']). The template is then
// accepted when that form contains the ChatML message expression and generation prompt.

#include "engine/tokenizer/chat_template.h"

#include <array>
#include <utility>
#include <vector>

namespace spatten::tokenizer {
namespace {

constexpr std::string_view kImStart = "<|im_start|>";
constexpr std::string_view kImEnd = "<|im_end|>";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s->find(from, pos)) != std::string::npos) {
    s->replace(pos, from.size(), to);
    pos += to.size();
  }
}

struct Normalised {
  std::string text;
  std::vector<std::string> literals;  // unescaped string literals, in order
};

Normalised Normalise(std::string_view src) {
  Normalised n;
  for (size_t i = 0; i < src.size(); ++i) {
    const char c = src[i];
    if (c == '\'' || c == '"') {
      std::string literal;
      size_t j = i + 1;
      for (; j < src.size() && src[j] != c; ++j) {
        if (src[j] == '\\' && j + 1 < src.size()) {
          const char e = src[++j];
          switch (e) {
            case 'n': literal.push_back('\n'); break;
            case 't': literal.push_back('\t'); break;
            case 'r': literal.push_back('\r'); break;
            case '\\': case '\'': case '"': literal.push_back(e); break;
            default: literal.push_back('\\'); literal.push_back(e); break;
          }
        } else {
          literal.push_back(src[j]);
        }
      }
      n.text += '\'';
      n.text += literal;
      n.text += '\'';
      n.literals.push_back(std::move(literal));
      i = j;  // the closing quote (or the end)
    } else if (IsSpace(c)) {
      continue;
    } else {
      n.text.push_back(c == '~' ? '+' : c);
    }
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kAttributeForms = {{
      {"message.role", "message['role']"},
      {"message.content", "message['content']"},
      {"messages[0].role", "messages[0]['role']"},
      {"messages[0].content", "messages[0]['content']"},
  }};
  for (const auto& [from, to] : kAttributeForms) ReplaceAll(&n.text, from, to);
  return n;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

Result<ChatTemplate> ChatTemplate::FromSource(std::string source) {
  if (source.empty()) return NotFound("the model has no chat template (tokenizer.chat_template)");
  if (!Contains(source, kImStart) || !Contains(source, kImEnd)) {
    return Unimplemented("unsupported chat template: only ChatML (<|im_start|> / <|im_end|>) "
                         "templates are rendered natively");
  }
  const Normalised n = Normalise(source);

  // Features whose rendering differs from plain ChatML.
  static constexpr std::array<std::string_view, 5> kUnsupported = {
      "tool_calls", "reasoning_content", "<think>", "|trim", "content_parts"};
  for (std::string_view feature : kUnsupported) {
    if (Contains(n.text, feature)) {
      return Unimplemented("unsupported ChatML chat template: uses '" + std::string(feature) +
                           "', which is not rendered natively");
    }
  }
  static constexpr std::array<std::string_view, 2> kMessageForms = {
      "'<|im_start|>'+message['role']+'\n'+message['content']+'<|im_end|>'+'\n'",
      "'<|im_start|>'+message['role']+'\n'+message['content']+'<|im_end|>\n'",
  };
  bool plain_messages = false;
  for (std::string_view form : kMessageForms) plain_messages = plain_messages || Contains(n.text, form);
  if (!plain_messages) {
    return Unimplemented("unsupported ChatML chat template: messages are not rendered as "
                         "'<|im_start|>' + role + '\\n' + content + '<|im_end|>\\n'");
  }
  if (!Contains(n.text, "add_generation_prompt") || !Contains(n.text, "'<|im_start|>assistant\n'")) {
    return Unimplemented("unsupported ChatML chat template: no '<|im_start|>assistant\\n' "
                         "generation prompt");
  }

  ChatTemplate t;
  t.source_ = std::move(source);
  // A default system message is a literal "<|im_start|>system\n...<|im_end|>\n" in the template.
  const std::string system_head = std::string(kImStart) + "system\n";
  for (const std::string& literal : n.literals) {
    if (literal.rfind(system_head, 0) != 0) continue;
    const size_t end = literal.find(kImEnd, system_head.size());
    if (end == std::string::npos || literal.substr(end) != std::string(kImEnd) + "\n") continue;
    t.default_system_ = literal.substr(system_head.size(), end - system_head.size());
    t.injects_default_system_ = true;
  }
  if (t.injects_default_system_) {
    const bool in_loop = Contains(n.text, "loop.firstandmessages[0]['role']!='system'");
    const bool outside = Contains(n.text, "messages[0]['role']!='system'") ||
                         Contains(n.text, "messages[0]['role']=='system'");
    if (!in_loop && !outside) {
      return Unimplemented("unsupported ChatML chat template: has a default system message but "
                           "no recognisable condition for injecting it");
    }
    t.inject_when_empty_ = !in_loop;
  }
  return t;
}

Result<std::string> ChatTemplate::Apply(std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) const {
  std::vector<std::string_view> roles;
  roles.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role == "system" || role == "user" || role == "assistant" || role == "tool") {
      roles.push_back(role);
    } else if (role == "developer") {
      roles.push_back("system");
    } else {
      return InvalidArgument("message " + std::to_string(i) + " has unknown role '" + role +
                             "' (expected system, user, assistant, tool or developer)");
    }
  }

  std::string out;
  const bool starts_with_system = !roles.empty() && roles.front() == "system";
  if (injects_default_system_ && !starts_with_system && (!roles.empty() || inject_when_empty_)) {
    out.append(kImStart).append("system\n").append(default_system_).append(kImEnd).append("\n");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    out.append(kImStart).append(roles[i]).append("\n");
    out.append(messages[i].content).append(kImEnd).append("\n");
  }
  if (add_generation_prompt) out.append(kImStart).append("assistant\n");
  return out;
}

}  // namespace spatten::tokenizer
