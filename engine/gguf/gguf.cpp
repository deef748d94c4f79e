// GGUF parser. Every read is bounds-checked against the mapped bytes; every count is checked
// against both a sanity limit and the bytes that remain, so a hostile file cannot trigger huge
// allocations, integer overflow or out-of-bounds reads.
#include "engine/gguf/gguf.h"

#include <cinttypes>
#include <cstring>
#include <limits>
#include <sstream>

namespace spatten::gguf {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "invalid";
}

size_t Array::size() const {
  return values.size() + ints.size() + u64s.size() + floats.size() + strings.size();
}

std::optional<int64_t> Value::AsInt() const {
  switch (type) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kU16: case ValueType::kI16:
    case ValueType::kU32: case ValueType::kI32: case ValueType::kI64:
      return std::get<int64_t>(v);
    case ValueType::kU64: {
      const uint64_t u = std::get<uint64_t>(v);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    case ValueType::kBool: return std::get<bool>(v) ? 1 : 0;
    default: return std::nullopt;
  }
}

std::optional<double> Value::AsFloat() const {
  if (type == ValueType::kF32 || type == ValueType::kF64) return std::get<double>(v);
  if (type == ValueType::kU64) return static_cast<double>(std::get<uint64_t>(v));
  if (auto i = AsInt(); i && type != ValueType::kBool) return static_cast<double>(*i);
  return std::nullopt;
}

const std::string* Value::AsString() const {
  return type == ValueType::kString ? &std::get<std::string>(v) : nullptr;
}

const Array* Value::AsArray() const {
  return type == ValueType::kArray ? std::get<std::shared_ptr<Array>>(v).get() : nullptr;
}

namespace {

std::string Quote(std::string_view s, size_t max_len = 80) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\x%02x", c); out += buf; }
    else out += static_cast<char>(c);
  }
  if (s.size() > max_len) out += "...";
  out += '"';
  return out;
}

}  // namespace

std::string Value::ToString(size_t max_elems) const {
  std::ostringstream os;
  switch (type) {
    case ValueType::kString: os << Quote(std::get<std::string>(v)); break;
    case ValueType::kBool: os << (std::get<bool>(v) ? "true" : "false"); break;
    case ValueType::kF32: case ValueType::kF64: os << std::get<double>(v); break;
    case ValueType::kU64: os << std::get<uint64_t>(v); break;
    case ValueType::kArray: {
      const Array& a = *std::get<std::shared_ptr<Array>>(v);
      const size_t n = a.size();
      os << "[" << ValueTypeName(a.element_type) << " x " << n << "] [";
      for (size_t i = 0; i < n && i < max_elems; ++i) {
        if (i) os << ", ";
        if (!a.values.empty()) os << a.values[i].ToString(max_elems);
        else if (!a.ints.empty()) os << a.ints[i];
        else if (!a.u64s.empty()) os << a.u64s[i];
        else if (!a.floats.empty()) os << a.floats[i];
        else os << Quote(a.strings[i], 40);
      }
      if (n > max_elems) os << ", ...";
      os << "]";
      break;
    }
    default: os << std::get<int64_t>(v); break;
  }
  return os.str();
}

uint64_t TensorInfo::rows() const {
  uint64_t r = 1;
  for (size_t i = 1; i < shape.size(); ++i) r *= shape[i];
  return r;
}

uint64_t TensorInfo::row_bytes() const {
  if (shape.empty() || type.block_elems == 0) return 0;
  return shape[0] / type.block_elems * type.block_bytes;
}

// Reads the file front to back. Each method returns a Status naming what it was reading.
class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const OpenOptions& opts) : b_(bytes), opts_(opts) {}

  Status Run(GgufFile* f);

 private:
  size_t remaining() const { return b_.size() - pos_; }

  Status Need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      return OutOfRange("truncated file: " + std::string(what) + " needs " + std::to_string(n) +
                        " bytes at offset " + std::to_string(pos_) + " but only " +
                        std::to_string(remaining()) + " remain");
    }
    return Status();
  }

  template <typename T>
  Status Read(T* out, std::string_view what) {
    SPATTEN_RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(out, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status();
  }

  Status ReadString(std::string* out, std::string_view what) {
    uint64_t len = 0;
    SPATTEN_RETURN_IF_ERROR(Read(&len, what));
    if (len > opts_.max_string_bytes) {
      return InvalidArgument(std::string(what) + ": string length " + std::to_string(len) +
                             " exceeds the limit of " + std::to_string(opts_.max_string_bytes));
    }
    SPATTEN_RETURN_IF_ERROR(Need(len, what));
    out->assign(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return Status();
  }

  static bool ValidType(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::kF64); }

  // Smallest encoded size of one element of type t (used to bound counts by remaining bytes).
  static uint64_t MinEncodedSize(ValueType t) {
    switch (t) {
      case ValueType::kU8: case ValueType::kI8: case ValueType::kBool: return 1;
      case ValueType::kU16: case ValueType::kI16: return 2;
      case ValueType::kU32: case ValueType::kI32: case ValueType::kF32: return 4;
      case ValueType::kU64: case ValueType::kI64: case ValueType::kF64: return 8;
      case ValueType::kString: return 8;
      case ValueType::kArray: return 12;
    }
    return 1;
  }

  Status ReadScalar(ValueType t, Value* out, const std::string& what);
  Status ReadArray(Array* out, const std::string& what, uint32_t depth);
  Status ReadValue(ValueType t, Value* out, const std::string& what, uint32_t depth);

  std::span<const uint8_t> b_;
  const OpenOptions& opts_;
  size_t pos_ = 0;
};

Status Parser::ReadScalar(ValueType t, Value* out, const std::string& what) {
  out->type = t;
  switch (t) {
    case ValueType::kU8: { uint8_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = int64_t{x}; break; }
    case ValueType::kI8: { int8_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = int64_t{x}; break; }
    case ValueType::kU16: { uint16_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = int64_t{x}; break; }
    case ValueType::kI16: { int16_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = int64_t{x}; break; }
    case ValueType::kU32: { uint32_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = int64_t{x}; break; }
    case ValueType::kI32: { int32_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = int64_t{x}; break; }
    case ValueType::kI64: { int64_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = x; break; }
    case ValueType::kU64: { uint64_t x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = x; break; }
    case ValueType::kF32: { float x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = double{x}; break; }
    case ValueType::kF64: { double x{}; SPATTEN_RETURN_IF_ERROR(Read(&x, what)); out->v = x; break; }
    case ValueType::kBool: {
      uint8_t x{};
      SPATTEN_RETURN_IF_ERROR(Read(&x, what));
      if (x > 1) return InvalidArgument(what + ": bool value " + std::to_string(x) + " is not 0 or 1");
      out->v = (x != 0);
      break;
    }
    case ValueType::kString: {
      std::string s;
      SPATTEN_RETURN_IF_ERROR(ReadString(&s, what));
      out->v = std::move(s);
      break;
    }
    case ValueType::kArray: return Internal("ReadScalar called for an array");
  }
  return Status();
}

Status Parser::ReadArray(Array* out, const std::string& what, uint32_t depth) {
  if (depth > opts_.max_array_depth) {
    return InvalidArgument(what + ": arrays nested deeper than " + std::to_string(opts_.max_array_depth));
  }
  uint32_t et = 0;
  uint64_t count = 0;
  SPATTEN_RETURN_IF_ERROR(Read(&et, what + " (array element type)"));
  if (!ValidType(et)) return InvalidArgument(what + ": unknown array element type " + std::to_string(et));
  SPATTEN_RETURN_IF_ERROR(Read(&count, what + " (array length)"));
  const ValueType t = static_cast<ValueType>(et);
  if (count > opts_.max_array_elems) {
    return InvalidArgument(what + ": array length " + std::to_string(count) + " exceeds the limit of " +
                           std::to_string(opts_.max_array_elems));
  }
  if (count > remaining() / MinEncodedSize(t)) {
    return OutOfRange(what + ": array of " + std::to_string(count) + " " +
                      std::string(ValueTypeName(t)) + " elements cannot fit in the " +
                      std::to_string(remaining()) + " bytes left in the file");
  }
  out->element_type = t;
  const size_t n = static_cast<size_t>(count);
  for (size_t i = 0; i < n; ++i) {
    Value v;
    SPATTEN_RETURN_IF_ERROR(ReadValue(t, &v, what, depth));
    switch (t) {
      case ValueType::kArray: out->values.push_back(std::move(v)); break;
      case ValueType::kString: out->strings.push_back(std::move(std::get<std::string>(v.v))); break;
      case ValueType::kF32: case ValueType::kF64: out->floats.push_back(std::get<double>(v.v)); break;
      case ValueType::kU64: out->u64s.push_back(std::get<uint64_t>(v.v)); break;
      default: out->ints.push_back(*v.AsInt()); break;
    }
    if (i == 0) {  // reserve once the first element parsed (count is already bounded)
      switch (t) {
        case ValueType::kArray: out->values.reserve(n); break;
        case ValueType::kString: out->strings.reserve(n); break;
        case ValueType::kF32: case ValueType::kF64: out->floats.reserve(n); break;
        case ValueType::kU64: out->u64s.reserve(n); break;
        default: out->ints.reserve(n); break;
      }
    }
  }
  return Status();
}

Status Parser::ReadValue(ValueType t, Value* out, const std::string& what, uint32_t depth) {
  if (t != ValueType::kArray) return ReadScalar(t, out, what);
  auto arr = std::make_shared<Array>();
  SPATTEN_RETURN_IF_ERROR(ReadArray(arr.get(), what, depth + 1));
  out->type = ValueType::kArray;
  out->v = std::move(arr);
  return Status();
}

Status Parser::Run(GgufFile* f) {
  char magic[4];
  SPATTEN_RETURN_IF_ERROR(Read(&magic, "magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    return InvalidArgument("not a GGUF file: bad magic bytes (expected \"GGUF\")");
  }
  SPATTEN_RETURN_IF_ERROR(Read(&f->version_, "version"));
  if (f->version_ != 2 && f->version_ != 3) {
    return Unimplemented("GGUF version " + std::to_string(f->version_) +
                         " is not supported (only versions 2 and 3)");
  }
  uint64_t n_tensors = 0;
  uint64_t n_kv = 0;
  SPATTEN_RETURN_IF_ERROR(Read(&n_tensors, "tensor count"));
  SPATTEN_RETURN_IF_ERROR(Read(&n_kv, "metadata count"));
  if (n_tensors > opts_.max_tensors) {
    return InvalidArgument("tensor count " + std::to_string(n_tensors) + " exceeds the limit of " +
                           std::to_string(opts_.max_tensors));
  }
  if (n_kv > opts_.max_metadata) {
    return InvalidArgument("metadata count " + std::to_string(n_kv) + " exceeds the limit of " +
                           std::to_string(opts_.max_metadata));
  }

  // Metadata.
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    SPATTEN_RETURN_IF_ERROR(ReadString(&key, "metadata key #" + std::to_string(i)));
    if (key.empty()) return InvalidArgument("metadata key #" + std::to_string(i) + " is empty");
    const std::string what = "metadata '" + key + "'";
    if (f->metadata_index_.count(key) != 0) return InvalidArgument(what + ": duplicate key");
    uint32_t t = 0;
    SPATTEN_RETURN_IF_ERROR(Read(&t, what + " (type)"));
    if (!ValidType(t)) return InvalidArgument(what + ": unknown value type " + std::to_string(t));
    Value v;
    SPATTEN_RETURN_IF_ERROR(ReadValue(static_cast<ValueType>(t), &v, what, 0));
    f->metadata_index_.emplace(key, f->metadata_.size());
    f->metadata_.emplace_back(std::move(key), std::move(v));
  }

  if (const Value* a = f->Find("general.alignment")) {
    const auto al = a->AsInt();
    if (!al || a->type == ValueType::kBool || *al <= 0 || *al > (1 << 20) || (*al & (*al - 1)) != 0) {
      return InvalidArgument("general.alignment " + a->ToString() +
                             " is not a power of two between 1 and 1048576");
    }
    f->alignment_ = static_cast<uint32_t>(*al);
  }

  // Tensor infos.
  f->tensors_.reserve(static_cast<size_t>(std::min<uint64_t>(n_tensors, remaining() / 24 + 1)));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo ti;
    SPATTEN_RETURN_IF_ERROR(ReadString(&ti.name, "tensor #" + std::to_string(i) + " name"));
    const std::string what = "tensor '" + ti.name + "'";
    if (ti.name.empty()) return InvalidArgument("tensor #" + std::to_string(i) + " has an empty name");
    if (f->tensor_index_.count(ti.name) != 0) return InvalidArgument(what + ": duplicate tensor name");
    uint32_t n_dims = 0;
    SPATTEN_RETURN_IF_ERROR(Read(&n_dims, what + " (rank)"));
    if (n_dims == 0 || n_dims > 4) {
      return InvalidArgument(what + ": rank " + std::to_string(n_dims) + " is not between 1 and 4");
    }
    ti.shape.resize(n_dims);
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      SPATTEN_RETURN_IF_ERROR(Read(&ti.shape[d], what + " (shape)"));
      if (ti.shape[d] == 0) return InvalidArgument(what + ": dimension " + std::to_string(d) + " is 0");
      // Cap at 2^48 elements: no real tensor comes near, and products cannot overflow.
      if (ti.shape[d] > (uint64_t{1} << 48) || n_el > (uint64_t{1} << 48) / ti.shape[d]) {
        return InvalidArgument(what + ": element count overflows (absurd shape)");
      }
      n_el *= ti.shape[d];
    }
    ti.n_elements = n_el;
    SPATTEN_RETURN_IF_ERROR(Read(&ti.type_id, what + " (type)"));
    const auto info = kernels::LookupQuantType(ti.type_id);
    if (!info || info->type == kernels::QuantType::kQ8_1) {
      return Unimplemented(what + ": tensor type " + std::to_string(ti.type_id) + " (" +
                           std::string(kernels::GgmlTypeName(ti.type_id)) +
                           ") is not supported (supported: f32, f16, bf16, q4_0, q4_1, q8_0, q4_K, q6_K)");
    }
    ti.type = *info;
    if (ti.shape[0] % ti.type.block_elems != 0) {
      return InvalidArgument(what + ": row length " + std::to_string(ti.shape[0]) +
                             " is not a multiple of the " + std::string(ti.type.name) + " block size " +
                             std::to_string(ti.type.block_elems));
    }
    ti.n_bytes = n_el / ti.type.block_elems * ti.type.block_bytes;
    SPATTEN_RETURN_IF_ERROR(Read(&ti.offset, what + " (offset)"));
    if (ti.offset % f->alignment_ != 0) {
      return InvalidArgument(what + ": data offset " + std::to_string(ti.offset) +
                             " is not a multiple of the alignment " + std::to_string(f->alignment_));
    }
    f->tensor_index_.emplace(ti.name, f->tensors_.size());
    f->tensors_.push_back(std::move(ti));
  }

  // Data section: starts at the next multiple of the alignment.
  const uint64_t al = f->alignment_;
  const uint64_t data_start = (static_cast<uint64_t>(pos_) + al - 1) / al * al;
  if (!f->tensors_.empty() && data_start > b_.size()) {
    return OutOfRange("truncated file: the tensor data section would start at offset " +
                      std::to_string(data_start) + " beyond the file size " + std::to_string(b_.size()));
  }
  f->data_offset_ = data_start;
  const uint64_t data_size = b_.size() >= data_start ? b_.size() - data_start : 0;
  for (auto& ti : f->tensors_) {
    if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset) {
      return OutOfRange("tensor '" + ti.name + "': data offset " + std::to_string(ti.offset) + " + size " +
                        std::to_string(ti.n_bytes) + " exceeds the data section size " +
                        std::to_string(data_size) + " (file truncated or offset corrupt)");
    }
    ti.data = b_.data() + data_start + ti.offset;
  }
  return Status();
}

Result<GgufFile> GgufFile::Parse(std::span<const uint8_t> bytes, const OpenOptions& options) {
  GgufFile f;
  f.bytes_ = bytes;
  Parser p(bytes, options);
  Status s = p.Run(&f);
  if (!s.ok()) return s;
  return f;
}

Result<GgufFile> GgufFile::Open(const std::string& path, const OpenOptions& options) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  auto file = std::make_shared<MappedFile>(std::move(mapped).value());
  auto parsed = Parse(file->bytes(), options);
  if (!parsed.ok()) return parsed.status().WithContext("GGUF file '" + path + "'");
  GgufFile f = std::move(parsed).value();
  f.file_ = std::move(file);
  f.path_ = path;
  return f;
}

const Value* GgufFile::Find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
Status Missing(std::string_view key) { return NotFound("metadata key '" + std::string(key) + "' not found"); }
Status Mistyped(std::string_view key, const Value& v, std::string_view want) {
  return InvalidArgument("metadata key '" + std::string(key) + "' has type " +
                         std::string(ValueTypeName(v.type)) + ", expected " + std::string(want));
}
}  // namespace

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(key);
  auto i = v->AsInt();
  if (!i) return Mistyped(key, *v, "an integer");
  return *i;
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(key);
  auto d = v->AsFloat();
  if (!d) return Mistyped(key, *v, "a number");
  return *d;
}

Result<std::string> GgufFile::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(key);
  const std::string* s = v->AsString();
  if (!s) return Mistyped(key, *v, "a string");
  return *s;
}

Result<const Array*> GgufFile::GetArray(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(key);
  const Array* a = v->AsArray();
  if (!a) return Mistyped(key, *v, "an array");
  return a;
}

Result<int64_t> GgufFile::GetIntOr(std::string_view key, int64_t fallback) const {
  if (!Find(key)) return fallback;
  return GetInt(key);
}

Result<double> GgufFile::GetFloatOr(std::string_view key, double fallback) const {
  if (!Find(key)) return fallback;
  return GetFloat(key);
}

}  // namespace spatten::gguf
