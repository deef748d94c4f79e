// Bit mapping, rounding, fused pairs and the dense baseline; see lowering.h.

#include "sim/lowering.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace spatten::sim {
namespace {

// A bound on simulated work (query x key products over the whole trace) so that a hostile
// file cannot make a run take hours: ~1e13 products is far beyond any published workload.
constexpr double kMaxQueryKeyProducts = 1e13;

uint64_t RoundUp(uint64_t n, uint64_t m) { return (n + m - 1) / m * m; }
uint64_t PlaneBytes(uint64_t rows, int64_t head_dim, int64_t bits) {
  return (rows * static_cast<uint64_t>(head_dim) * static_cast<uint64_t>(bits) + 7) / 8;
}

struct MappedBits {
  int key = 8;
  int value = 8;
  bool force_lsb = false;
};

MappedBits MapBits(const AttentionRow& r, WorkloadFormat format) {
  MappedBits m;
  if (format == WorkloadFormat::kBert) {
    // The authors' BERT model keeps at most 8-bit planes and has no LSB decision of its own.
    m.key = (r.key_bits == 4) ? 4 : 8;
    m.value = (r.value_bits == 4) ? 4 : 8;
    return m;
  }
  m.key = r.key_bits;
  if (r.key_bits == -1 || r.key_bits == 10 || r.key_bits == 12) {
    m.key = 8;
    m.force_lsb = true;
  }
  m.value = (r.value_bits == -1 || r.value_bits == 10 || r.value_bits == 12) ? 8 : r.value_bits;
  return m;
}

void AddWork(LoweredWorkload& out, const AttentionJob& j) {
  const uint64_t d = static_cast<uint64_t>(j.head_dim), h = static_cast<uint64_t>(j.heads);
  out.qk_mults += h * (j.queries + (j.lsb_upfront ? 0 : j.lsb_queries)) * j.keys * d;
  out.pv_mults += h * j.queries * j.values * d;
}

Status CheckWork(const Workload& w) {
  double products = 0;
  for (const AttentionRow& r : w.rows)
    products += static_cast<double>(r.queries) * static_cast<double>(r.sentence_length) * r.head_dim;
  if (products > kMaxQueryKeyProducts)
    return InvalidArgument("workload '" + w.name + "' asks for " + std::to_string(products) +
                           " query-key multiplications, above the simulator's bound of 1e13");
  return Status::Ok();
}

uint64_t Slot(int32_t layer, int32_t head) { return (static_cast<uint64_t>(layer) << 20) + static_cast<uint64_t>(head); }

LoweredWorkload LowerSpAtten(const Workload& w, const SimConfig& c) {
  LoweredWorkload out;
  const auto round = static_cast<uint64_t>(c.fetch_round);
  const bool can_fuse = c.fuse_6bit_pairs && w.format == WorkloadFormat::kGpt2;
  bool open_pair = false;  // the last job is a lone 6-bit head waiting for a partner
  for (const AttentionRow& r : w.rows) {
    const MappedBits bits = MapBits(r, w.format);
    AttentionJob j;
    j.iteration = r.iteration;
    j.layer = r.layer;
    j.head_dim = r.head_dim;
    j.queries = static_cast<uint64_t>(r.queries);
    j.keys = RoundUp(static_cast<uint64_t>(r.key_fetch), round);
    j.values = RoundUp(static_cast<uint64_t>(r.value_fetch), round);
    j.lsb_queries = bits.force_lsb ? j.queries : static_cast<uint64_t>(std::max(0, r.requant_queries));
    j.key_msb_bytes = PlaneBytes(j.keys, r.head_dim, bits.key);
    j.key_lsb_bytes = j.lsb_queries > 0 ? PlaneBytes(j.keys, r.head_dim, c.lsb_bits) : 0;
    j.value_bytes = PlaneBytes(j.values, r.head_dim, bits.value);
    j.local_v_topk = j.values < j.keys;
    if (r.token_topk) {
      j.token_topk_candidates = static_cast<uint64_t>(r.key_fetch);
      j.token_topk_keep = static_cast<uint64_t>(r.token_topk_keep);
    }
    j.address_slot = Slot(r.layer, r.head);

    const bool six = can_fuse && bits.key == 6 && bits.value == 6;
    if (six && open_pair) {
      AttentionJob& p = out.jobs.back();
      if (p.iteration == j.iteration && p.layer == j.layer && p.head_dim == j.head_dim) {
        // The pair shares buffer lines: per-head counts are the larger of the two, bytes add.
        p.heads = 2;
        p.keys = std::max(p.keys, j.keys);
        p.values = std::max(p.values, j.values);
        p.lsb_queries = std::max(p.lsb_queries, j.lsb_queries);
        p.key_msb_bytes += j.key_msb_bytes;
        p.key_lsb_bytes += j.key_lsb_bytes;
        p.value_bytes += j.value_bytes;
        p.local_v_topk = p.local_v_topk || j.local_v_topk;
        if (j.token_topk_candidates > 0) {
          p.token_topk_candidates = j.token_topk_candidates;
          p.token_topk_keep = j.token_topk_keep;
        }
        open_pair = false;
        continue;
      }
    }
    out.jobs.push_back(j);
    open_pair = six;
  }
  for (const AttentionJob& j : out.jobs) AddWork(out, j);
  return out;
}

LoweredWorkload LowerDense(const Workload& w, const SimConfig& c) {
  // Groups in order of first appearance; the head count of the unpruned model is the largest
  // group (pruned heads are missing rows, and early layers are never head-pruned).
  std::vector<std::pair<int32_t, int32_t>> order;
  std::map<std::pair<int32_t, int32_t>, std::pair<size_t, const AttentionRow*>> groups;  // count, longest row
  size_t max_heads = 0;
  for (const AttentionRow& r : w.rows) {
    auto key = std::make_pair(r.iteration, r.layer);
    auto [it, inserted] = groups.try_emplace(key, 0, &r);
    if (inserted) order.push_back(key);
    ++it->second.first;
    if (r.sentence_length > it->second.second->sentence_length) it->second.second = &r;
    max_heads = std::max(max_heads, it->second.first);
  }
  LoweredWorkload out;
  const auto round = static_cast<uint64_t>(c.fetch_round);
  for (const auto& key : order) {
    const AttentionRow& r = *groups[key].second;
    const uint64_t len = RoundUp(static_cast<uint64_t>(r.sentence_length), round);
    for (size_t h = 0; h < max_heads; ++h) {
      AttentionJob j;
      j.iteration = r.iteration;
      j.layer = r.layer;
      j.head_dim = r.head_dim;
      j.queries = w.format == WorkloadFormat::kBert ? static_cast<uint64_t>(r.sentence_length) : 1;
      j.keys = len;
      j.values = len;
      j.lsb_queries = j.queries;
      j.lsb_upfront = true;
      j.key_msb_bytes = PlaneBytes(len, r.head_dim, 8);
      j.key_lsb_bytes = PlaneBytes(len, r.head_dim, c.lsb_bits);
      j.value_bytes = PlaneBytes(len, r.head_dim, 8);
      j.address_slot = Slot(r.layer, static_cast<int32_t>(h));
      out.jobs.push_back(j);
    }
  }
  for (const AttentionJob& j : out.jobs) AddWork(out, j);
  return out;
}

}  // namespace

Result<LoweredWorkload> Lower(const Workload& workload, const SimConfig& config, LoweringMode mode) {
  if (workload.rows.empty()) return InvalidArgument("workload '" + workload.name + "' has no rows");
  SPATTEN_RETURN_IF_ERROR(CheckWork(workload));
  return mode == LoweringMode::kDense ? LowerDense(workload, config) : LowerSpAtten(workload, config);
}

}  // namespace spatten::sim
