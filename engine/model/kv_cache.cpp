// SequenceKvCache: geometric growth of per-layer K/V arrays.
#include "engine/model/kv_cache.h"

#include <algorithm>
#include <string>

namespace spatten::model {

SequenceKvCache::SequenceKvCache(size_t n_layer, size_t kv_dim, size_t max_slots)
    : kv_dim_(kv_dim), max_slots_(max_slots), k_(n_layer), v_(n_layer) {}

Status SequenceKvCache::Append(const int64_t* positions, size_t n) {
  if (n > max_slots_ - size()) {
    return ResourceExhausted("KV cache full: " + std::to_string(size()) + " + " +
                             std::to_string(n) + " tokens exceed the limit of " +
                             std::to_string(max_slots_));
  }
  if (size() + n > capacity_) Grow(size() + n);
  positions_.insert(positions_.end(), positions, positions + n);
  return Status::Ok();
}

void SequenceKvCache::Truncate(size_t new_size) {
  if (new_size < positions_.size()) positions_.resize(new_size);
}

void SequenceKvCache::Grow(size_t min_slots) {
  size_t cap = std::max<size_t>(capacity_, 64);
  while (cap < min_slots) cap *= 2;
  cap = std::min(cap, max_slots_);
  for (auto& layer : k_) layer.resize(cap * kv_dim_);
  for (auto& layer : v_) layer.resize(cap * kv_dim_);
  capacity_ = cap;
}

size_t SequenceKvCache::allocated_bytes() const {
  return 2 * k_.size() * capacity_ * kv_dim_ * sizeof(float);
}

}  // namespace spatten::model
