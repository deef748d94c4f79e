// Writes the synthetic GGUF seed files of fuzz/corpus/gguf (small, valid files of every shape
// the loader accepts, plus a few near-misses) with tests/support/gguf_writer.h. They are named
// *.bin because *.gguf is git-ignored.
// Usage: gguf_seed_gen OUT_DIR
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/gguf_writer.h"

namespace {

using spatten::testing::GgufWriter;

bool Write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 37);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;

  {  // Empty v3 file: header only.
    GgufWriter w;
    ok &= Write(dir, "empty_v3.bin", w.Build());
  }
  {  // v2, every scalar metadata type.
    GgufWriter w(2);
    w.U8("a.u8", 200); w.I8("a.i8", -5); w.U16("a.u16", 60000); w.I16("a.i16", -300);
    w.U32("a.u32", 4000000000u); w.I32("a.i32", -7); w.F32("a.f32", 1.5f); w.Bool("a.bool", true);
    w.Str("general.architecture", "llama"); w.U64("a.u64", ~uint64_t{0}); w.I64("a.i64", -1);
    w.F64("a.f64", 3.25);
    ok &= Write(dir, "scalars_v2.bin", w.Build());
  }
  {  // Arrays, nested arrays, a tiny tokenizer section.
    GgufWriter w;
    w.Str("general.architecture", "llama");
    w.Str("tokenizer.ggml.model", "gpt2");
    w.Str("tokenizer.ggml.pre", "smollm");
    w.StrArray("tokenizer.ggml.tokens", {"a", "b", "ab", "<|endoftext|>"});
    w.I32Array("tokenizer.ggml.token_type", {1, 1, 1, 3});
    w.StrArray("tokenizer.ggml.merges", {"a b"});
    w.U32("tokenizer.ggml.eos_token_id", 3);
    w.F32Array("scores", {0.0f, -1.0f, -2.5f});
    w.NestedArray("nested");
    w.Str("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}");
    ok &= Write(dir, "arrays_tokenizer.bin", w.Build());
  }
  {  // One tensor of every loadable type, with real-sized blocks.
    GgufWriter w;
    w.Str("general.architecture", "llama");
    w.U32("llama.embedding_length", 32);
    w.Tensor("f32", 0, {4, 2}, Bytes(32, 1));
    w.Tensor("f16", 1, {8}, Bytes(16, 2));
    w.Tensor("q4_0", 2, {32, 2}, Bytes(36, 3));
    w.Tensor("q4_1", 3, {32}, Bytes(20, 4));
    w.Tensor("q8_0", 8, {32}, Bytes(34, 5));
    w.Tensor("q4_K", 12, {256}, Bytes(144, 6));
    w.Tensor("q6_K", 14, {256}, Bytes(210, 7));
    w.Tensor("bf16", 30, {2, 2, 2, 1}, Bytes(16, 8));
    ok &= Write(dir, "tensors_all_types.bin", w.Build());
  }
  {  // Custom alignment.
    GgufWriter w(3, 64);
    w.U32("general.alignment", 64);
    w.Tensor("token_embd.weight", 0, {3, 3}, Bytes(36, 9));
    w.Tensor("output_norm.weight", 0, {3}, Bytes(12, 10));
    ok &= Write(dir, "alignment64.bin", w.Build());
  }
  {  // Near-miss: a malformed metadata entry (bad value type).
    GgufWriter w;
    w.RawKv("bad.type", 99, {1, 2, 3, 4});
    ok &= Write(dir, "bad_value_type.bin", w.Build());
  }
  {  // Near-miss: tensor data truncated.
    GgufWriter w;
    w.Tensor("t", 0, {64}, Bytes(256, 11));
    auto b = w.Build();
    b.resize(b.size() - 100);
    ok &= Write(dir, "truncated_tensor.bin", b);
  }
  if (!ok) {
    std::fprintf(stderr, "gguf_seed_gen: could not write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
