// GGUF loader tests: every metadata type, v2 and v3, alignment, every tensor type, lookups,
// and one targeted test per validation rule (each must name the problem). The real default
// model is checked too when SPATTEN_MODEL points at it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "engine/gguf/gguf.h"
#include "tests/support/gguf_writer.h"

namespace spatten::gguf {
namespace {

using spatten::testing::GgufWriter;

std::vector<uint8_t> Bytes(size_t n, uint8_t fill = 0) { return std::vector<uint8_t>(n, fill); }

GgufWriter EveryType(uint32_t version) {
  GgufWriter w(version);
  w.Str("general.architecture", "llama");
  w.U8("t.u8", 200);
  w.I8("t.i8", -100);
  w.U16("t.u16", 60000);
  w.I16("t.i16", -30000);
  w.U32("t.u32", 4000000000u);
  w.I32("t.i32", -2000000000);
  w.F32("t.f32", 1.5f);
  w.Bool("t.bool", true);
  w.Str("t.str", "h\xc3\xa9llo");
  w.U64("t.u64", 18000000000000000000ull);
  w.I64("t.i64", -9000000000000000000ll);
  w.F64("t.f64", -2.25);
  w.StrArray("t.strs", {"a", "", "bc"});
  w.I32Array("t.ints", {1, -2, 3});
  w.F32Array("t.floats", {0.5f, -1.0f});
  w.NestedArray("t.nested");
  return w;
}

TEST(GgufTest, ParsesEveryMetadataTypeInV2AndV3) {
  for (uint32_t version : {2u, 3u}) {
    SCOPED_TRACE(version);
    auto bytes = EveryType(version).Build();
    auto f = GgufFile::Parse(bytes);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->version(), version);
    EXPECT_EQ(f->metadata().size(), 17u);
    EXPECT_EQ(*f->GetInt("t.u8"), 200);
    EXPECT_EQ(*f->GetInt("t.i8"), -100);
    EXPECT_EQ(*f->GetInt("t.u16"), 60000);
    EXPECT_EQ(*f->GetInt("t.i16"), -30000);
    EXPECT_EQ(*f->GetInt("t.u32"), 4000000000ll);
    EXPECT_EQ(*f->GetInt("t.i32"), -2000000000);
    EXPECT_DOUBLE_EQ(*f->GetFloat("t.f32"), 1.5);
    EXPECT_EQ(*f->GetInt("t.bool"), 1);
    EXPECT_EQ(*f->GetString("t.str"), "h\xc3\xa9llo");
    // u64 above INT64_MAX is not an int64, but is a number.
    EXPECT_FALSE(f->GetInt("t.u64").ok());
    EXPECT_DOUBLE_EQ(*f->GetFloat("t.u64"), 18000000000000000000.0);
    EXPECT_EQ(*f->GetInt("t.i64"), -9000000000000000000ll);
    EXPECT_DOUBLE_EQ(*f->GetFloat("t.f64"), -2.25);
    const Array* strs = *f->GetArray("t.strs");
    ASSERT_EQ(strs->strings.size(), 3u);
    EXPECT_EQ(strs->strings[2], "bc");
    EXPECT_EQ(strs->element_type, ValueType::kString);
    const Array* ints = *f->GetArray("t.ints");
    EXPECT_EQ(ints->ints, (std::vector<int64_t>{1, -2, 3}));
    const Array* floats = *f->GetArray("t.floats");
    EXPECT_EQ(floats->floats, (std::vector<double>{0.5, -1.0}));
    const Array* nested = *f->GetArray("t.nested");
    ASSERT_EQ(nested->values.size(), 2u);
    EXPECT_EQ(nested->values[0].AsArray()->ints, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(nested->values[1].AsArray()->ints, (std::vector<int64_t>{3}));
    // Metadata order is file order.
    EXPECT_EQ(f->metadata()[0].first, "general.architecture");
    EXPECT_EQ(f->metadata()[16].first, "t.nested");
  }
}

TEST(GgufTest, TypedGettersReportMissingAndMistypedKeys) {
  auto bytes = EveryType(3).Build();
  auto f = GgufFile::Parse(bytes);
  ASSERT_TRUE(f.ok());
  auto missing = f->GetInt("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  auto mistyped = f->GetString("t.u8");
  EXPECT_EQ(mistyped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mistyped.status().message().find("has type u8, expected a string"), std::string::npos);
  EXPECT_EQ(*f->GetIntOr("nope", 7), 7);
  EXPECT_DOUBLE_EQ(*f->GetFloatOr("nope", 0.5), 0.5);
  EXPECT_FALSE(f->GetIntOr("t.str", 7).ok());
  EXPECT_FALSE(f->GetFloat("t.str").ok());
}

TEST(GgufTest, TensorsOfEveryTypeWithOffsetsAndShapes) {
  GgufWriter w(3);
  w.Tensor("f32", 0, {3, 2}, Bytes(24, 1));
  w.Tensor("f16", 1, {5}, Bytes(10, 2));
  w.Tensor("q4_0", 2, {64, 3}, Bytes(6 * 18, 3));
  w.Tensor("q4_1", 3, {32}, Bytes(20, 4));
  w.Tensor("q8_0", 8, {32, 2}, Bytes(68, 5));
  w.Tensor("q4_K", 12, {256}, Bytes(144, 6));
  w.Tensor("q6_K", 14, {512, 1, 1, 2}, Bytes(4 * 210, 7));
  w.Tensor("bf16", 30, {7}, Bytes(14, 8));
  auto bytes = w.Build();
  auto f = GgufFile::Parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->tensors().size(), 8u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  uint8_t fill = 1;
  for (const auto& t : f->tensors()) {
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, std::string(t.type.name));
    EXPECT_EQ(t.offset % 32, 0u);
    ASSERT_NE(t.data, nullptr);
    EXPECT_GE(t.data, bytes.data() + f->data_offset());
    EXPECT_LE(t.data + t.n_bytes, bytes.data() + bytes.size());
    EXPECT_EQ(t.data[0], fill);
    EXPECT_EQ(t.data[t.n_bytes - 1], fill);
    ++fill;
  }
  const TensorInfo* q6 = f->FindTensor("q6_K");
  ASSERT_NE(q6, nullptr);
  EXPECT_EQ(q6->n_elements, 1024u);
  EXPECT_EQ(q6->n_bytes, 840u);
  EXPECT_EQ(q6->rows(), 2u);
  EXPECT_EQ(q6->row_bytes(), 420u);
  EXPECT_EQ(f->FindTensor("q4_0")->rows(), 3u);
  EXPECT_EQ(f->FindTensor("q4_0")->row_bytes(), 36u);
  EXPECT_EQ(f->FindTensor("missing"), nullptr);
}

TEST(GgufTest, HonoursCustomAlignment) {
  GgufWriter w(3, 64);
  w.U32("general.alignment", 64);
  w.Tensor("a", 0, {3}, Bytes(12, 9));
  w.Tensor("b", 0, {1}, Bytes(4, 10));
  auto bytes = w.Build();
  auto f = GgufFile::Parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->FindTensor("b")->offset, 64u);
  EXPECT_EQ(f->FindTensor("b")->data[0], 10);
}

// Each malformed input must be rejected with a message containing `expect`.
struct BadCase {
  const char* label;
  std::vector<uint8_t> bytes;
  const char* expect;
};

std::vector<uint8_t> WithU32At(std::vector<uint8_t> b, size_t at, uint32_t v) {
  std::memcpy(b.data() + at, &v, 4);
  return b;
}
std::vector<uint8_t> WithU64At(std::vector<uint8_t> b, size_t at, uint64_t v) {
  std::memcpy(b.data() + at, &v, 8);
  return b;
}

TEST(GgufTest, RejectsMalformedFilesNamingTheProblem) {
  std::vector<BadCase> cases;
  const auto good = EveryType(3).Build();
  cases.push_back({"empty", {}, "truncated file: magic"});
  cases.push_back({"bad magic", {'G', 'G', 'M', 'L', 3, 0, 0, 0}, "bad magic"});
  cases.push_back({"version 1", WithU32At(good, 4, 1), "version 1 is not supported"});
  cases.push_back({"version 4", WithU32At(good, 4, 4), "version 4 is not supported"});
  cases.push_back({"absurd tensor count", WithU64At(good, 8, 1ull << 40), "tensor count"});
  cases.push_back({"absurd kv count", WithU64At(good, 16, 1ull << 40), "metadata count"});
  cases.push_back({"kv count beyond data", WithU64At(good, 16, 18), "metadata key #17"});
  cases.push_back({"truncated header", std::vector<uint8_t>(good.begin(), good.begin() + 10),
                   "truncated file: tensor count"});
  cases.push_back({"truncated value", std::vector<uint8_t>(good.begin(), good.end() - 40), "metadata 't.nested'"});
  // First key length -> huge.
  cases.push_back({"huge key length", WithU64At(good, 24, 1ull << 60), "exceeds the limit"});
  {
    GgufWriter w;
    w.RawKv("bad.type", 13, {});
    cases.push_back({"unknown value type", w.Build(), "metadata 'bad.type': unknown value type 13"});
  }
  {
    GgufWriter w;
    w.RawKv("bad.bool", 7, {2});
    cases.push_back({"bool not 0/1", w.Build(), "bool value 2"});
  }
  {
    GgufWriter w;  // array of 2^40 u32 elements, with 0 bytes following
    std::vector<uint8_t> p = {4, 0, 0, 0};
    uint64_t n = 1ull << 23;
    for (int i = 0; i < 8; ++i) p.push_back(static_cast<uint8_t>(n >> (8 * i)));
    w.RawKv("bad.array", 9, p);
    cases.push_back({"array longer than file", w.Build(), "cannot fit"});
  }
  {
    GgufWriter w;
    std::vector<uint8_t> p = {4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // 2^56 elements
    w.RawKv("bad.array", 9, p);
    cases.push_back({"absurd array length", w.Build(), "exceeds the limit"});
  }
  {
    GgufWriter w;
    std::vector<uint8_t> p = {77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    w.RawKv("bad.array", 9, p);
    cases.push_back({"bad array element type", w.Build(), "unknown array element type 77"});
  }
  {
    GgufWriter w;  // arrays nested 6 deep
    std::vector<uint8_t> p;
    for (int i = 0; i < 6; ++i) {
      p.insert(p.end(), {9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
    }
    p.insert(p.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    w.RawKv("deep", 9, p);
    cases.push_back({"nesting too deep", w.Build(), "nested deeper"});
  }
  {
    GgufWriter w;
    w.U32("x", 1);
    w.U32("x", 2);
    cases.push_back({"duplicate key", w.Build(), "metadata 'x': duplicate key"});
  }
  {
    GgufWriter w;
    w.U32("general.alignment", 48);
    cases.push_back({"alignment not power of two", w.Build(), "general.alignment 48"});
  }
  {
    GgufWriter w;
    w.Str("general.alignment", "32");
    cases.push_back({"alignment wrong type", w.Build(), "general.alignment"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 7, {32}, Bytes(22));
    cases.push_back({"unsupported tensor type", w.Build(), "tensor 't': tensor type 7 (q5_1) is not supported"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 99, {32}, Bytes(22));
    cases.push_back({"unknown tensor type", w.Build(), "tensor type 99 (unknown)"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 2, {33}, Bytes(36));
    cases.push_back({"row not multiple of block", w.Build(), "row length 33 is not a multiple"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 0, {4, 0}, Bytes(16));
    cases.push_back({"zero dimension", w.Build(), "dimension 1 is 0"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 0, {1ull << 30, 1ull << 30, 1ull << 30}, Bytes(16));
    cases.push_back({"overflowing shape", w.Build(), "element count overflows"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 0, {1, 1, 1, 1, 1}, Bytes(16));
    cases.push_back({"rank 5", w.Build(), "rank 5 is not between 1 and 4"});
  }
  {
    GgufWriter w;
    w.Tensor("t", 0, {8}, Bytes(32));
    w.Tensor("t", 0, {8}, Bytes(32));
    cases.push_back({"duplicate tensor", w.Build(), "tensor 't': duplicate tensor name"});
  }
  {
    GgufWriter w;
    w.Tensor("big", 0, {64}, Bytes(32));  // declares 256 bytes, file holds 32
    cases.push_back({"tensor past end of file", w.Build(), "tensor 'big': data offset 0 + size 256 exceeds"});
  }
  {
    GgufWriter w;
    w.Tensor("a", 0, {8}, Bytes(32));
    auto b = w.Build();
    // Offset field is the last 8 bytes of the only tensor info: 24 (header) + 8+1 (name) + 4
    // (rank) + 8 (ne) + 4 (type) = 49.
    cases.push_back({"misaligned offset", WithU64At(b, 49, 3), "tensor 'a': data offset 3 is not a multiple"});
    cases.push_back({"offset past end", WithU64At(b, 49, 1ull << 40), "exceeds the data section"});
    cases.push_back({"offset near 2^64", WithU64At(b, 49, ~uint64_t{31}), "exceeds the data section"});
  }

  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    auto f = GgufFile::Parse(c.bytes);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().message().find(c.expect), std::string::npos)
        << "message was: " << f.status().message();
  }
}

TEST(GgufTest, OpenReportsMissingFilesAndDirectories) {
  auto missing = GgufFile::Open("/nonexistent/model.gguf");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/model.gguf"), std::string::npos);
  auto dir = GgufFile::Open("/tmp");
  EXPECT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("not a regular file"), std::string::npos);
}

TEST(GgufTest, DefaultModelHasTheExpectedLayout) {
  const char* path = std::getenv("SPATTEN_MODEL");
  if (path == nullptr || *path == '\0') GTEST_SKIP() << "SPATTEN_MODEL is not set; skipping the real-model check";
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  EXPECT_EQ(*f->GetInt("llama.block_count"), 30);
  EXPECT_EQ(*f->GetInt("llama.embedding_length"), 576);
  EXPECT_EQ(*f->GetInt("llama.attention.head_count"), 9);
  EXPECT_EQ(*f->GetInt("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(f->tensors().size(), 272u);
  std::map<std::string, int> by_type;
  for (const auto& t : f->tensors()) by_type[std::string(t.type.name)]++;
  EXPECT_EQ(by_type["q4_1"], 210);
  EXPECT_EQ(by_type["q8_0"], 1);
  EXPECT_EQ(by_type["f32"], 61);
  const TensorInfo* emb = f->FindTensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->shape, (std::vector<uint64_t>{576, 49152}));
  EXPECT_EQ(f->FindTensor("output.weight"), nullptr);  // tied embeddings
  EXPECT_EQ((*f->GetArray("tokenizer.ggml.tokens"))->strings.size(), 49152u);
}

}  // namespace
}  // namespace spatten::gguf
