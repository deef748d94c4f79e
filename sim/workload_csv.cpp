// Parsing by header name, so column order may change; see workload_csv.h for the contract.

#include "sim/workload_csv.h"

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace spatten::sim {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '"'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ',') {
      out.push_back(Trim(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

std::optional<int64_t> ParseInteger(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Column sets of the two schemas. Both list only the columns the model reads or validates.
constexpr std::array<std::string_view, 17> kGpt2Columns = {
    "iteration_id", "layer_id", "head_id", "embedding_length_D", "sentence_length_L",
    "key_fetch_num", "quant_key_bit", "quant_query_bit", "auto_requant_thres", "if_requant",
    "auto_requant_incre", "value_fetch_num", "quant_value_bit", "if_accumulate_importance",
    "if_rescale_previous_importance", "if_topk", "topk"};
constexpr std::array<std::string_view, 15> kBertColumns = {
    "layer_id", "head_id", "embedding_length_D", "sentence_length_L",
    "key_value_query_fetch_num", "quant_key_bit", "quant_value_bit", "quant_query_bit",
    "auto_requant_thres", "if_requant", "auto_requant_incre", "auto_requant_num",
    "if_accumulate_importance", "if_topk", "topk"};

// One data line being decoded; every accessor reports errors with the line and column.
class RowReader {
 public:
  RowReader(const std::vector<std::string_view>& fields, const std::vector<std::string>& header,
            int line)
      : fields_(fields), header_(header), line_(line) {}

  Status Error(std::string_view column, std::string_view value, std::string_view what) const {
    return InvalidArgument("workload line " + std::to_string(line_) + ": column '" +
                           std::string(column) + "': '" + std::string(value) + "' " +
                           std::string(what));
  }

  Result<std::string_view> Field(std::string_view column) const {
    for (size_t i = 0; i < header_.size(); ++i) {
      if (header_[i] == column) {
        if (i >= fields_.size())
          return InvalidArgument("workload line " + std::to_string(line_) + ": has " +
                                 std::to_string(fields_.size()) + " fields, column '" +
                                 std::string(column) + "' is missing");
        return fields_[i];
      }
    }
    return Internal("column '" + std::string(column) + "' not in header");
  }

  // An integer in [lo, hi]; `allow_float` accepts "64.0" (the traces write D as a float).
  Result<int64_t> Int(std::string_view column, int64_t lo, int64_t hi, bool allow_float = false) const {
    SPATTEN_ASSIGN_OR_RETURN(std::string_view s, Field(column));
    std::optional<int64_t> v = ParseInteger(s);
    if (!v && allow_float) {
      double d = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(d) && d == std::floor(d) &&
          std::fabs(d) < 1e15)
        v = static_cast<int64_t>(d);
    }
    if (!v) return Error(column, s, "is not an integer");
    if (*v < lo && *v < 0) return Error(column, s, "is negative");
    if (*v < lo || *v > hi)
      return Error(column, s, "is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return *v;
  }

  Result<bool> Bool(std::string_view column) const {
    SPATTEN_ASSIGN_OR_RETURN(std::string_view s, Field(column));
    if (s == "True" || s == "true" || s == "1") return true;
    if (s == "False" || s == "false" || s == "0") return false;
    return Error(column, s, "is not a boolean (True/False)");
  }

  Status Real(std::string_view column) const {
    SPATTEN_ASSIGN_OR_RETURN(std::string_view s, Field(column));
    double d = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(d))
      return Error(column, s, "is not a number");
    return Status::Ok();
  }

  // Quantization widths the authors' datapath supports (-1 = unquantized).
  Result<int32_t> Bits(std::string_view column) const {
    SPATTEN_ASSIGN_OR_RETURN(int64_t b, Int(column, -1, 32));
    if (b == 0 || b < -1) return Error(column, std::to_string(b), "is not a bit width");
    return static_cast<int32_t>(b);
  }

 private:
  const std::vector<std::string_view>& fields_;
  const std::vector<std::string>& header_;
  int line_;
};

Status CheckKVBits(const RowReader& r, std::string_view column, int32_t bits) {
  switch (bits) {
    case -1: case 4: case 6: case 8: case 10: case 12: return Status::Ok();
    default: return r.Error(column, std::to_string(bits), "is not a supported width (-1, 4, 6, 8, 10, 12)");
  }
}

// The quantization columns both schemas share: K/Q/V bits (checked against what the
// authors' mapping supports), the requant threshold and increment, and the LSB decision.
Status ReadQuantization(const RowReader& r, AttentionRow* out) {
  AttentionRow& row = *out;
  SPATTEN_ASSIGN_OR_RETURN(row.key_bits, r.Bits("quant_key_bit"));
  SPATTEN_ASSIGN_OR_RETURN(row.value_bits, r.Bits("quant_value_bit"));
  SPATTEN_ASSIGN_OR_RETURN(row.query_bits, r.Bits("quant_query_bit"));
  SPATTEN_RETURN_IF_ERROR(CheckKVBits(r, "quant_key_bit", row.key_bits));
  SPATTEN_RETURN_IF_ERROR(CheckKVBits(r, "quant_value_bit", row.value_bits));
  SPATTEN_RETURN_IF_ERROR(r.Real("auto_requant_thres"));
  SPATTEN_RETURN_IF_ERROR(r.Real("auto_requant_incre"));
  SPATTEN_ASSIGN_OR_RETURN(row.requant, r.Bool("if_requant"));
  return Status::Ok();
}

Result<AttentionRow> ReadGpt2Row(const RowReader& r, int line) {
  AttentionRow row;
  row.line = line;
  SPATTEN_ASSIGN_OR_RETURN(int64_t it, r.Int("iteration_id", 0, kMaxIndex));
  SPATTEN_ASSIGN_OR_RETURN(int64_t layer, r.Int("layer_id", 0, kMaxIndex));
  SPATTEN_ASSIGN_OR_RETURN(int64_t head, r.Int("head_id", 0, kMaxIndex));
  SPATTEN_ASSIGN_OR_RETURN(int64_t d, r.Int("embedding_length_D", 1, kMaxHeadDim, true));
  SPATTEN_ASSIGN_OR_RETURN(int64_t len, r.Int("sentence_length_L", 1, kMaxSentenceLength));
  SPATTEN_ASSIGN_OR_RETURN(int64_t keys, r.Int("key_fetch_num", 0, len));
  SPATTEN_ASSIGN_OR_RETURN(int64_t values, r.Int("value_fetch_num", 0, keys));
  SPATTEN_RETURN_IF_ERROR(ReadQuantization(r, &row));
  SPATTEN_ASSIGN_OR_RETURN(bool acc, r.Bool("if_accumulate_importance"));
  SPATTEN_ASSIGN_OR_RETURN(bool rescale, r.Bool("if_rescale_previous_importance"));
  (void)acc;  // importance bookkeeping rides on the softmax pass; not timed separately
  (void)rescale;
  SPATTEN_ASSIGN_OR_RETURN(row.token_topk, r.Bool("if_topk"));
  SPATTEN_ASSIGN_OR_RETURN(int64_t keep, r.Int("topk", -1, len));
  if (row.token_topk && keep < 0) return r.Error("topk", std::to_string(keep), "must be >= 0 when if_topk is True");
  row.iteration = static_cast<int32_t>(it);
  row.layer = static_cast<int32_t>(layer);
  row.head = static_cast<int32_t>(head);
  row.head_dim = static_cast<int32_t>(d);
  row.sentence_length = static_cast<int32_t>(len);
  row.queries = 1;
  row.key_fetch = static_cast<int32_t>(keys);
  row.value_fetch = static_cast<int32_t>(values);
  row.requant_queries = row.requant ? 1 : 0;
  row.token_topk_keep = row.token_topk ? static_cast<int32_t>(keep) : 0;
  return row;
}

Result<AttentionRow> ReadBertRow(const RowReader& r, int line) {
  AttentionRow row;
  row.line = line;
  SPATTEN_ASSIGN_OR_RETURN(int64_t layer, r.Int("layer_id", 0, kMaxIndex));
  SPATTEN_ASSIGN_OR_RETURN(int64_t head, r.Int("head_id", 0, kMaxIndex));
  SPATTEN_ASSIGN_OR_RETURN(int64_t d, r.Int("embedding_length_D", 1, kMaxHeadDim, true));
  SPATTEN_ASSIGN_OR_RETURN(int64_t len, r.Int("sentence_length_L", 1, kMaxSentenceLength));
  SPATTEN_ASSIGN_OR_RETURN(int64_t n, r.Int("key_value_query_fetch_num", 0, len));
  SPATTEN_RETURN_IF_ERROR(ReadQuantization(r, &row));
  SPATTEN_ASSIGN_OR_RETURN(int64_t requant_num, r.Int("auto_requant_num", -1, n));
  SPATTEN_ASSIGN_OR_RETURN(bool acc, r.Bool("if_accumulate_importance"));
  (void)acc;
  SPATTEN_ASSIGN_OR_RETURN(row.token_topk, r.Bool("if_topk"));
  SPATTEN_ASSIGN_OR_RETURN(int64_t keep, r.Int("topk", -1, len));
  if (row.token_topk && keep < 0) return r.Error("topk", std::to_string(keep), "must be >= 0 when if_topk is True");
  row.layer = static_cast<int32_t>(layer);
  row.head = static_cast<int32_t>(head);
  row.head_dim = static_cast<int32_t>(d);
  row.sentence_length = static_cast<int32_t>(len);
  row.queries = static_cast<int32_t>(n);
  row.key_fetch = static_cast<int32_t>(n);
  row.value_fetch = static_cast<int32_t>(n);
  row.requant_queries = row.requant ? static_cast<int32_t>(requant_num < 0 ? n : requant_num) : 0;
  row.token_topk_keep = row.token_topk ? static_cast<int32_t>(keep) : 0;
  return row;
}

}  // namespace

Result<Workload> ParseWorkloadCsv(std::string_view text, std::string name) {
  Workload w;
  w.name = std::move(name);
  std::vector<std::string> header;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<std::string_view> fields = SplitFields(line);
    if (header.empty()) {
      if (Trim(line).empty()) continue;
      for (std::string_view f : fields) header.emplace_back(f);
      auto has = [&](std::string_view c) {
        for (const std::string& h : header) if (h == c) return true;
        return false;
      };
      const bool gpt2 = has("iteration_id") || has("key_fetch_num");
      w.format = gpt2 ? WorkloadFormat::kGpt2 : WorkloadFormat::kBert;
      if (!gpt2 && !has("key_value_query_fetch_num"))
        return InvalidArgument("workload line " + std::to_string(line_no) +
                               ": header names neither the GPT-2 (17-column) nor the BERT (15-column) schema");
      auto check = [&](const auto& columns) -> Status {
        for (std::string_view c : columns)
          if (!has(c))
            return InvalidArgument("workload line " + std::to_string(line_no) + ": header lacks column '" +
                                   std::string(c) + "'");
        return Status::Ok();
      };
      SPATTEN_RETURN_IF_ERROR(gpt2 ? check(kGpt2Columns) : check(kBertColumns));
      continue;
    }
    // The authors' files end with the configuration's name; blank lines carry nothing.
    if (fields.empty() || !ParseInteger(fields[0])) continue;
    if (static_cast<int64_t>(w.rows.size()) >= kMaxWorkloadRows)
      return InvalidArgument("workload line " + std::to_string(line_no) + ": more than " +
                             std::to_string(kMaxWorkloadRows) + " rows");
    if (fields.size() < header.size())
      return InvalidArgument("workload line " + std::to_string(line_no) + ": has " + std::to_string(fields.size()) +
                             " fields, the header has " + std::to_string(header.size()));
    RowReader reader(fields, header, line_no);
    Result<AttentionRow> row = w.format == WorkloadFormat::kGpt2 ? ReadGpt2Row(reader, line_no)
                                                                  : ReadBertRow(reader, line_no);
    if (!row.ok()) return row.status();
    w.rows.push_back(*row);
  }
  if (header.empty()) return InvalidArgument("workload: empty file (no header line)");
  if (w.rows.empty()) return InvalidArgument("workload: no data rows after the header");
  return w;
}

Result<Workload> LoadWorkloadCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("workload file '" + path + "' cannot be opened");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return IoError("workload file '" + path + "': cannot determine its size");
  if (size > kMaxWorkloadFileBytes)
    return InvalidArgument("workload file '" + path + "' is larger than " + std::to_string(kMaxWorkloadFileBytes) +
                           " bytes");
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), size)) return IoError("workload file '" + path + "': read failed");
  Result<Workload> w = ParseWorkloadCsv(text, path);
  if (!w.ok()) return w.status().WithContext(path);
  return w;
}

}  // namespace spatten::sim
