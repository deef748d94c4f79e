// SequenceKvCache: the keys and values of ONE sequence, f32, contiguous per layer.
//
// Layout per layer: K and V are [capacity][kv_dim] (kv_dim = n_head_kv * head_dim), slot-major,
// so one KV head's keys form a strided run of rows (stride kv_dim) that the attention kernel
// reads directly. Each slot also records the RoPE position of its token: positions and slots
// are distinct notions so that token pruning (SpAtten) can later drop slots without changing
// the positions of the survivors.
//
// Storage grows geometrically on demand up to `max_slots` (the model's training context by
// default), so a short chat does not pay for an 8k-token cache. Not thread-safe: one sequence
// is advanced by one forward call at a time (the forward pass itself may use many threads,
// each writing distinct slots).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace spatten::model {

class SequenceKvCache {
 public:
  SequenceKvCache(size_t n_layer, size_t kv_dim, size_t max_slots);

  size_t size() const { return positions_.size(); }  // slots in use
  size_t max_slots() const { return max_slots_; }
  size_t kv_dim() const { return kv_dim_; }
  size_t n_layer() const { return k_.size(); }
  // Position that the next appended token would naturally take (last position + 1, or 0).
  int64_t next_position() const { return positions_.empty() ? 0 : positions_.back() + 1; }
  const std::vector<int64_t>& positions() const { return positions_; }

  // Appends n slots with the given positions; their K/V rows are left for the caller to fill.
  // ResourceExhausted when size() + n would exceed max_slots().
  Status Append(const int64_t* positions, size_t n);
  // Drops slots [new_size, size()) (e.g. to undo a failed step). new_size <= size().
  void Truncate(size_t new_size);
  void Clear() { Truncate(0); }

  // Row of slot `slot` in layer `layer`: [kv_dim] floats.
  float* K(size_t layer, size_t slot) { return k_[layer].data() + slot * kv_dim_; }
  float* V(size_t layer, size_t slot) { return v_[layer].data() + slot * kv_dim_; }
  const float* K(size_t layer, size_t slot) const { return k_[layer].data() + slot * kv_dim_; }
  const float* V(size_t layer, size_t slot) const { return v_[layer].data() + slot * kv_dim_; }

  // Bytes currently allocated for K and V.
  size_t allocated_bytes() const;

 private:
  void Grow(size_t min_slots);

  size_t kv_dim_;
  size_t max_slots_;
  size_t capacity_ = 0;                // slots allocated per layer
  std::vector<std::vector<float>> k_;  // [n_layer][capacity * kv_dim]
  std::vector<std::vector<float>> v_;
  std::vector<int64_t> positions_;     // [size()]
};

}  // namespace spatten::model
