// GGUF model container: parse and validate a (memory-mapped) GGUF v2/v3 file.
//
// Contract:
// - The file is untrusted input. Open() validates the header, every metadata entry, every
//   tensor info (name, rank, shape, type, offset, alignment) and that every tensor's bytes lie
//   inside the file, before returning. Any violation gives an error Status naming the problem
//   (and the key or tensor concerned); nothing is read out of bounds and nothing crashes.
// - Tensor data is not copied: TensorInfo::data points into the mapping owned by GgufFile and
//   is valid for the GgufFile's lifetime.
// - A GgufFile is immutable after Open(); concurrent reads from many threads are safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/mapped_file.h"
#include "common/status.h"
#include "kernels/quant_types.h"

namespace spatten::gguf {

// Metadata value types, numbered as in the file.
enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view ValueTypeName(ValueType t);

// An array value: element type plus elements stored in the widest matching C++ type. Arrays of
// arrays are allowed by the format; nested elements are kept as Values.
struct Value;
struct Array {
  ValueType element_type = ValueType::kU8;
  std::vector<Value> values;  // used for nested arrays only
  std::vector<int64_t> ints;          // kU8..kI32, kI64, kBool (0/1)
  std::vector<uint64_t> u64s;         // kU64 (kept unsigned: values may exceed int64)
  std::vector<double> floats;         // kF32, kF64
  std::vector<std::string> strings;   // kString
  size_t size() const;
};

struct Value {
  ValueType type = ValueType::kU8;
  std::variant<int64_t, uint64_t, double, bool, std::string, std::shared_ptr<Array>> v;

  // Integer of any integer type (and bool); nullopt for other types or out-of-range u64.
  std::optional<int64_t> AsInt() const;
  // Float of f32/f64 or any integer type; nullopt otherwise.
  std::optional<double> AsFloat() const;
  const std::string* AsString() const;
  const Array* AsArray() const;
  // Short human-readable rendering (arrays abbreviated after `max_elems`).
  std::string ToString(size_t max_elems = 8) const;
};

struct TensorInfo {
  std::string name;
  uint32_t type_id = 0;                     // raw ggml type id from the file
  kernels::QuantTypeInfo type{};            // geometry (valid: Open() rejects unknown types)
  std::vector<uint64_t> shape;              // ne[0] (contiguous) first; 1..4 dims
  uint64_t offset = 0;                      // relative to the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;            // into the mapping; n_bytes long

  uint64_t rows() const;       // product of shape[1..]
  uint64_t row_elems() const { return shape.empty() ? 0 : shape[0]; }
  uint64_t row_bytes() const;  // bytes per row (ne[0] / block_elems * block_bytes)
};

struct OpenOptions {
  // Safety limits against absurd counts in untrusted files.
  uint64_t max_tensors = 65536;
  uint64_t max_metadata = 65536;
  uint64_t max_array_elems = 1ull << 24;   // enough for 16M-token vocabularies
  uint64_t max_string_bytes = 1ull << 24;  // 16 MiB per string (chat templates are ~KBs)
  uint32_t max_array_depth = 4;
};

class GgufFile {
 public:
  static Result<GgufFile> Open(const std::string& path, const OpenOptions& options = {});
  // Parses bytes already in memory (tests, fuzzing). The bytes must outlive the GgufFile.
  static Result<GgufFile> Parse(std::span<const uint8_t> bytes, const OpenOptions& options = {});

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  const std::string& path() const { return path_; }

  // Metadata in file order, and lookup by key.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* Find(std::string_view key) const;
  // Typed getters: NotFound when absent, InvalidArgument when the type does not fit.
  Result<int64_t> GetInt(std::string_view key) const;
  Result<double> GetFloat(std::string_view key) const;
  Result<std::string> GetString(std::string_view key) const;
  Result<const Array*> GetArray(std::string_view key) const;
  // Like GetInt but returns `fallback` when the key is absent (still an error if mistyped).
  Result<int64_t> GetIntOr(std::string_view key, int64_t fallback) const;
  Result<double> GetFloatOr(std::string_view key, double fallback) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller-owned bytes
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::map<std::string, size_t, std::less<>> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;

  friend class Parser;
};

}  // namespace spatten::gguf
