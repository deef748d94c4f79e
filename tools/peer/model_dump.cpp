// model_dump: runs a GGUF model through the reference peer's (llama.cpp's) public C API (llama.h)
// on the CPU and writes logits-level golden data. Our own code; it is compiled by
// tools/peer/make-model-goldens.sh against the peer's build tree and never built by our CMake.
//
// Usage:
//   model_dump MODEL.gguf [OPTIONS] --info
//       one JSON object: llama.cpp build info and commit, ggml's CPU feature line, the vocab's
//       size, add_bos flag, end-of-generation ids, and the context settings used below.
//   model_dump MODEL.gguf [OPTIONS] --logits < requests.jsonl > out.jsonl
//       teacher forcing: all tokens of a request are evaluated in ONE llama_decode call from an
//       empty KV cache, with logits requested for every position. For each position i that has
//       a next token (i = 0 .. n-2) it writes the top-5 (id, logit) pairs, the next token's id
//       and logit and the log-sum-exp of all n_vocab logits (so log p(next) = next_logit - lse).
//   model_dump MODEL.gguf [OPTIONS] --greedy N < requests.jsonl > out.jsonl
//       greedy decoding: the prompt is evaluated in one llama_decode call from an empty KV cache,
//       then N tokens are generated one llama_decode call at a time. Each step takes the argmax
//       of the raw logits (ties go to the lowest id; no sampler, no penalties, no randomness).
//       It does not stop at end-of-generation tokens; it always generates N tokens. For every
//       step it writes the top-2 (id, logit) pairs of the logits the token was chosen from.
//
// Options: --threads T (default 2; used for both n_threads and n_threads_batch),
//          --flash-attn on|off (default off; llama.cpp's own default "auto" resolves to on for the
//          CPU, but its CPU flash-attention kernel gives logits that depend on the batch size: a
//          one-query f16-accumulating path for single tokens, a tiled f32 path for larger batches.
//          With it off, a position's logits are bit-identical whatever the multi-token batch
//          it is in; single-token decoding takes other kernels and still differs),
//          --ctx C (default 1024; n_batch = n_ubatch = C so any request is a single ubatch),
//          --kv f16|f32 (KV cache type, default f16 as in llama.cpp; f32 for reference figures).
//
// Request lines (JSON): {"prompt_id": S, "text": S, "parse_special": B} — the text is tokenized
// here with llama_tokenize(add_special = false, parse_special = B): no BOS is added (the model's
// add_bos_token is false anyway); or {"prompt_id": S, "ids": [...]} to give the ids directly.
// Output lines repeat prompt_id (and text when given) and add "ids" (logits) or "prompt_ids",
// "generated_ids", "top2" (greedy). Logits are the float values llama.cpp returned, written as the
// shortest decimal that reads back to the same float; logsumexp is computed in double over the
// whole vocabulary and rounded to float.

#include "build-info.h"
#include "llama.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using ojson = nlohmann::ordered_json;

namespace {

void quiet_log(ggml_log_level level, const char * text, void * /*user*/) {
    if (level == GGML_LOG_LEVEL_ERROR) {
        std::fputs(text, stderr);
    }
}

std::string fmt_float(float v) {
    if (!std::isfinite(v)) {
        throw std::runtime_error("non-finite logit");
    }
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, res.ptr);
}

std::string json_str(const std::string & s) { return ojson(s).dump(); }

std::string id_logit(llama_token id, float logit) {
    return "[" + std::to_string(id) + "," + fmt_float(logit) + "]";
}

std::string ids_json(const std::vector<llama_token> & ids) {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ",";
        out += std::to_string(ids[i]);
    }
    return out + "]";
}

// The k largest logits, by descending logit, ties by ascending id.
std::vector<std::pair<llama_token, float>> top_k(const float * logits, int n_vocab, int k) {
    std::vector<llama_token> idx(n_vocab);
    std::iota(idx.begin(), idx.end(), 0);
    auto better = [logits](llama_token a, llama_token b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
    std::vector<std::pair<llama_token, float>> out;
    for (int i = 0; i < k; ++i) out.emplace_back(idx[i], logits[idx[i]]);
    return out;
}

double log_sum_exp(const float * logits, int n_vocab) {
    float mx = logits[0];
    for (int i = 1; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
    double s = 0.0;
    for (int i = 0; i < n_vocab; ++i) s += std::exp(double(logits[i]) - double(mx));
    return double(mx) + std::log(s);
}

struct Options {
    int threads = 2;
    bool flash_attn = false;
    int n_ctx = 1024;
    bool kv_f32 = false;
};

class Runner {
  public:
    Runner(llama_model * model, const Options & opt) : model_(model), vocab_(llama_model_get_vocab(model)) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = opt.n_ctx;
        cp.n_batch = opt.n_ctx;
        cp.n_ubatch = opt.n_ctx;
        cp.n_seq_max = 1;
        cp.n_threads = opt.threads;
        cp.n_threads_batch = opt.threads;
        cp.flash_attn_type = opt.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
        cp.type_k = opt.kv_f32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
        cp.type_v = opt.kv_f32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
        cp.no_perf = true;
        ctx_ = llama_init_from_model(model, cp);
        if (ctx_ == nullptr) throw std::runtime_error("cannot create a llama_context");
        n_vocab_ = llama_vocab_n_tokens(vocab_);
        batch_ = llama_batch_init(opt.n_ctx, 0, 1);
    }
    ~Runner() {
        llama_batch_free(batch_);
        llama_free(ctx_);
    }
    Runner(const Runner &) = delete;
    Runner & operator=(const Runner &) = delete;

    int n_vocab() const { return n_vocab_; }
    int n_ctx() const { return int(llama_n_ctx(ctx_)); }

    std::vector<llama_token> tokenize(const std::string & text, bool parse_special) const {
        std::vector<llama_token> ids(text.size() + 16);
        int n = llama_tokenize(vocab_, text.data(), int32_t(text.size()), ids.data(), int32_t(ids.size()),
                               /*add_special=*/false, parse_special);
        if (n < 0) {
            ids.resize(size_t(-n));
            n = llama_tokenize(vocab_, text.data(), int32_t(text.size()), ids.data(), int32_t(ids.size()),
                               /*add_special=*/false, parse_special);
        }
        if (n < 0) throw std::runtime_error("llama_tokenize failed");
        ids.resize(size_t(n));
        return ids;
    }

    // Evaluates ids[0..n) at positions pos0.. on sequence 0; logits for all positions or the last.
    void decode(const llama_token * ids, int n, int pos0, bool all_logits) {
        if (pos0 + n > n_ctx()) throw std::runtime_error("request longer than the context");
        batch_.n_tokens = n;
        for (int i = 0; i < n; ++i) {
            batch_.token[i] = ids[i];
            batch_.pos[i] = pos0 + i;
            batch_.n_seq_id[i] = 1;
            batch_.seq_id[i][0] = 0;
            batch_.logits[i] = all_logits || i == n - 1;
        }
        const int32_t rc = llama_decode(ctx_, batch_);
        if (rc != 0) throw std::runtime_error("llama_decode returned " + std::to_string(rc));
    }

    void reset() { llama_memory_clear(llama_get_memory(ctx_), true); }

    const float * logits(int i) {
        const float * l = llama_get_logits_ith(ctx_, i);
        if (l == nullptr) throw std::runtime_error("no logits for output " + std::to_string(i));
        return l;
    }

  private:
    llama_model * model_;
    const llama_vocab * vocab_;
    llama_context * ctx_ = nullptr;
    llama_batch batch_{};
    int n_vocab_ = 0;
};

std::vector<llama_token> request_ids(const Runner & r, const ojson & req) {
    if (req.contains("ids")) return req.at("ids").get<std::vector<llama_token>>();
    return r.tokenize(req.at("text").get<std::string>(), req.value("parse_special", false));
}

std::string head(const ojson & req) {
    std::string out = "{\"prompt_id\":" + json_str(req.at("prompt_id").get<std::string>());
    if (req.contains("text")) out += ",\"text\":" + json_str(req.at("text").get<std::string>());
    return out;
}

std::string run_logits(Runner & r, const ojson & req) {
    const std::vector<llama_token> ids = request_ids(r, req);
    if (ids.size() < 2) throw std::runtime_error("need at least two tokens");
    r.reset();
    r.decode(ids.data(), int(ids.size()), 0, true);
    std::string out = head(req) + ",\"ids\":" + ids_json(ids) + ",\"positions\":[";
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
        const float * l = r.logits(int(i));
        if (i) out += ",";
        out += "{\"pos\":" + std::to_string(i) + ",\"next_id\":" + std::to_string(ids[i + 1]) + ",\"top5\":[";
        const auto top = top_k(l, r.n_vocab(), 5);
        for (size_t k = 0; k < top.size(); ++k) out += (k ? "," : "") + id_logit(top[k].first, top[k].second);
        out += "],\"next_logit\":" + fmt_float(l[ids[i + 1]]);
        out += ",\"logsumexp\":" + fmt_float(float(log_sum_exp(l, r.n_vocab()))) + "}";
    }
    return out + "]}";
}

std::string run_greedy(Runner & r, const ojson & req, int n_predict) {
    const std::vector<llama_token> prompt = request_ids(r, req);
    if (prompt.empty()) throw std::runtime_error("empty prompt");
    r.reset();
    r.decode(prompt.data(), int(prompt.size()), 0, false);
    int out_idx = int(prompt.size()) - 1;
    int pos = int(prompt.size());
    std::vector<llama_token> gen;
    std::string top2 = "[";
    for (int step = 0; step < n_predict; ++step) {
        const auto top = top_k(r.logits(out_idx), r.n_vocab(), 2);
        top2 += std::string(step ? "," : "") + "[" + id_logit(top[0].first, top[0].second) + "," +
                id_logit(top[1].first, top[1].second) + "]";
        const llama_token next = top[0].first;
        gen.push_back(next);
        if (step + 1 < n_predict) {
            r.decode(&next, 1, pos, true);
            ++pos;
            out_idx = 0;
        }
    }
    top2 += "]";
    return head(req) + ",\"prompt_ids\":" + ids_json(prompt) + ",\"generated_ids\":" + ids_json(gen) +
           ",\"top2\":" + top2 + "}";
}

}  // namespace

int main(int argc, char ** argv) {
    const char * usage = "usage: %s MODEL.gguf [--threads T] [--flash-attn on|off] [--ctx C] [--kv f16|f32] "
                         "(--info | --logits | --greedy N) < requests.jsonl\n";
    if (argc < 3) {
        std::fprintf(stderr, usage, argv[0]);
        return 2;
    }
    Options opt;
    std::string mode;
    int n_predict = 0;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, usage, argv[0]);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--threads") {
            opt.threads = std::atoi(value().c_str());
        } else if (a == "--ctx") {
            opt.n_ctx = std::atoi(value().c_str());
        } else if (a == "--flash-attn") {
            const std::string v = value();
            if (v != "on" && v != "off") {
                std::fprintf(stderr, usage, argv[0]);
                return 2;
            }
            opt.flash_attn = v == "on";
        } else if (a == "--kv") {
            const std::string v = value();
            if (v != "f16" && v != "f32") {
                std::fprintf(stderr, usage, argv[0]);
                return 2;
            }
            opt.kv_f32 = v == "f32";
        } else if (a == "--info" || a == "--logits") {
            mode = a;
        } else if (a == "--greedy") {
            mode = a;
            n_predict = std::atoi(value().c_str());
        } else {
            std::fprintf(stderr, usage, argv[0]);
            return 2;
        }
    }
    if (mode.empty() || opt.threads < 1 || opt.n_ctx < 2 || (mode == "--greedy" && n_predict < 1)) {
        std::fprintf(stderr, usage, argv[0]);
        return 2;
    }

    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mparams);
    if (model == nullptr) {
        std::fprintf(stderr, "model_dump: cannot load %s\n", argv[1]);
        return 1;
    }

    int rc = 0;
    try {
        Runner runner(model, opt);
        const llama_vocab * vocab = llama_model_get_vocab(model);
        if (mode == "--info") {
            ojson out;
            out["llama_build_info"] = llama_build_info();
            out["llama_commit"] = llama_commit();
            out["compiler"] = llama_compiler();
            out["build_target"] = llama_build_target();
            out["system_info"] = llama_print_system_info();
            out["n_vocab"] = runner.n_vocab();
            out["add_bos"] = llama_vocab_get_add_bos(vocab);
            std::vector<llama_token> eog;
            for (llama_token t = 0; t < runner.n_vocab(); ++t) {
                if (llama_vocab_is_eog(vocab, t)) eog.push_back(t);
            }
            out["eog_ids"] = eog;
            out["threads"] = opt.threads;
            out["n_ctx"] = runner.n_ctx();
            out["flash_attn"] = opt.flash_attn;
            out["kv_type"] = opt.kv_f32 ? "f32" : "f16";
            std::cout << out.dump() << "\n";
        } else {
            std::string line;
            long lineno = 0;
            while (std::getline(std::cin, line)) {
                ++lineno;
                if (line.empty()) continue;
                const ojson req = ojson::parse(line);
                try {
                    std::cout << (mode == "--logits" ? run_logits(runner, req) : run_greedy(runner, req, n_predict))
                              << "\n";
                } catch (const std::exception & e) {
                    std::fprintf(stderr, "model_dump: line %ld: %s\n", lineno, e.what());
                    rc = 1;
                }
            }
        }
    } catch (const std::exception & e) {
        std::fprintf(stderr, "model_dump: %s\n", e.what());
        rc = 1;
    }

    llama_model_free(model);
    llama_backend_free();
    return rc;
}
