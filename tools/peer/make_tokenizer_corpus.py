#!/usr/bin/env python3
"""Writes tests/golden/tokenizer/corpus.jsonl: the input strings for the tokenizer goldens.

Deterministic: no randomness, no clock, no environment. Run from anywhere:

    python3 tools/peer/make_tokenizer_corpus.py [OUTPUT]   (default tests/golden/tokenizer/corpus.jsonl)

Each line is one JSON object {"text": str, "parse_special": bool}.

Decisions:
* Every text is valid UTF-8 (JSON cannot carry anything else, and the peer's CLI is fed the
  exact bytes of each text through a file). Truly invalid byte sequences (lone continuation
  bytes, overlongs, encoded surrogates) are therefore NOT covered here; they belong in unit
  tests of our own byte-level fallback. What IS covered is text that merely looks unusual:
  U+FFFD itself, surrogate escapes written out as plain text ("\\ud800"), NUL, C0/C1 controls,
  zero-width and bidi characters, noncharacters, private-use and the highest code points.
* Ordinary text is listed once with parse_special=false (the flag cannot change its
  tokenisation); a handful of ordinary strings are repeated with parse_special=true to show
  that. Every text that contains (parts of) special tokens is listed with both values.
* Lines are written with ensure_ascii=False for readability, except that U+0085, U+2028 and
  U+2029 are \\u-escaped so that no line-splitting tool breaks a record in two.
"""

import json
import os
import sys

ORDINARY = []  # parse_special = False
BOTH = []  # listed with parse_special = False and True


def add(*texts):
    ORDINARY.extend(texts)


def add_both(*texts):
    BOTH.extend(texts)


# --- empty and trivial --------------------------------------------------------------------
add("", "a", "A", " ", "Hello", " Hello", "Hello world! 123", "The capital of France is",
    "hello world", "HELLO WORLD", "Hello, World!", "I", "x y z")

# --- English prose ------------------------------------------------------------------------
add(
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of Germany?",
    "Once upon a time, there was a little robot who wanted to learn how to paint.",
    "Please summarise the following article in three sentences.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was "
    "the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it "
    "was the season of Light, it was the season of Darkness, it was the spring of hope, it was "
    "the winter of despair.",
    "Large language models generate text one token at a time. Each step reads the key and "
    "value caches of every previous token, so the cost of attention grows with the length of "
    "the context. Sparse attention prunes tokens and heads that contribute little, which "
    "reduces both memory traffic and compute.\n\nThis paragraph is deliberately long so that "
    "the tokenizer has to handle many merges in a row, including punctuation such as commas, "
    "semicolons; colons: and parentheses (like these).",
    "Mr. Smith went to Washington D.C. on Jan. 5th, e.g. for a meeting, i.e. a hearing.",
    "antidisestablishmentarianism floccinaucinihilipilification",
    "Supercalifragilisticexpialidocious",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word.",
    "Hello\nworld",
    "Dear Sir or Madam,\n\nI am writing to complain about the service.\n\nYours faithfully,\nA. Customer",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case-identifier",
    "iPhone eBay McDonald's O'Reilly",
    "ALL CAPS SENTENCE WITH NUMBERS 42 AND SYMBOLS!!!",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "The end.",
)

# --- contractions and quotes --------------------------------------------------------------
add(
    "it's", "don't", "they're", "we've", "I'm", "you'll", "he'd",
    "IT'S", "DON'T", "THEY'RE", "WE'VE", "I'M", "YOU'LL", "HE'D",
    "John's book isn't here; we'd've thought they'll find it.",
    "The dog's bone. The dogS' bones. The DOG'S BONE.",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "it\u2019s don\u2019t they\u2019re",  # curly apostrophe (U+2019)
    "\u201cQuoted text\u201d and \u2018single quoted\u2019",
    "\"double quoted\" and 'single quoted'",
    "'''triple''' \"\"\"triple\"\"\"",
    "rock 'n' roll", "'tis the season", "y'all'd've", "ma'am",
    "'", "''", "'s", "s'", "l'homme d'Etat",
    "`backticks` and ``double backticks``",
)

# --- numbers ------------------------------------------------------------------------------
add(
    "0", "7", "42", "123", "1234", "12345", "123456789", "1234567890123456789012345678901234567890",
    "3.14159", "-42", "-3.5e-10", "+1", "0.000001", "1e100", "6.02214076e23",
    "1,000,000", "1.000.000,00", "$1,234.56", "\u20ac99.99", "\u00a3100", "50%", "100 %",
    "2024-01-15", "15/01/2024", "01.15.2024", "12:34:56", "2024-01-15T12:34:56.789Z",
    "+1 (555) 123-4567", "555-0100", "+44 20 7946 0958",
    "0x1F 0xDEADBEEF 0b1010 0o777", "v1.2.3", "192.168.0.1", "127.0.0.1:8080",
    "1st 2nd 3rd 4th 21st", "1/2 3/4", "10^6", "3x4=12", "a1b2c3", "abc123def456",
    "ISBN 978-3-16-148410-0", "99 bottles of beer on the wall",
    "\u0661\u0662\u0663 \u06f4\u06f5\u06f6",  # Arabic-Indic and extended Arabic-Indic digits
    "\u0967\u0968\u0969",  # Devanagari digits
    "\uff11\uff12\uff13",  # fullwidth digits
    "\u00bd \u00bc \u00be \u00b2 \u00b3 \u2460 \u2167",  # vulgar fractions, superscripts, circled, Roman numeral
    "\u4e00\u4e8c\u4e09 \u58f9\u8cb3\u53c3",  # CJK numerals (letters, not digits)
)

# --- whitespace ---------------------------------------------------------------------------
add(
    "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\n\n\n\n\n\n",
    "\r\n", "\r\n\r\n", "\r", " \n", "  \n", " \n \n ", "\t\n", " \t \n",
    "hello  world", "hello   world", "hello    world", "hello\tworld", "hello\t\tworld",
    "hello \tworld", "hello\t world", " leading space", "  two leading spaces",
    "trailing space ", "trailing spaces   ", "   both sides   ", "\tleading tab",
    "trailing tab\t", "line one\nline two\n", "line one\r\nline two\r\n",
    "para one\n\npara two\n\n\npara three", "space before newline \nnext",
    "spaces before newline    \nnext", "newline then spaces\n    indented",
    "\n leading newline", "trailing newline\n", "trailing newlines\n\n\n",
    "mixed \t \n \r\n \t whitespace", "a\u000bb\u000cc",  # vertical tab, form feed
    "tab\tseparated\tvalues\t1\t2\t3", "x" + " " * 40 + "y", "\n" * 20, " " * 100,
    "word \u00a0word", "\u00a0", "\u00a0\u00a0\u00a0",  # NBSP
    "\u3000", "\u3000\u3000full width spaces\u3000",  # ideographic space
    "\u2002\u2003\u2009\u200a thin and em spaces",
    "\u0085 next line char", "line\u2028separator\u2029paragraph",
    "  \t  \n  \t  ",
)

# --- code ---------------------------------------------------------------------------------
add(
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "class Foo:\n    \"\"\"Docstring.\"\"\"\n\n    def __init__(self, x: int = 0) -> None:\n        self._x = x\n\n    @property\n    def x(self):\n        return self._x\n",
    "for i in range(10):\n\tprint(i)\n",
    "if __name__ == \"__main__\":\n    main()",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\nprint(arr.shape)",
    "lambda x: x ** 2  # square",
    "result = [x for x in data if x % 2 == 0]",
    "#include <iostream>\n\nint main(int argc, char** argv) {\n    std::cout << \"Hello\" << std::endl;\n    return 0;\n}\n",
    "template <typename T>\nstd::vector<T> f(const std::vector<T>& v) noexcept { return {v.begin(), v.end()}; }",
    "auto p = std::make_unique<Foo>(42); p->bar(); ptr->~Foo(); a <<= 2; b >>= 3; c != d && e || !f;",
    "// single-line comment\n/* block\n   comment */\n#define MAX(a, b) ((a) > (b) ? (a) : (b))",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}",
    "function add(a, b) { return a + b; }\nconst arrow = (x) => x * 2;\nconsole.log(`template ${arrow(2)}`);",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
    "public static void main(String[] args) { System.out.println(\"Hello, World!\"); }",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%smith%' ORDER BY id DESC;",
    "{\"name\": \"Alice\", \"age\": 30, \"tags\": [\"a\", \"b\"], \"nested\": {\"k\": null, \"t\": true}}",
    "{\n  \"model\": \"smollm2\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"hi\"}\n  ],\n  \"temperature\": 0.7\n}",
    "[1, 2, 3, {\"a\": [4.5, -6e7]}]",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n  echo \"$f\" | tr a-z A-Z > \"${f%.txt}.out\"\ndone\n",
    "ls -la /usr/local/bin | grep -v '^d' | awk '{print $9}' 2>/dev/null",
    "cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build",
    "<html>\n<head><title>Page</title></head>\n<body><p class=\"x\">Hi &amp; bye</p></body>\n</html>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><root attr='v'/>",
    "key: value\nlist:\n  - item1\n  - item2\nnested:\n  deeper: true\n",
    "[section]\nkey = \"value\"\nnumber = 42\n",
    "\\begin{equation} E = mc^2 \\end{equation} $\\alpha + \\beta = \\gamma$",
    "x := 5; y <- 6; z => 7; w -> 8; a :: b; c ... d; e?.f ?? g",
    "    four spaces\n        eight spaces\n            twelve spaces",
    "\tone tab\n\t\ttwo tabs\n\t\t\tthree tabs",
    "regex: ^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@[a-z]+\\.[a-z]{2,}$",
    "C:\\Users\\Name\\Documents\\file.txt",
    "literal backslash escapes: \\n \\t \\r \\\\ \\\" \\' \\x41 \\u0041 \\0",
    "printf(\"%d %s %5.2f\\n\", 1, \"s\", 3.14);",
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-old\n+new\n",
)

# --- unicode scripts ----------------------------------------------------------------------
add(
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01",  # Chinese: Hello, world!
    "\u6211\u7231\u5317\u4eac\u5929\u5b89\u95e8\u3002\u4eca\u5929\u5929\u6c14\u5f88\u597d\u3002",
    "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c",  # Japanese hiragana + kanji
    "\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3068\u6f22\u5b57\u3002\uff71\uff72\uff73",  # + halfwidth katakana
    "\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4",  # Korean
    "\u1100\u1161\u11a8",  # decomposed Hangul jamo
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",  # Arabic
    "\u0627\u0644\u0633\u0651\u064e\u0644\u0627\u0645\u064f \u0639\u064e\u0644\u064e\u064a\u0652\u0643\u064f\u0645\u0652",  # Arabic with harakat
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",  # Hebrew
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",  # Hindi
    "\u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f \u0939\u093f\u0902\u0926\u0940",  # Devanagari conjuncts
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",  # Thai
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0401\u0436\u0438\u043a",  # Russian
    "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0444\u0440\u0430\u043d\u0446\u0443\u0437\u0441\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a.",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",  # Greek
    "\u03b1\u03b2\u03b3\u03b4 \u0391\u0392\u0393\u0394 \u03c0r\u00b2",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade \u00fcber stra\u00dfe \u00e5ngstr\u00f6m",
    "\u00c0\u00c9\u00ce\u00d5\u00dc \u00e0\u00e9\u00ee\u00f5\u00fc \u00f1\u00d1 \u00e7\u00c7 \u00f8\u00d8 \u00e6\u00c6 \u0153\u0152",
    "Zo\u00eb \u0141\u00f3d\u017a \u017b\u00f3\u0142\u0107 \u010cesk\u00fd \u0160koda \u0103\u0219\u021b",
    "cafe\u0301 nai\u0308ve",  # combining acute / diaeresis (NFD)
    "e\u0301\u0302\u0303\u0304\u0305",  # stacked combining marks
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L",  # zalgo
    "\u0531\u0580\u0561\u0574 \u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8",  # Armenian, Georgian
    "\u12a0\u121b\u122d\u129b \u13e3\u13b3\u13a9",  # Ethiopic, Cherokee
    "\u0dc3\u0dd2\u0d82\u0dc4\u0dbd \u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0c24\u0c46\u0c32\u0c41\u0c17\u0c41",  # Sinhala, Tamil, Telugu
    "\u0f56\u0f7c\u0f51\u0f0b\u0f61\u0f72\u0f42 \u1019\u103c\u1014\u103a\u1019\u102c \u1781\u17d2\u1798\u17c2\u179a",  # Tibetan, Myanmar, Khmer
    "\u1828\u1823\u1829\u1820\u1837 \u1c5b\u1c5f\u1c71",  # Mongolian, Ol Chiki
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u",  # Vietnamese
    "English \u4e2d\u6587 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 mixed",
    "\ud835\udc00\ud835\udc01\ud835\udc02 \ud835\udd04\ud835\udd05 \ud835\udfd8\ud835\udfd9",  # math alphanumerics (astral)
    "\U00020000\U0002a6d6 \U0001f130",  # CJK ext B, squared Latin
    "\ud800\udf48\ud800\udf30 \U00010900",  # Gothic, Phoenician (astral letters)
    "\uff28\uff45\uff4c\uff4c\uff4f \uff37\uff4f\uff52\uff4c\uff44",  # fullwidth Latin
    "\u2160\u2161\u2162 \u24b6\u24b7\u24b8 \u2122 \u00a9 \u00ae",
    "\u0130stanbul \u0131\u0130 I\u0307",  # Turkish dotted/dotless i
    "\ufb01\ufb02 \ufb00",  # ligatures
    "\u00df\u1e9e",  # sharp s, capital sharp s
)
# Ensure astral characters written above as surrogate-pair escapes become real code points.
ORDINARY[:] = [t.encode("utf-16", "surrogatepass").decode("utf-16") for t in ORDINARY]

# --- emoji --------------------------------------------------------------------------------
add(
    "\U0001f600", "\U0001f600\U0001f603\U0001f604\U0001f601",
    "I love pizza \U0001f355 and tacos \U0001f32e!",
    "\U0001f44d\U0001f3fb \U0001f44d\U0001f3fc \U0001f44d\U0001f3fd \U0001f44d\U0001f3fe \U0001f44d\U0001f3ff",  # skin tones
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family ZWJ
    "\U0001f469\u200d\U0001f4bb \U0001f3f3\ufe0f\u200d\U0001f308 \U0001f9d1\U0001f3fd\u200d\U0001f680",  # ZWJ + VS16
    "\U0001f1fa\U0001f1f8 \U0001f1ef\U0001f1f5 \U0001f1e9\U0001f1ea \U0001f1ec\U0001f1e7",  # flags
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland (tag sequence)
    "\u2764\ufe0f \u2764 \u263a\ufe0f \u2600\ufe0e",  # variation selectors
    "1\ufe0f\u20e3 #\ufe0f\u20e3 *\ufe0f\u20e3",  # keycaps
    "\U0001f680\U0001f680\U0001f680\U0001f680\U0001f680\U0001f680\U0001f680\U0001f680",
    "emoji\U0001f525in\U0001f525middle",
    "\U0001fae0\U0001fae8\U0001f9cc",  # newer emoji
)

# --- symbols and punctuation --------------------------------------------------------------
add(
    "!!!", "???", "?!?!", "...", "\u2026", "---", "\u2014\u2013-", "***", "###", "@@@",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "<<>>", "=>", "->", "<=>", "!==", "===", "&&", "||", "::", "//", "/*", "*/",
    "....................................................................................................",
    "====================================================================",
    "\u2190\u2191\u2192\u2193 \u21d2 \u2200x\u2208\u211d: \u2203y \u2264 \u2265 \u2260 \u00b1 \u00d7 \u00f7 \u221e \u2211 \u220f \u221a",
    "\u00a7 \u00b6 \u2020 \u2021 \u2022 \u00b7 \u00b0 \u2030 \u2032 \u2033",
    "\u2605\u2606\u2665\u2666\u2663\u2660 \u266a\u266b \u2713\u2717 \u2610\u2611",
    "\u2500\u2502\u250c\u2510\u2514\u2518\u251c\u2524 \u2588\u2593\u2592\u2591",  # box drawing
    "\u00bf\u00a1Qu\u00e9 tal!? \u00ab guillemets \u00bb \u2039single\u203a",
    "\u3001\u3002\u300c\u300d\u300e\u300f\u3010\u3011\uff01\uff1f",  # CJK punctuation
    "$ \u00a2 \u00a3 \u00a5 \u20ac \u20b9 \u20bd \u20bf \u20a9",
    "(((nested)))", "[[[brackets]]]", "{{{braces}}}", "<<<angles>>>",
    "a.b,c;d:e!f?g", "hello.world", "end of sentence.Start of next",
    "__init__", "__dunder__methods__", "~/.bashrc", "#hashtag @mention",
)

# --- unusual-looking text (all valid UTF-8) -----------------------------------------------
add(
    "\ufffd", "bad \ufffd\ufffd byte", "\ufffd\ufffd\ufffd\ufffd",
    "\\ud800 \\udfff \\uDC00",  # surrogate escapes as literal text
    "\\xff\\xfe\\x00", "%FF%FE%00",
    "\u0000", "a\u0000b", "\u0000\u0000\u0000",  # NUL
    "\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008", "bell\u0007 escape\u001b[31mred\u001b[0m",
    "\u007f delete", "\u0080\u0081\u009f C1 controls",
    "zero\u200bwidth\u200bspace", "\u200b", "zero\u200cwidth\u200dnon\u2060joiner",
    "\ufeffBOM at start", "BOM\ufeffin middle",
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e bidi controls", "abc\u202eevil\u202cdef",
    "\u00ad soft\u00adhyphen", "\u034f\u180e\u2061\u2062\u2063\u2064",
    "\ue000\uf8ff private use", "\U000f0000\U0010fffd supplementary private use",
    "\ufdd0\ufdef\ufffe\uffff noncharacters", "\U0010ffff",
    "\U0001ffff\U0002fffe", "\U000e0001\U000e0020\U000e007f tag characters",
    "\ufe0f", "\u20e3", "\u0301", " \u0301", "\u0301\u0301\u0301",  # lone combiners
)

# --- long inputs --------------------------------------------------------------------------
add(
    "a" * 200, "ab" * 150, "The " * 100, "\u4e2d" * 100, "\U0001f600" * 50,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua. " * 8,
    "supercalifragilisticexpialidociouspneumonoultramicroscopicsilicovolcanoconiosis"
    "antidisestablishmentarianismhonorificabilitudinitatibus",
    "x" * 1000, "0123456789" * 30, "-" * 300, " a" * 200, "\n\n" * 60,
    "Donaudampfschifffahrtsgesellschaftskapit\u00e4nswitwe",
)

# --- URLs, emails, paths ------------------------------------------------------------------
add(
    "https://www.example.com/path/to/page?query=1&other=two#fragment",
    "http://localhost:8080/v1/chat/completions",
    "ftp://user:pass@ftp.example.org:21/pub/file.tar.gz",
    "Visit https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct for details.",
    "mailto:someone@example.com", "john.doe+filter@sub.example.co.uk",
    "first.last@\u4f8b\u3048.jp", "https://xn--n3h.com/\u2603?q=%E2%98%83",
    "/usr/local/lib/python3.11/site-packages/torch/__init__.py",
    "git@github.com:owner/repo.git",
    "data:text/plain;base64,SGVsbG8sIFdvcmxkIQ==",
    "550e8400-e29b-41d4-a716-446655440000",
    "sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)

# --- markdown -----------------------------------------------------------------------------
add(
    "# Heading 1\n## Heading 2\n### Heading 3",
    "**bold** *italic* ~~strike~~ `code` __under__",
    "- item one\n- item two\n  - nested item\n* star item\n1. numbered\n2. list",
    "```python\nprint('hello')\n```",
    "```\nplain fence\n```\n\n~~~\ntilde fence\n~~~",
    "| Col A | Col B |\n|-------|:-----:|\n| 1     | 2     |\n| 3     | 4     |",
    "> quoted line\n> > nested quote",
    "[link text](https://example.com \"title\") ![alt](img.png)",
    "---\ntitle: Front matter\n---\n\nBody text.",
    "Term\n: Definition\n\n- [ ] todo\n- [x] done",
)

# --- ordinary text repeated with parse_special=true (must not change) ---------------------
ORDINARY_ALSO_SPECIAL = [
    "", "Hello world! 123", "The capital of France is", "it's", "  \n\n  ",
    "def f(x):\n    return x\n", "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "a < b > c | d", "<html><body>|</body></html>",
]

# --- special tokens in text (both parse_special values) ------------------------------------
add_both(
    "<|im_start|>", "<|im_end|>", "<|endoftext|>",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|>", "<|im_end|><|im_start|>", "<|endoftext|><|endoftext|><|endoftext|>",
    " <|im_start|> ", "  <|im_end|>  ", "\n<|im_start|>\n", "\n\n<|im_end|>\n\n", "\t<|endoftext|>\t",
    "text<|im_end|>text", "word <|endoftext|> word", "Hello<|im_end|>", "<|im_start|>Hello",
    "<|im_sta", "<|im_start", "im_start|>", "<|im_", "<|", "|>", "<||>", "<|im_end|",
    "<|IM_START|>", "< |im_start| >", "<|im_start |>", "<<|im_start|>>", "<|<|im_end|>|>",
    "<|im_start|im_end|>", "<|endoftext|", "<|endoftext|>>", "<<|endoftext|>",
    "<repo_name>", "<reponame>", "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>",
    "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
    "<jupyter_output>", "<jupyter_script>", "<empty_output>",
    "<repo_name>owner/repo<file_sep>src/main.py\nprint(1)<|endoftext|>",
    "<jupyter_code>x = 1<jupyter_output>1<empty_output>",
    "<|im_start|>user\n\u4f60\u597d \U0001f600<|im_end|>",
    "<s></s><unk><pad>[INST][/INST]<bos><eos>",  # other models' specials: plain text here
    "<|im_start|>\u00a0<|im_end|>", "<|im_start|>\r\n<|im_end|>\r\n",
)


def records():
    for t in ORDINARY:
        yield t, False
    for t in ORDINARY_ALSO_SPECIAL:
        yield t, True
    for t in BOTH:
        yield t, False
        yield t, True


def encode(obj):
    line = json.dumps(obj, ensure_ascii=False)
    for ch in ("\u0085", "\u2028", "\u2029"):
        line = line.replace(ch, "\\u%04x" % ord(ch))
    return line


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests/golden/tokenizer/corpus.jsonl")
    recs = list(records())
    seen = set()
    for text, special in recs:
        text.encode("utf-8")  # raises on lone surrogates: every text must be valid UTF-8
        if (text, special) in seen:
            raise SystemExit("duplicate corpus entry: %r (parse_special=%s)" % (text, special))
        seen.add((text, special))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for text, special in recs:
            f.write(encode({"text": text, "parse_special": special}) + "\n")
    print("%s: %d entries" % (out, len(recs)), file=sys.stderr)


if __name__ == "__main__":
    main()
