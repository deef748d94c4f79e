// Test support: builds GGUF files in memory, byte by byte, independently of the loader under
// test, so that loader tests and fuzzers have valid inputs of every shape to start from.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace spatten::testing {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3, uint32_t alignment = 32)
      : version_(version), alignment_(alignment) {}

  // Metadata (type ids as in the GGUF spec).
  void U8(std::string_view key, uint8_t v) { Kv(key, 0); Put(v); }
  void I8(std::string_view key, int8_t v) { Kv(key, 1); Put(v); }
  void U16(std::string_view key, uint16_t v) { Kv(key, 2); Put(v); }
  void I16(std::string_view key, int16_t v) { Kv(key, 3); Put(v); }
  void U32(std::string_view key, uint32_t v) { Kv(key, 4); Put(v); }
  void I32(std::string_view key, int32_t v) { Kv(key, 5); Put(v); }
  void F32(std::string_view key, float v) { Kv(key, 6); Put(v); }
  void Bool(std::string_view key, bool v) { Kv(key, 7); Put(static_cast<uint8_t>(v ? 1 : 0)); }
  void Str(std::string_view key, std::string_view v) { Kv(key, 8); PutStr(v); }
  void U64(std::string_view key, uint64_t v) { Kv(key, 10); Put(v); }
  void I64(std::string_view key, int64_t v) { Kv(key, 11); Put(v); }
  void F64(std::string_view key, double v) { Kv(key, 12); Put(v); }
  void StrArray(std::string_view key, const std::vector<std::string>& v) {
    Kv(key, 9); Put(uint32_t{8}); Put(static_cast<uint64_t>(v.size()));
    for (const auto& s : v) PutStr(s);
  }
  void I32Array(std::string_view key, const std::vector<int32_t>& v) {
    Kv(key, 9); Put(uint32_t{5}); Put(static_cast<uint64_t>(v.size()));
    for (int32_t x : v) Put(x);
  }
  void F32Array(std::string_view key, const std::vector<float>& v) {
    Kv(key, 9); Put(uint32_t{6}); Put(static_cast<uint64_t>(v.size()));
    for (float x : v) Put(x);
  }
  // An array of two arrays of u8: [[1,2],[3]].
  void NestedArray(std::string_view key) {
    Kv(key, 9); Put(uint32_t{9}); Put(uint64_t{2});
    Put(uint32_t{0}); Put(uint64_t{2}); Put(uint8_t{1}); Put(uint8_t{2});
    Put(uint32_t{0}); Put(uint64_t{1}); Put(uint8_t{3});
  }
  // Raw metadata bytes for hand-made malformed entries.
  void RawKv(std::string_view key, uint32_t type, const std::vector<uint8_t>& payload) {
    Kv(key, type); kv_.insert(kv_.end(), payload.begin(), payload.end());
  }

  // A tensor with explicit data bytes; offsets are assigned in order, aligned.
  void Tensor(std::string_view name, uint32_t type, std::vector<uint64_t> shape,
              const std::vector<uint8_t>& data) {
    Tensors t{std::string(name), type, std::move(shape), data_.size()};
    infos_.push_back(t);
    data_.insert(data_.end(), data.begin(), data.end());
    while (data_.size() % alignment_ != 0) data_.push_back(0);
  }

  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out;
    auto put = [&out](const void* p, size_t n) {
      const auto* b = static_cast<const uint8_t*>(p);
      out.insert(out.end(), b, b + n);
    };
    put("GGUF", 4);
    put(&version_, 4);
    const uint64_t n_tensors = infos_.size();
    put(&n_tensors, 8);
    put(&n_kv_, 8);
    out.insert(out.end(), kv_.begin(), kv_.end());
    for (const auto& t : infos_) {
      const uint64_t len = t.name.size();
      put(&len, 8);
      put(t.name.data(), t.name.size());
      const uint32_t n_dims = static_cast<uint32_t>(t.shape.size());
      put(&n_dims, 4);
      for (uint64_t d : t.shape) put(&d, 8);
      put(&t.type, 4);
      const uint64_t off = t.offset;
      put(&off, 8);
    }
    while (out.size() % alignment_ != 0) out.push_back(0);
    out.insert(out.end(), data_.begin(), data_.end());
    return out;
  }

 private:
  struct Tensors {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> shape;
    uint64_t offset;
  };
  template <typename T>
  void Put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    kv_.insert(kv_.end(), b, b + sizeof(T));
  }
  void PutStr(std::string_view s) {
    Put(static_cast<uint64_t>(s.size()));
    kv_.insert(kv_.end(), s.begin(), s.end());
  }
  void Kv(std::string_view key, uint32_t type) {
    ++n_kv_;
    PutStr(key);
    Put(type);
  }

  uint32_t version_;
  uint32_t alignment_;
  uint64_t n_kv_ = 0;
  std::vector<uint8_t> kv_;
  std::vector<Tensors> infos_;
  std::vector<uint8_t> data_;
};

}  // namespace spatten::testing
