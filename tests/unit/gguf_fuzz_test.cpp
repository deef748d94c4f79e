// Fuzz-style robustness test for the GGUF loader: thousands of mutated and truncated files
// (from a synthetic file with every metadata and tensor type, and from the real model's header
// when SPATTEN_MODEL is set). Every input must either be rejected with a non-empty message or
// load consistently (all tensor bytes inside the input). Run under ASan/UBSan in CI, so an
// out-of-bounds read or overflow is reported even when it does not crash.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "engine/gguf/gguf.h"
#include "tests/support/gguf_writer.h"

namespace spatten::gguf {
namespace {

std::vector<uint8_t> Seed() {
  spatten::testing::GgufWriter w(3);
  w.Str("general.architecture", "llama");
  w.U32("llama.block_count", 2);
  w.F32("llama.rope.freq_base", 10000.0f);
  w.Bool("tokenizer.ggml.add_bos_token", false);
  w.U64("big", 1ull << 40);
  w.I8("i8", -1);
  w.F64("f64", 0.25);
  w.StrArray("tokenizer.ggml.tokens", {"<s>", "a", "b", "ab", "\xc4\xa0"});
  w.I32Array("tokenizer.ggml.token_type", {3, 1, 1, 1, 1});
  w.F32Array("scores", {0.f, -1.f});
  w.NestedArray("nested");
  w.Tensor("f32", 0, {4, 2}, std::vector<uint8_t>(32, 1));
  w.Tensor("q4_0", 2, {32}, std::vector<uint8_t>(18, 2));
  w.Tensor("q4_1", 3, {32, 2}, std::vector<uint8_t>(40, 3));
  w.Tensor("q8_0", 8, {32}, std::vector<uint8_t>(34, 4));
  w.Tensor("q4_K", 12, {256}, std::vector<uint8_t>(144, 5));
  w.Tensor("q6_K", 14, {256}, std::vector<uint8_t>(210, 6));
  w.Tensor("f16", 1, {3}, std::vector<uint8_t>(6, 7));
  w.Tensor("bf16", 30, {3}, std::vector<uint8_t>(6, 8));
  return w.Build();
}

// Applies one random mutation: byte flips, interesting integers written at random offsets,
// truncation, insertion or deletion of a byte range.
std::vector<uint8_t> Mutate(std::vector<uint8_t> b, std::mt19937_64& rng) {
  auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  static const uint64_t kInteresting[] = {0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 14, 30, 31, 32, 33, 63, 64,
                                          255, 256, 0x7fffffffull, 0x80000000ull, 0xffffffffull,
                                          1ull << 32, 1ull << 40, 1ull << 62, ~0ull, ~0ull - 31};
  const int kind = static_cast<int>(rng() % 6);
  switch (kind) {
    case 0: {  // flip 1..8 random bits
      const int n = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < n && !b.empty(); ++i) b[pick(b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    }
    case 1:
    case 2: {  // overwrite a u32 or u64 with an interesting value
      const uint64_t v = kInteresting[pick(std::size(kInteresting))];
      const size_t width = kind == 1 ? 4 : 8;
      if (b.size() >= width) std::memcpy(b.data() + pick(b.size() - width + 1), &v, width);
      break;
    }
    case 3:  // truncate
      b.resize(pick(b.size() + 1));
      break;
    case 4: {  // insert random bytes
      const size_t at = pick(b.size() + 1);
      std::vector<uint8_t> ins(1 + pick(16));
      for (auto& x : ins) x = static_cast<uint8_t>(rng());
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
      break;
    }
    default: {  // delete a range
      if (b.empty()) break;
      const size_t at = pick(b.size());
      const size_t n = std::min(b.size() - at, 1 + pick(16));
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
  }
  return b;
}

// Returns true when `b` loaded; checks the result is self-consistent either way.
bool CheckOne(const std::vector<uint8_t>& b) {
  auto f = GgufFile::Parse(b);
  if (!f.ok()) {
    EXPECT_FALSE(f.status().message().empty());
    return false;
  }
  for (const auto& t : f->tensors()) {
    EXPECT_GE(t.data, b.data());
    EXPECT_LE(t.data + t.n_bytes, b.data() + b.size()) << t.name;
    EXPECT_EQ(t.n_bytes, t.n_elements / t.type.block_elems * t.type.block_bytes);
    // Touch the first and last byte so ASan sees any out-of-bounds pointer.
    if (t.n_bytes > 0) {
      volatile uint8_t first = t.data[0];
      volatile uint8_t last = t.data[t.n_bytes - 1];
      (void)first;
      (void)last;
    }
  }
  for (const auto& [key, value] : f->metadata()) {
    EXPECT_FALSE(key.empty());
    (void)value.ToString();
  }
  return true;
}

TEST(GgufFuzzTest, MutatedSyntheticFilesNeverCrash) {
  const auto seed = Seed();
  ASSERT_TRUE(GgufFile::Parse(seed).ok());
  std::mt19937_64 rng(12345);
  int loaded = 0, rejected = 0;
  constexpr int kIterations = 3000;
  for (int i = 0; i < kIterations; ++i) {
    auto b = seed;
    const int rounds = 1 + static_cast<int>(rng() % 3);
    for (int r = 0; r < rounds; ++r) b = Mutate(std::move(b), rng);
    (CheckOne(b) ? loaded : rejected)++;
  }
  // Every input is accounted for, and the mutator exercised both outcomes.
  EXPECT_EQ(loaded + rejected, kIterations);
  EXPECT_GT(rejected, kIterations / 4);
  EXPECT_GT(loaded, 0);
  std::printf("synthetic: %d mutated files, %d loaded consistently, %d rejected with a message\n",
              kIterations, loaded, rejected);
}

TEST(GgufFuzzTest, EveryTruncationOfTheSyntheticFileIsRejected) {
  const auto seed = Seed();
  auto full = GgufFile::Parse(seed);
  ASSERT_TRUE(full.ok());
  // Bytes past the end of the last tensor's data are alignment padding and may be cut.
  size_t needed = 0;
  for (const auto& t : full->tensors()) {
    needed = std::max<size_t>(needed, static_cast<size_t>(full->data_offset() + t.offset + t.n_bytes));
  }
  ASSERT_LT(needed, seed.size());
  for (size_t n = 0; n <= seed.size(); ++n) {
    std::vector<uint8_t> b(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(n));
    auto f = GgufFile::Parse(b);
    EXPECT_EQ(f.ok(), n >= needed) << "truncated to " << n << " bytes: " << f.status().ToString();
  }
}

TEST(GgufFuzzTest, MutatedRealModelHeadersNeverCrash) {
  const char* path = std::getenv("SPATTEN_MODEL");
  if (path == nullptr || *path == '\0') GTEST_SKIP() << "SPATTEN_MODEL is not set; skipping real-model fuzzing";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  // The metadata and tensor infos (about 1.8 MB for the default model) plus a little data.
  std::vector<uint8_t> head(2u << 20);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  std::mt19937_64 rng(777);
  int loaded = 0, rejected = 0;
  constexpr int kIterations = 300;
  for (int i = 0; i < kIterations; ++i) {
    auto b = Mutate(head, rng);
    (CheckOne(b) ? loaded : rejected)++;
  }
  EXPECT_EQ(loaded + rejected, kIterations);
  // The header alone lacks the tensor data, so nothing can load.
  EXPECT_EQ(loaded, 0);
}

}  // namespace
}  // namespace spatten::gguf
