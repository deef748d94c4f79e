// chat_render: renders conversations with a GGUF model's own Jinja chat template through the
// reference peer's (llama.cpp's) chat API, to produce golden data. Our own code; it is compiled
// by tools/peer/make-goldens.sh against the peer's build tree and never built by our CMake.
//
// Usage:
//   chat_render MODEL.gguf --info
//       prints one JSON object: llama.cpp build info, the vocab's add_bos/add_eos flags, BOS/EOS
//       ids and the chat template source as read from the GGUF.
//   chat_render MODEL.gguf < conversations.jsonl > rendered.jsonl
//       input lines:  {"messages": [{"role": R, "content": C}, ...], "add_generation_prompt": B}
//       output lines: the same two fields plus "rendered": the prompt string llama.cpp builds with
//       use_jinja = true (common_chat_templates_init + common_chat_templates_apply), i.e. the
//       path of `llama-server --jinja` / `llama-cli --jinja`, not the built-in "chatml" shortcut.

#include "build-info.h"
#include "chat.h"
#include "llama.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

using ojson = nlohmann::ordered_json;

namespace {

void quiet_log(ggml_log_level level, const char * text, void * /*user*/) {
    if (level == GGML_LOG_LEVEL_ERROR) {
        std::fputs(text, stderr);
    }
}

std::string token_text(const llama_vocab * vocab, llama_token id) {
    if (id == LLAMA_TOKEN_NULL) {
        return "";
    }
    const char * s = llama_vocab_get_text(vocab, id);
    return s ? s : "";
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--info") != 0)) {
        std::fprintf(stderr, "usage: %s MODEL.gguf [--info] < conversations.jsonl\n", argv[0]);
        return 2;
    }
    const bool info = argc == 3;

    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    mparams.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], mparams);
    if (model == nullptr) {
        std::fprintf(stderr, "chat_render: cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const char * gguf_template = llama_model_chat_template(model, /*name=*/nullptr);
    if (gguf_template == nullptr || *gguf_template == '\0') {
        std::fprintf(stderr, "chat_render: the model has no tokenizer.chat_template; refusing to fall back\n");
        return 1;
    }

    // Empty override: the template comes from the GGUF (tokenizer.chat_template).
    common_chat_templates_ptr tmpls = common_chat_templates_init(model, "");
    const std::string used_source = common_chat_templates_source(tmpls.get());
    if (used_source != gguf_template) {
        std::fprintf(stderr, "chat_render: llama.cpp did not pick the model's own template\n");
        return 1;
    }

    int rc = 0;
    if (info) {
        ojson out;
        out["llama_build_info"] = llama_build_info();
        out["llama_commit"] = llama_commit();
        out["llama_build_number"] = llama_build_number();
        out["add_bos"] = llama_vocab_get_add_bos(vocab);
        out["add_eos"] = llama_vocab_get_add_eos(vocab);
        out["bos_id"] = llama_vocab_bos(vocab);
        out["eos_id"] = llama_vocab_eos(vocab);
        out["bos_text"] = token_text(vocab, llama_vocab_bos(vocab));
        out["eos_text"] = token_text(vocab, llama_vocab_eos(vocab));
        out["n_vocab"] = llama_vocab_n_tokens(vocab);
        out["chat_template"] = used_source;
        std::cout << out.dump() << "\n";
    } else {
        std::string line;
        long lineno = 0;
        while (std::getline(std::cin, line)) {
            ++lineno;
            if (line.empty()) {
                continue;
            }
            try {
                const ojson conv = ojson::parse(line);
                common_chat_templates_inputs inputs;
                inputs.use_jinja = true;
                inputs.add_generation_prompt = conv.at("add_generation_prompt").get<bool>();
                for (const auto & m : conv.at("messages")) {
                    common_chat_msg msg;
                    msg.role = m.at("role").get<std::string>();
                    msg.content = m.at("content").get<std::string>();
                    inputs.messages.push_back(msg);
                }
                const common_chat_params params = common_chat_templates_apply(tmpls.get(), inputs);
                ojson out;
                out["messages"] = conv.at("messages");
                out["add_generation_prompt"] = inputs.add_generation_prompt;
                out["rendered"] = params.prompt;
                std::cout << out.dump() << "\n";
            } catch (const std::exception & e) {
                std::fprintf(stderr, "chat_render: line %ld: %s\n", lineno, e.what());
                rc = 1;
            }
        }
    }

    tmpls.reset();
    llama_model_free(model);
    llama_backend_free();
    return rc;
}
