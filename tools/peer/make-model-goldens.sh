#!/usr/bin/env bash
# Regenerates the model-level golden data in tests/golden/model/ from the reference peer
# (llama.cpp, built out of tree by tools/peer/build-llama-cpp.sh), on the CPU:
#
#   tests/golden/model/llama_cpp_logits.jsonl              teacher-forced logits: top-5, the next
#                                                          token's logit and the log-sum-exp at every
#                                                          position of 5 short prompts
#   tests/golden/model/llama_cpp_greedy_continuations.jsonl  64 greedy tokens for 10 prompts (5 raw
#                                                          text, 5 chat) with the top-2 logits per step
#   tests/golden/model/llama_cpp_perplexity.json           llama-perplexity on the GPL-3 text shipped
#                                                          by Debian's base-files (/usr/share/common-licenses)
#
# The first two come from tools/peer/model_dump.cpp (our own program on llama.h, compiled against
# the peer's build tree into ~/.cache/spatten/peer/tools/); chat prompts are rendered with the
# model's own template by tools/peer/chat_render.cpp, exactly as in tests/golden/chat/.
#
# Usage: tools/peer/make-model-goldens.sh
# Env:   SPATTEN_PEER_DIR, SPATTEN_MODEL   as for tools/peer/make-goldens.sh (see peer-lib.sh)
#        SPATTEN_GOLDEN_THREADS            CPU threads for every peer run (default 2; recorded)
#
# Every peer run uses an f16 KV cache and flash attention OFF (llama.cpp's default "auto" turns it
# on for the CPU, where its kernel gives batch-size-dependent logits, up to ~1 logit apart for the
# same position; with it off a position's logits depend neither on the size of a multi-token
# batch nor on the thread count. Single-token decoding still differs from batch evaluation by up
# to ~0.9 logit: the script measures and logs that, see tests/golden/README.md).
# For reference (to size tolerances), everything is also run with an f32 KV cache, llama.cpp's
# most exact attention (f16 K/V round Q, K, V and the attention weights): those figures go into
# "kv_f32" fields next to the f16 ones; the perplexity file also has the run with llama.cpp's
# plain defaults (flash attention auto = on).
# Nothing from the peer is copied into the repository; only the three files above are written.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peer_log_prefix=make-model-goldens
# shellcheck source=tools/peer/peer-lib.sh
source "$root/tools/peer/peer-lib.sh"

threads="${SPATTEN_GOLDEN_THREADS:-2}"
n_predict=64
ppl_text=/usr/share/common-licenses/GPL-3
ppl_ctx=512
out_dir="$root/tests/golden/model"
chat_golden="$root/tests/golden/chat/llama_cpp_chat.jsonl"

# --- 1. the peer, the model, our two programs ----------------------------------------------
peer_build
peer_model
renderer="$(peer_compile chat_render "$root/tools/peer/chat_render.cpp")"
dumper="$(peer_compile model_dump "$root/tools/peer/model_dump.cpp")"
[[ -f "$ppl_text" ]] || { peer_log "$ppl_text not found (Debian's base-files package ships it)"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dump=("$dumper" "$model" --threads "$threads" --flash-attn off)
dump32=("${dump[@]}" --kv f32)
"${dump[@]}" --info > "$tmp/info.json"
peer_log "peer: $(cat "$tmp/info.json")"

# --- 2. the helper (prompt lists, assembly, checks) ------------------------------------------
cat > "$tmp/golden.py" <<'PYEOF'
import hashlib, json, re, sys

def m(role, content):
    return {"role": role, "content": content}

SYSTEM = "You are a concise assistant. Answer in one sentence."  # as in tools/peer/chat_conversations.py

# Teacher-forced logits: (prompt_id, text or conversation, parse_special).
LOGIT_PROMPTS = [
    ("prose", "The sun rises in the east and sets in the west", False),
    ("chat", {"messages": [m("system", "Be brief."), m("user", "Hi!")], "add_generation_prompt": True}, True),
    ("code", "def add(a, b):\n    return a + b", False),
    ("numbers", "1, 2, 3, 4, 5", False),
    ("multilingual", "Bonjour le monde! Привет!", False),
]

# Greedy continuations: raw text (parse_special false) and chat conversations (parse_special true).
GREEDY_PROMPTS = [
    ("raw-france", "The capital of France is"),
    ("raw-story", "Once upon a time, in a small village,"),
    ("raw-code", "def is_prime(n):\n"),
    ("raw-fibonacci", "1, 1, 2, 3, 5, 8, 13,"),
    ("raw-colors", "The three primary colors are"),
    # the first three are conversations 1, 3 and 4 of tests/golden/chat/llama_cpp_chat.jsonl
    ("chat-hello", {"messages": [m("user", "Hello!")], "add_generation_prompt": True}),
    ("chat-france", {"messages": [m("system", SYSTEM), m("user", "What is the capital of France?")],
                     "add_generation_prompt": True}),
    ("chat-multiturn", {"messages": [m("system", SYSTEM), m("user", "What is 2+2?"), m("assistant", "2+2 is 4."),
                                     m("user", "And 3+3?")], "add_generation_prompt": True}),
    ("chat-haiku", {"messages": [m("user", "Write a haiku about the sea.")], "add_generation_prompt": True}),
    ("chat-fruits", {"messages": [m("user", "List three fruits.")], "add_generation_prompt": True}),
]

def jsonl_line(obj):
    line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch in ("\u0085", "\u2028", "\u2029"):
        line = line.replace(ch, "\\u%04x" % ord(ch))
    return line + "\n"

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]

def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

def conversations():
    return [p for _, p, *_ in LOGIT_PROMPTS + GREEDY_PROMPTS if isinstance(p, dict)]

def cmd_conversations(out):
    write(out, "".join(jsonl_line(c) for c in conversations()))

def cmd_requests(rendered_path, chat_golden, logits_out, greedy_out):
    rendered = read_jsonl(rendered_path)
    convs = conversations()
    assert len(rendered) == len(convs), "chat_render returned %d lines for %d conversations" % (len(rendered), len(convs))
    by_conv = {}
    for c, r in zip(convs, rendered):
        assert r["messages"] == c["messages"] and r["add_generation_prompt"] == c["add_generation_prompt"]
        by_conv[json.dumps(c, sort_keys=True)] = r["rendered"]
    # Renderings shared with the chat golden must be identical to it.
    golden = {json.dumps({"messages": g["messages"], "add_generation_prompt": g["add_generation_prompt"]},
                         sort_keys=True): g["rendered"] for g in read_jsonl(chat_golden)}
    shared = [k for k in by_conv if k in golden]
    for k in shared:
        assert by_conv[k] == golden[k], "rendering differs from tests/golden/chat for %s" % k
    print("make-model-goldens: %d chat prompts match tests/golden/chat/llama_cpp_chat.jsonl verbatim" % len(shared),
          file=sys.stderr)
    def text_of(p):
        return by_conv[json.dumps(p, sort_keys=True)] if isinstance(p, dict) else p
    write(logits_out, "".join(jsonl_line({"prompt_id": pid, "text": text_of(p), "parse_special": ps})
                              for pid, p, ps in LOGIT_PROMPTS))
    write(greedy_out, "".join(jsonl_line({"prompt_id": pid, "text": text_of(p), "parse_special": isinstance(p, dict)})
                              for pid, p in GREEDY_PROMPTS))

def cmd_assemble(info_path, logits_req, logits_raw, logits_raw32, greedy_req, greedy_raw, greedy_raw32,
                 logits_out, greedy_out):
    info = json.load(open(info_path))
    eog = set(info["eog_ids"])
    lines = []
    for req, raw, raw32 in zip(read_jsonl(logits_req), read_jsonl(logits_raw), read_jsonl(logits_raw32), strict=True):
        assert raw["prompt_id"] == req["prompt_id"] and raw["text"] == req["text"] and raw32["ids"] == raw["ids"]
        positions = []
        for p, q in zip(raw["positions"], raw32["positions"], strict=True):
            assert p["pos"] == q["pos"]
            positions.append(dict(p, kv_f32={"top1": q["top5"][0], "next_logit": q["next_logit"],
                                             "logsumexp": q["logsumexp"]}))
        lines.append(jsonl_line({"prompt_id": raw["prompt_id"], "text": raw["text"],
                                 "parse_special": req["parse_special"], "ids": raw["ids"], "positions": positions}))
    write(logits_out, "".join(lines))
    lines = []
    for req, raw, raw32 in zip(read_jsonl(greedy_req), read_jsonl(greedy_raw), read_jsonl(greedy_raw32), strict=True):
        assert raw["prompt_id"] == req["prompt_id"] and raw["text"] == req["text"]
        assert raw32["prompt_ids"] == raw["prompt_ids"]
        gen, gen32 = raw["generated_ids"], raw32["generated_ids"]
        first_eog = next((i for i, t in enumerate(gen) if t in eog), None)
        agree = next((i for i, (a, b) in enumerate(zip(gen, gen32)) if a != b), len(gen))
        lines.append(jsonl_line({"prompt_id": raw["prompt_id"], "text": raw["text"], "chat": req["parse_special"],
                                 "prompt_ids": raw["prompt_ids"], "generated_ids": gen, "top2": raw["top2"],
                                 "first_eog_step": first_eog, "kv_f32_generated_ids": gen32,
                                 "kv_f32_agreeing_steps": agree}))
    write(greedy_out, "".join(lines))

def cmd_forced_requests(greedy_raw, out):
    # prompt + all generated tokens but the last, teacher-forced in one batch
    write(out, "".join(jsonl_line({"prompt_id": r["prompt_id"], "ids": r["prompt_ids"] + r["generated_ids"][:-1]})
                       for r in read_jsonl(greedy_raw)))

def cmd_compare_forced(greedy_raw, forced_raw):
    # llama.cpp against itself: one batch over prompt+continuation vs. token-by-token decoding.
    worst, flips, steps = 0.0, [], 0
    for g, f in zip(read_jsonl(greedy_raw), read_jsonl(forced_raw), strict=True):
        n = len(g["prompt_ids"])
        for k, ((a, la), (b, lb)) in enumerate(g["top2"]):
            pos = f["positions"][n - 1 + k] if n - 1 + k < len(f["positions"]) else None
            if pos is None:  # the last step has no next token in the forced sequence
                continue
            steps += 1
            top = pos["top5"]
            worst = max(worst, abs(top[0][1] - la))
            if top[0][0] != a:
                flips.append((g["prompt_id"], k, round(la - lb, 6)))
    print("make-model-goldens: llama.cpp against itself, one batch vs token by token: %d steps, max |top-1 logit "
          "diff| = %.6g, argmax differs at %d steps (prompt, step, gap) %s" % (steps, worst, len(flips), flips),
          file=sys.stderr)

def cmd_report_kv(logits_out, greedy_out):
    d_logit, d_logp = [], []
    for r in read_jsonl(logits_out):
        for p in r["positions"]:
            q = p["kv_f32"]
            d_logit.append(abs(p["next_logit"] - q["next_logit"]))
            d_logp.append(abs((p["next_logit"] - p["logsumexp"]) - (q["next_logit"] - q["logsumexp"])))
    agree = ["%s:%d" % (r["prompt_id"], r["kv_f32_agreeing_steps"]) for r in read_jsonl(greedy_out)]
    print("make-model-goldens: f16 vs f32 KV: |next_logit diff| max %.4g mean %.4g, |log-prob diff| max %.4g mean %.4g "
          "over %d positions; greedy steps agreeing: %s" % (max(d_logit), sum(d_logit) / len(d_logit), max(d_logp),
                                                           sum(d_logp) / len(d_logp), len(d_logit), " ".join(agree)),
          file=sys.stderr)

def cmd_report_ties(greedy_out, threshold):
    threshold = float(threshold)
    ties = []
    for r in read_jsonl(greedy_out):
        for k, ((a, la), (b, lb)) in enumerate(r["top2"]):
            if la - lb < threshold:
                ties.append("%s@%d(gap %.4g: %d vs %d)" % (r["prompt_id"], k, la - lb, a, b))
    print("make-model-goldens: greedy steps with top-2 gap < %g: %d %s" % (threshold, len(ties), ", ".join(ties)),
          file=sys.stderr)

def parse_perplexity(log_path):
    log = open(log_path, encoding="utf-8", errors="replace").read()
    final = re.findall(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    head = re.findall(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)", log)
    running = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+),", log)]
    assert len(final) == 1 and len(head) == 1, "cannot parse llama-perplexity's output in " + log_path
    return final, tuple(map(int, head[0])), running

def cmd_perplexity(out, log_path, text_path, threads, ctx, n_tokens, info_path, model_sha, command,
                   default_log_path, default_command, f32_log_path, f32_command):
    final, (n_chunks, n_ctx, n_batch, n_seq), running = parse_perplexity(log_path)
    d_final, d_head, d_running = parse_perplexity(default_log_path)
    f_final, f_head, f_running = parse_perplexity(f32_log_path)
    assert d_head == f_head == (n_chunks, n_ctx, n_batch, n_seq)
    assert n_ctx == int(ctx) and len(running) == n_chunks
    n_tokens = int(n_tokens)
    assert n_chunks == n_tokens // n_ctx, (n_chunks, n_tokens)
    data = open(text_path, "rb").read()
    info = json.load(open(info_path))
    scored = n_ctx - n_ctx // 2 - 1
    rec = {
        "text_file": text_path,
        "text_package": "base-files (Debian 12, Essential: yes)",
        "text_sha256": hashlib.sha256(data).hexdigest(),
        "text_bytes": len(data),
        "text_note": "llama.cpp's -f drops one trailing newline; the rest is tokenized with add_special=true "
                     "(no BOS: add_bos_token is false) and parse_special=false",
        "n_tokens": n_tokens,
        "ctx_size": n_ctx,
        "batch_size": n_batch,
        "n_seq": n_seq,
        "n_chunks": n_chunks,
        "scored_tokens_per_chunk": scored,
        "scored_tokens": scored * n_chunks,
        "scoring": "chunk c is tokens [c*ctx, (c+1)*ctx) evaluated from an empty KV cache; the logits at positions "
                   "ctx/2 .. ctx-2 score tokens ctx/2+1 .. ctx-1; PPL = exp(mean NLL over all scored tokens)",
        "ppl": float(final[0][0]),
        "ppl_stderr": float(final[0][1]),
        "running_ppl": running,
        "threads": int(threads),
        "flash_attn": "off",
        "kv_cache_type": "f16",
        "command": command,
        "kv_f32": {
            "note": "reference: the same run with an f32 KV cache (llama.cpp's most exact attention)",
            "command": f32_command,
            "ppl": float(f_final[0][0]),
            "ppl_stderr": float(f_final[0][1]),
            "running_ppl": f_running,
        },
        "llama_cpp_defaults": {
            "note": "reference: the same run with llama.cpp's defaults (flash_attn auto, which is on for the CPU; "
                    "f16 KV cache)",
            "command": default_command,
            "ppl": float(d_final[0][0]),
            "ppl_stderr": float(d_final[0][1]),
            "running_ppl": d_running,
        },
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "model_sha256": model_sha,
        "peer": "llama.cpp %s (llama-cpp-python 0.3.36 sdist, ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f)"
                % info["llama_build_info"],
        "peer_system_info": info["system_info"].strip(),
    }
    write(out, json.dumps(rec, ensure_ascii=False, indent=2) + "\n")
    print("make-model-goldens: PPL = %s +/- %s over %d chunks (%d tokens); f32 KV: %s +/- %s; llama.cpp defaults "
          "(flash attention on): %s +/- %s" % (final[0][0], final[0][1], n_chunks, n_tokens, f_final[0][0], f_final[0][1],
                                               d_final[0][0], d_final[0][1]), file=sys.stderr)

def cmd_sanity(logits_out, greedy_out, paris_ids):
    paris = json.loads(paris_ids)
    n_pos = 0
    for r in read_jsonl(logits_out):
        assert len(r["positions"]) == len(r["ids"]) - 1
        for p in r["positions"]:
            n_pos += 1
            assert r["ids"][p["pos"] + 1] == p["next_id"]
            assert p["top5"][0][1] >= p["next_logit"] and p["logsumexp"] >= p["top5"][0][1] - 1e-5
            assert all(p["top5"][i][1] >= p["top5"][i + 1][1] for i in range(4))
    greedy = read_jsonl(greedy_out)
    assert len(greedy) == 10 and all(len(r["generated_ids"]) == len(r["top2"]) == 64 for r in greedy)
    for r in greedy:
        assert [t[0][0] for t in r["top2"]] == r["generated_ids"]
        assert r["chat"] == (r["prompt_ids"][0] == 1)  # chat prompts start with <|im_start|>
    france = next(r for r in greedy if r["prompt_id"] == "raw-france")
    assert france["generated_ids"][:len(paris)] == paris, "'The capital of France is' did not continue with ' Paris'"
    print("make-model-goldens: sanity checks passed (%d logit positions)" % n_pos, file=sys.stderr)

if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
PYEOF
py() { python3 "$tmp/golden.py" "$@"; }

# --- 3. prompts: chat conversations rendered by llama.cpp, then tokenized by model_dump -------
py conversations "$tmp/conversations.jsonl"
"$renderer" "$model" < "$tmp/conversations.jsonl" > "$tmp/rendered.jsonl"
py requests "$tmp/rendered.jsonl" "$chat_golden" "$tmp/logits_req.jsonl" "$tmp/greedy_req.jsonl"

# --- 4. logits and greedy continuations --------------------------------------------------------
"${dump[@]}" --logits < "$tmp/logits_req.jsonl" > "$tmp/logits_raw.jsonl"
"${dump[@]}" --greedy "$n_predict" < "$tmp/greedy_req.jsonl" > "$tmp/greedy_raw.jsonl"
"${dump32[@]}" --logits < "$tmp/logits_req.jsonl" > "$tmp/logits_raw32.jsonl"
"${dump32[@]}" --greedy "$n_predict" < "$tmp/greedy_req.jsonl" > "$tmp/greedy_raw32.jsonl"

# Checks that only log: another thread count gives the same bits; batch vs token-by-token decoding.
for t in 1 2; do
  [[ "$t" == "$threads" ]] && continue
  other=("$dumper" "$model" --threads "$t" --flash-attn off)
  "${other[@]}" --logits < "$tmp/logits_req.jsonl" > "$tmp/logits_t$t.jsonl"
  "${other[@]}" --greedy "$n_predict" < "$tmp/greedy_req.jsonl" > "$tmp/greedy_t$t.jsonl"
  if cmp -s "$tmp/logits_raw.jsonl" "$tmp/logits_t$t.jsonl" && cmp -s "$tmp/greedy_raw.jsonl" "$tmp/greedy_t$t.jsonl"; then
    peer_log "threads=$t gives byte-identical output to threads=$threads"
  else
    peer_log "WARNING: threads=$t output differs from threads=$threads (the goldens record threads=$threads)"
  fi
  break
done
py forced-requests "$tmp/greedy_raw.jsonl" "$tmp/forced_req.jsonl"
"${dump[@]}" --logits < "$tmp/forced_req.jsonl" > "$tmp/forced_raw.jsonl"
py compare-forced "$tmp/greedy_raw.jsonl" "$tmp/forced_raw.jsonl"

# --- 5. perplexity -------------------------------------------------------------------------------
ppl_args=(-f "$ppl_text" --ctx-size "$ppl_ctx" --threads "$threads")
ppl_cmd_text="llama-perplexity -m SmolLM2-135M-Instruct.Q4_1.gguf ${ppl_args[*]} --flash-attn off"
ppl_default_text="llama-perplexity -m SmolLM2-135M-Instruct.Q4_1.gguf ${ppl_args[*]}"
peer_log "running: $ppl_cmd_text"
"$peer_bin/llama-perplexity" -m "$model" "${ppl_args[@]}" --flash-attn off > "$tmp/ppl.log" 2>&1 \
  || { tail -n 20 "$tmp/ppl.log" >&2; exit 1; }
peer_log "running: $ppl_default_text"
"$peer_bin/llama-perplexity" -m "$model" "${ppl_args[@]}" > "$tmp/ppl_default.log" 2>&1 \
  || { tail -n 20 "$tmp/ppl_default.log" >&2; exit 1; }
ppl_f32_text="$ppl_cmd_text -ctk f32 -ctv f32"
peer_log "running: $ppl_f32_text"
"$peer_bin/llama-perplexity" -m "$model" "${ppl_args[@]}" --flash-attn off -ctk f32 -ctv f32 > "$tmp/ppl_f32.log" 2>&1 \
  || { tail -n 20 "$tmp/ppl_f32.log" >&2; exit 1; }
# the token count llama-perplexity chunks (its -f drops one trailing newline)
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d[:-1] if d.endswith(b"\n") else d)' \
  "$ppl_text" "$tmp/ppl_text.txt"
n_tokens="$("$peer_bin/llama-tokenize" -m "$model" -f "$tmp/ppl_text.txt" --ids --log-disable --no-escape --no-parse-special 2>/dev/null \
  | tail -n 1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# --- 6. write the goldens ----------------------------------------------------------------------
mkdir -p "$out_dir"
py assemble "$tmp/info.json" "$tmp/logits_req.jsonl" "$tmp/logits_raw.jsonl" "$tmp/logits_raw32.jsonl" \
  "$tmp/greedy_req.jsonl" "$tmp/greedy_raw.jsonl" "$tmp/greedy_raw32.jsonl" \
  "$out_dir/llama_cpp_logits.jsonl" "$out_dir/llama_cpp_greedy_continuations.jsonl"
py perplexity "$out_dir/llama_cpp_perplexity.json" "$tmp/ppl.log" "$ppl_text" "$threads" "$ppl_ctx" "$n_tokens" \
  "$tmp/info.json" "$model_sha256" "$ppl_cmd_text" "$tmp/ppl_default.log" "$ppl_default_text" \
  "$tmp/ppl_f32.log" "$ppl_f32_text"
peer_log "wrote $out_dir/{llama_cpp_logits.jsonl,llama_cpp_greedy_continuations.jsonl,llama_cpp_perplexity.json}"

# --- 7. sanity checks ----------------------------------------------------------------------------
paris="$(printf ' Paris' > "$tmp/paris.txt"; "$peer_bin/llama-tokenize" -m "$model" -f "$tmp/paris.txt" --ids --log-disable --no-escape --no-parse-special 2>/dev/null | tail -n 1)"
py report-kv "$out_dir/llama_cpp_logits.jsonl" "$out_dir/llama_cpp_greedy_continuations.jsonl"
py report-ties "$out_dir/llama_cpp_greedy_continuations.jsonl" 0.1
py sanity "$out_dir/llama_cpp_logits.jsonl" "$out_dir/llama_cpp_greedy_continuations.jsonl" "$paris"
