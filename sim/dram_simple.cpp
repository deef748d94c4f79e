// "simple" DRAM: the whole memory system as one pipe of aggregate bandwidth with a fixed
// access latency. Streams are served in arrival order without row-buffer effects, so it
// never beats the bandwidth bound and runs in O(1) per stream.

#include <algorithm>
#include <cmath>

#include "sim/dram.h"
#include "sim/dram_hbm2.h"

namespace spatten::sim {
namespace {

class SimpleDram final : public DramModel {
 public:
  explicit SimpleDram(const SimConfig& c)
      : bytes_per_cycle_(c.PeakDramBytesPerCycle()), latency_(static_cast<uint64_t>(c.dram_simple_latency)),
        transaction_bytes_(static_cast<uint64_t>(c.hbm_transaction_bytes)) {}

  uint64_t Read(uint64_t arrival, uint64_t /*address*/, uint64_t bytes, Traffic kind) override {
    stats_.bytes[static_cast<int>(kind)] += bytes;
    stats_.transactions += (bytes + transaction_bytes_ - 1) / transaction_bytes_;
    // Fractional bus time is carried over so that many small streams add up exactly.
    const double start = std::max(static_cast<double>(arrival), bus_free_);
    bus_free_ = start + static_cast<double>(bytes) / bytes_per_cycle_;
    return static_cast<uint64_t>(std::ceil(bus_free_)) + latency_;
  }
  const DramStats& stats() const override { return stats_; }
  double PeakBytesPerCycle() const override { return bytes_per_cycle_; }

 private:
  double bytes_per_cycle_;
  uint64_t latency_;
  uint64_t transaction_bytes_;
  double bus_free_ = 0;
  DramStats stats_;
};

}  // namespace

Registry<DramModel>& DramRegistry() {
  static Registry<DramModel>* registry = [] {
    auto* r = new Registry<DramModel>();
    r->Register("simple", [](const SimConfig& c) { return std::make_unique<SimpleDram>(c); });
    r->Register("hbm2", [](const SimConfig& c) { return std::make_unique<Hbm2Dram>(c); });
    return r;
  }();
  return *registry;
}

Result<std::unique_ptr<DramModel>> CreateDram(const SimConfig& config) {
  SPATTEN_RETURN_IF_ERROR(ValidateSimConfig(config));
  return DramRegistry().Create(config.dram, config);
}

}  // namespace spatten::sim
