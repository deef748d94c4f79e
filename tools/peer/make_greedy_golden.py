#!/usr/bin/env python3
# Writes tests/golden/model/llama_cpp_greedy.json from llama.cpp runs (see "provenance"): greedy
# continuations of 4 prompts with llama.cpp's default f16 KV cache and with an f32 KV cache.
# Usage: tools/peer/make_greedy_golden.py   (builds nothing: run tools/peer/build-llama-cpp.sh
# first; env SPATTEN_PEER_BIN and SPATTEN_MODEL override the default locations)
import json, struct, subprocess, hashlib, os, tempfile
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B = os.environ.get("SPATTEN_PEER_BIN", os.path.expanduser("~/.cache/spatten/peer/build-0.3.36/bin"))
M = os.environ.get("SPATTEN_MODEL", os.path.expanduser("~/.cache/spatten/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
WORK = tempfile.mkdtemp(prefix="spatten-greedy-")
prompts = {
  "capital_of_france": "The capital of France is",
  "little_robot": "Once upon a time, there was a little robot who",
  "chat_capital_of_france": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
  "fibonacci_code": "def fibonacci(n):",
}
configs = {"f16": [], "f32": ["-ctk", "f32", "-ctv", "f32", "-fa", "off"]}
cases = []
for kv, extra in configs.items():
    for name, p in prompts.items():
        sess = os.path.join(WORK, f"{name}.{kv}.bin")
        if os.path.exists(sess): os.remove(sess)
        cmd = [f"{B}/llama-completion", "-m", M, "-p", p, "-n", "32", "--temp", "0", "-no-cnv", "-t", "2",
               "-s", "1", "--no-warmup"] + extra + ["--prompt-cache", sess, "--prompt-cache-all"]
        out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode()
        b = open(sess, "rb").read()
        magic, ver, n = struct.unpack_from("<III", b, 0)
        assert magic == 0x6767736e and ver == 10
        ids = list(struct.unpack_from("<%di" % n, b, 12))
        tok = subprocess.run([f"{B}/llama-tokenize", "-m", M, "-p", p, "--ids", "--log-disable"],
                             capture_output=True, check=True).stdout.decode().strip().splitlines()[-1]
        prompt_ids = json.loads(tok)
        assert ids[:len(prompt_ids)] == prompt_ids, (name, kv)
        gen = ids[len(prompt_ids):]
        assert 0 < len(gen) <= 32
        cases.append({"name": f"{name}.kv_{kv}", "kv_cache": kv, "prompt": p, "prompt_ids": prompt_ids,
                      "greedy_ids": gen, "stopped_at_eog": len(gen) < 32,
                      "text": out.split("\nllama_completion: saving")[0]})
doc = {
  "provenance": (
    "Produced by llama.cpp as vendored in llama-cpp-python 0.3.36 (tools/peer/build-llama-cpp.sh; x86-64 CPU "
    "backend, 2 threads), never by spatten. For each case: llama-completion -m SmolLM2-135M-Instruct.Q4_1.gguf "
    "-p PROMPT -n 32 --temp 0 -no-cnv -t 2 -s 1 --no-warmup [KV] --prompt-cache S.bin --prompt-cache-all, where "
    "[KV] is empty for kv_cache 'f16' (llama.cpp's default: f16 KV cache, flash attention auto) and "
    "'-ctk f32 -ctv f32 -fa off' for kv_cache 'f32'. The ids are the int32 token array llama.cpp writes at the "
    "start of S.bin (after u32 magic 'ggsn', u32 version 10, u32 count): prompt_ids (checked equal to "
    "llama-tokenize -m MODEL -p PROMPT --ids, special tokens parsed) followed by greedy_ids, the sampled "
    "tokens (32, or fewer when an end-of-generation token was sampled; that token is included). "
    "'text' is llama-completion's stdout (prompt echo without special tokens, then the continuation)."),
  "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
  "model_sha256": hashlib.sha256(open(M, "rb").read()).hexdigest(),
  "cases": cases,
}
json.dump(doc, open(os.path.join(ROOT, "tests/golden/model/llama_cpp_greedy.json"), "w"), indent=1, ensure_ascii=False)
for c in cases: print(c["name"], len(c["prompt_ids"]), len(c["greedy_ids"]), repr(c["text"][-50:]))
