#!/usr/bin/env python3
"""Tokenizes the golden corpus with the peer's llama-tokenize and writes llama_cpp_tokens.jsonl.

Usage: golden_tokenize.py LLAMA_TOKENIZE MODEL CORPUS OUTPUT [EXPECTED_ADD_BOS]

Called by tools/peer/make-goldens.sh. One llama-tokenize process per corpus entry (~0.1 s each).
Each text is written, as its exact UTF-8 bytes, to a scratch file and passed with -f, because:
  * -f in llama-tokenize reads the file verbatim (unlike the other tools' -f it keeps a trailing
    newline), so leading/trailing whitespace, NUL bytes and "\\r\\n" survive; -p would go
    through argv (no NUL) and shell quoting;
  * --no-escape is REQUIRED: by default llama-tokenize applies escape processing to the file
    contents too, turning the two characters "\\n" into a newline;
  * --log-disable keeps stdout down to the single "[id, id, ...]" line printed by --ids.
The BOS flag is not passed (no --no-bos), so llama.cpp decides as it does for a plain prompt:
it follows the GGUF's tokenizer.ggml.add_bos_token. Whether it did is probed once by
tokenizing the empty string, and recorded on every line as "add_bos".
"""

import json
import os
import subprocess
import sys
import tempfile


def tokenize(exe, model, text, parse_special, scratch):
    with open(scratch, "wb") as f:
        f.write(text.encode("utf-8"))
    cmd = [exe, "-m", model, "-f", scratch, "--ids", "--log-disable", "--no-escape"]
    if not parse_special:
        cmd.append("--no-parse-special")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise SystemExit("llama-tokenize failed (rc=%d) on %r:\n%s"
                         % (proc.returncode, text, proc.stderr.decode("utf-8", "replace")))
    lines = [l for l in proc.stdout.decode("utf-8").splitlines() if l.strip()]
    if len(lines) != 1 or not lines[0].startswith("["):
        raise SystemExit("unexpected llama-tokenize output for %r: %r" % (text, proc.stdout))
    ids = json.loads(lines[0])
    if not all(isinstance(i, int) and i >= 0 for i in ids):
        raise SystemExit("bad ids for %r: %r" % (text, ids))
    return ids


def main():
    if len(sys.argv) not in (5, 6):
        raise SystemExit(__doc__)
    exe, model, corpus, output = sys.argv[1:5]
    expected_add_bos = None
    if len(sys.argv) == 6:
        expected_add_bos = {"true": True, "false": False}[sys.argv[5]]

    entries = []
    with open(corpus, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                obj = json.loads(line)
                if set(obj) != {"text", "parse_special"}:
                    raise SystemExit("%s:%d: unexpected keys %s" % (corpus, n, sorted(obj)))
                entries.append(obj)

    fd, scratch = tempfile.mkstemp(prefix="spatten-tok-", suffix=".txt")
    os.close(fd)
    try:
        # Probe: does llama.cpp add a BOS for this model? Empty text -> [] or [bos].
        probe = tokenize(exe, model, "", True, scratch)
        if len(probe) > 1:
            raise SystemExit("empty text tokenized to %r" % probe)
        add_bos = len(probe) == 1
        if expected_add_bos is not None and add_bos != expected_add_bos:
            raise SystemExit("llama-tokenize add_bos=%s but the vocab says %s" % (add_bos, expected_add_bos))
        bos = probe[0] if add_bos else None

        out_lines = []
        for i, e in enumerate(entries):
            ids = tokenize(exe, model, e["text"], e["parse_special"], scratch)
            if add_bos and (not ids or ids[0] != bos):
                raise SystemExit("BOS missing for %r: %r" % (e["text"], ids))
            rec = {"text": e["text"], "parse_special": e["parse_special"], "add_bos": add_bos, "ids": ids}
            line = json.dumps(rec, ensure_ascii=False)
            for ch in ("\u0085", "\u2028", "\u2029"):
                line = line.replace(ch, "\\u%04x" % ord(ch))
            out_lines.append(line)
            if (i + 1) % 100 == 0:
                print("  tokenized %d/%d" % (i + 1, len(entries)), file=sys.stderr)
    finally:
        os.unlink(scratch)

    with open(output, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out_lines) + "\n")
    print("%s: %d entries, add_bos=%s" % (output, len(out_lines), add_bos), file=sys.stderr)


if __name__ == "__main__":
    main()
