#!/usr/bin/env python3
"""spatten-tokenize (the CLI, end to end) against llama.cpp's ids for every golden corpus line.

Each corpus text is written to a file byte for byte and passed with --file, with --special when
the golden line was produced with special-token parsing; the JSON array printed on stdout must
equal llama.cpp's ids exactly. Exit 77 (skipped) when SPATTEN_MODEL is unset.
Usage: tokenize_cli_golden_test.py SPATTEN_TOKENIZE GOLDEN_JSONL
"""
import json
import os
import subprocess
import sys
import tempfile


def main() -> int:
    tool, golden = sys.argv[1], sys.argv[2]
    model = os.environ.get("SPATTEN_MODEL", "")
    if not model:
        print("SPATTEN_MODEL is not set; skipping")
        return 77
    with open(golden, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    mismatches = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "text")
        for i, g in enumerate(lines):
            with open(path, "wb") as f:
                f.write(g["text"].encode("utf-8"))
            cmd = [tool, "--model", model, "--file", path]
            if g["parse_special"]:
                cmd.append("--special")
            run = subprocess.run(cmd, capture_output=True, timeout=60)
            if run.returncode != 0:
                mismatches.append((i, g["text"], g["ids"], "exit %d: %s" % (run.returncode, run.stderr.decode()[-200:])))
                continue
            ids = json.loads(run.stdout)
            if ids != g["ids"]:
                mismatches.append((i, g["text"], g["ids"], ids))
    for i, text, want, got in mismatches[:20]:
        print(f"line {i + 1}: {text[:60]!r}\n  llama.cpp: {want}\n  spatten:   {got}")
    print(f"{len(lines) - len(mismatches)}/{len(lines)} corpus lines: spatten-tokenize equals llama.cpp")
    return 1 if mismatches or not lines else 0


if __name__ == "__main__":
    sys.exit(main())
