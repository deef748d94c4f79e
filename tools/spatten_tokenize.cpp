// spatten-tokenize: tokenizes text with a GGUF model's tokenizer and prints the ids as one JSON
// array on stdout, e.g. [19556, 905, 17] (the same format as llama.cpp's `llama-tokenize --ids`).
// With --decode it goes the other way: the input is a JSON array of ids and the decoded bytes are
// written to stdout. Errors go to stderr with a non-zero exit status (1: runtime, 2: usage).
//
//   spatten-tokenize --model MODEL [--special] [--no-bos] (--text T | --file F)
//   spatten-tokenize --model MODEL --decode [--special] (--text '[1, 2]' | --file F)
//
// The text is used verbatim: no escape processing (unlike llama-tokenize without --no-escape).

#include <CLI/CLI.hpp>

#include <climits>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/bpe_tokenizer.h"

namespace {

using spatten::tokenizer::TokenId;

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

// Parses "[1, 2, 3]" (brackets optional; commas and whitespace separate the ids).
bool ParseIds(const std::string& text, std::vector<TokenId>* ids, std::string* error) {
  size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
                               text[i] == '\r' || text[i] == ',' || text[i] == '[' || text[i] == ']')) {
      ++i;
    }
  };
  for (skip(); i < text.size(); skip()) {
    const size_t start = i;
    if (text[i] == '-') ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start || (i == start + 1 && text[start] == '-')) {
      *error = "unexpected character '" + std::string(1, text[start]) + "' at offset " + std::to_string(start);
      return false;
    }
    const long long v = std::stoll(text.substr(start, i - start));
    if (v < INT32_MIN || v > INT32_MAX) {
      *error = "id out of range: " + text.substr(start, i - start);
      return false;
    }
    ids->push_back(static_cast<TokenId>(v));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tokenize text with a GGUF model's tokenizer; prints the ids as a JSON array."};
  app.set_version_flag("--version", "spatten-tokenize 0.1.0");
  std::string model;
  std::string text;
  std::string file;
  bool parse_special = false;
  bool no_bos = false;
  bool decode = false;
  app.add_option("-m,--model", model, "GGUF model file")->required();
  auto* text_opt = app.add_option("-t,--text", text, "text to tokenize (used verbatim)");
  auto* file_opt = app.add_option("-f,--file", file, "file whose exact bytes are tokenized");
  text_opt->excludes(file_opt);
  file_opt->excludes(text_opt);
  app.add_flag("--special", parse_special,
               "parse special tokens such as <|im_start|> in the text (with --decode: render them)");
  app.add_flag("--no-bos", no_bos, "do not add the BOS/EOS tokens the model asks for");
  app.add_flag("--decode", decode, "input is a JSON array of ids; print the decoded bytes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help / version / the error
    return rc == 0 ? 0 : 2;
  }

  if (text_opt->count() == 0 && file_opt->count() == 0) {
    std::cerr << "spatten-tokenize: one of --text or --file is required\n";
    return 2;
  }
  std::string input = text;
  if (file_opt->count() != 0 && !ReadFile(file, &input)) {
    std::cerr << "spatten-tokenize: cannot read '" << file << "'\n";
    return 1;
  }

  auto tokenizer = spatten::tokenizer::Tokenizer::Open(model);
  if (!tokenizer.ok()) {
    std::cerr << "spatten-tokenize: " << tokenizer.status().ToString() << "\n";
    return 1;
  }

  if (decode) {
    std::vector<TokenId> ids;
    std::string error;
    if (!ParseIds(input, &ids, &error)) {
      std::cerr << "spatten-tokenize: --decode input is not a list of ids: " << error << "\n";
      return 2;
    }
    auto bytes = tokenizer->Decode(ids, {.render_special = parse_special});
    if (!bytes.ok()) {
      std::cerr << "spatten-tokenize: " << bytes.status().ToString() << "\n";
      return 1;
    }
    std::fwrite(bytes->data(), 1, bytes->size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }

  auto ids = tokenizer->Encode(input, {.add_special = !no_bos, .parse_special = parse_special});
  if (!ids.ok()) {
    std::cerr << "spatten-tokenize: " << ids.status().ToString() << "\n";
    return 1;
  }
  std::string out = "[";
  for (size_t i = 0; i < ids->size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string((*ids)[i]);
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
