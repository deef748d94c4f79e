// libFuzzer target: GgufFile::Parse on arbitrary bytes, then every accessor a loader uses.
// The contract (engine/gguf/gguf.h): any input gives a GgufFile or an error Status; nothing is
// read out of bounds, nothing crashes, and every accepted tensor's bytes lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "kernels/ref/dequant.h"

namespace {

#define Check(condition)                                                                   \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      std::fprintf(stderr, "gguf_fuzzer: property violated: %s\n", #condition);            \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

// Touches every byte-dependent field so that ASan sees any bad read.
volatile uint64_t g_sink = 0;

void ExerciseValue(const spatten::gguf::Value& v) {
  (void)v.AsInt();
  (void)v.AsFloat();
  if (const std::string* s = v.AsString()) g_sink = g_sink + s->size();
  if (const spatten::gguf::Array* a = v.AsArray()) {
    g_sink = g_sink + a->size();
    for (const auto& nested : a->values) ExerciseValue(nested);
  }
  g_sink = g_sink + v.ToString(4).size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using spatten::gguf::GgufFile;
  spatten::gguf::OpenOptions options;
  // Smaller limits than the defaults keep each run fast; the checks are the same code paths.
  options.max_array_elems = 1u << 16;
  options.max_string_bytes = 1u << 16;
  auto parsed = GgufFile::Parse(std::span<const uint8_t>(data, size), options);
  if (!parsed.ok()) {
    g_sink = g_sink + parsed.status().ToString().size();
    return 0;
  }
  const GgufFile& file = *parsed;
  Check(file.alignment() != 0);
  // (data_offset() may lie past the end of a file without tensor data: the header is padded.)

  for (const auto& [key, value] : file.metadata()) {
    Check(file.Find(key) != nullptr);
    ExerciseValue(value);
    (void)file.GetInt(key);
    (void)file.GetFloat(key);
    (void)file.GetString(key);
    (void)file.GetArray(key);
    (void)file.GetIntOr(key, 7);
    (void)file.GetFloatOr(key, 0.5);
  }
  // Getters on keys a model loader asks for, present or not.
  for (const char* key : {"general.architecture", "general.alignment", "llama.context_length",
                          "llama.embedding_length", "tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                          "tokenizer.chat_template", ""}) {
    (void)file.Find(key);
    (void)file.GetInt(key);
    (void)file.GetFloat(key);
    (void)file.GetString(key);
    (void)file.GetArray(key);
    (void)file.GetIntOr(key, 1);
    (void)file.GetFloatOr(key, 1.0);
  }

  const uint8_t* begin = data;
  const uint8_t* end = data + size;
  std::vector<float> row;
  for (const auto& t : file.tensors()) {
    Check(file.FindTensor(t.name) != nullptr);
    Check(!t.shape.empty() && t.shape.size() <= 4);
    Check(t.n_bytes <= size);
    if (t.n_bytes > 0) {
      Check(t.data != nullptr && t.data >= begin && t.data <= end);
      Check(static_cast<uint64_t>(end - t.data) >= t.n_bytes);
      g_sink = g_sink + t.data[0] + t.data[t.n_bytes - 1];
    }
    g_sink = g_sink + t.rows() + t.row_elems() + t.row_bytes();
    // Dequantize the first row (bounded), as the model loader would.
    const uint64_t elems = t.row_elems();
    if (elems > 0 && elems <= 4096 && t.row_bytes() <= t.n_bytes && t.data != nullptr) {
      row.resize(elems);
      (void)spatten::kernels::ref::Dequantize(t.type.type, t.data, row.data(), elems);
    }
  }
  (void)file.FindTensor("token_embd.weight");
  return 0;
}
