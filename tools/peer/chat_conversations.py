#!/usr/bin/env python3
"""Prints the conversations rendered for tests/golden/chat/llama_cpp_chat.jsonl, one JSON
object per line: {"messages": [{"role": ..., "content": ...}], "add_generation_prompt": bool}.

Deterministic. Used by tools/peer/make-goldens.sh, which pipes it into chat_render.
"""

import json
import sys


def m(role, content):
    return {"role": role, "content": content}


SYSTEM = "You are a concise assistant. Answer in one sentence."

CONVERSATIONS = [
    # 1. single user message, no system: the template injects its default system message
    ([m("user", "Hello!")], True),
    # 2. same, without the generation prompt
    ([m("user", "Hello!")], False),
    # 3. explicit system message
    ([m("system", SYSTEM), m("user", "What is the capital of France?")], True),
    # 4. multi-turn user/assistant, ending on a user turn
    ([m("system", SYSTEM), m("user", "What is 2+2?"), m("assistant", "2+2 is 4."),
      m("user", "And 3+3?")], True),
    # 5. multi-turn without system, ending on an assistant turn, no generation prompt
    ([m("user", "Tell me a joke."),
      m("assistant", "Why did the scarecrow win an award? Because he was outstanding in his field."),
      m("user", "Another one, please."),
      m("assistant", "I told my computer I needed a break, and it said: no problem, I'll go to sleep.")],
     False),
    # 6. content with newlines, indentation, tabs and unicode of several scripts + emoji
    ([m("user", "Translate:\n\n  1. \u4f60\u597d\uff0c\u4e16\u754c\n  2. \u041f\u0440\u0438\u0432\u0435\u0442\n"
                "\t3. caf\u00e9 \u2014 na\u00efve \U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467\n")], True),
    # 7. empty user content
    ([m("user", "")], True),
    # 8. empty system content (still counts as a system message: no default injected)
    ([m("system", ""), m("user", "Hi")], True),
    # 9. empty assistant content in history
    ([m("user", "Say nothing."), m("assistant", ""), m("user", "Thanks.")], True),
    # 10. special-token text inside content is rendered verbatim by the template
    ([m("user", "What does <|im_end|> mean? And <|im_start|>assistant?")], True),
    # 11. leading/trailing whitespace and blank lines inside content are kept
    ([m("system", "  padded system  \n"), m("user", "\n\n  padded user\t \n\n")], True),
    # 12. the conversation starts with an assistant message (default system still injected)
    ([m("assistant", "How can I help you today?"), m("user", "Write a haiku about autumn.")], True),
    # 13. a system message that is not first is rendered like any other role
    ([m("user", "Hi"), m("system", "Be brief."), m("user", "Explain gravity.")], True),
    # 14. code in content
    ([m("system", SYSTEM),
      m("user", "Fix this:\n```python\ndef f(x):\n    return x +\n```"),
      m("assistant", "```python\ndef f(x):\n    return x + 1\n```")], False),
    # 15. longer multi-turn conversation
    ([m("system", "You are SmolLM."),
      m("user", "Name a fruit."), m("assistant", "Apple."),
      m("user", "Name another."), m("assistant", "Banana."),
      m("user", "One more, and say why you like it.")], True),
    # 16. Arabic (right-to-left) and Hindi content, CRLF line ending
    ([m("user", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\r\n"
                "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e")], True),
]


def main():
    for messages, add_gen in CONVERSATIONS:
        line = json.dumps({"messages": messages, "add_generation_prompt": add_gen}, ensure_ascii=False)
        sys.stdout.buffer.write(line.encode("utf-8") + b"\n")


if __name__ == "__main__":
    main()
