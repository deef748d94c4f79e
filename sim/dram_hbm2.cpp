// HBM2 timing model; see dram_hbm2.h for what is and is not modelled.

#include "sim/dram_hbm2.h"

#include <algorithm>
#include <bit>

namespace spatten::sim {
namespace {

int Log2(int64_t x) { return std::countr_zero(static_cast<uint64_t>(x)); }

}  // namespace

Hbm2Dram::Hbm2Dram(const SimConfig& config)
    : config_(config),
      channel_bits_(Log2(config.dram_channels)),
      column_bits_(Log2(config.hbm_row_bytes / config.hbm_transaction_bytes)),
      pc_bits_(Log2(config.hbm_pseudo_channels)),
      bank_bits_(Log2(config.hbm_banks)),
      tx_bits_(Log2(config.hbm_transaction_bytes)),
      // Double data rate: BL beats take BL / 2 command clocks on the data bus.
      burst_cycles_(static_cast<uint64_t>(std::max<int64_t>(1, config.hbm_BL / 2))) {
  channels_.resize(static_cast<size_t>(config.dram_channels));
  for (auto& ch : channels_) {
    ch.resize(static_cast<size_t>(config.hbm_pseudo_channels));
    for (auto& pc : ch) pc.banks.resize(static_cast<size_t>(config.hbm_banks));
  }
  scratch_.resize(channels_.size());
}

double Hbm2Dram::PeakBytesPerCycle() const {
  return static_cast<double>(config_.dram_channels * config_.hbm_pseudo_channels * config_.hbm_transaction_bytes) /
         static_cast<double>(burst_cycles_);
}

uint64_t Hbm2Dram::Address(uint64_t channel, uint64_t pseudo_channel, uint64_t bank, uint64_t row,
                           uint64_t column) const {
  uint64_t a = row;
  a = (a << bank_bits_) | bank;
  a = (a << pc_bits_) | pseudo_channel;
  a = (a << column_bits_) | column;
  a = (a << channel_bits_) | channel;
  return a << tx_bits_;
}

uint64_t Hbm2Dram::Read(uint64_t arrival, uint64_t address, uint64_t bytes, Traffic kind) {
  const Request r{arrival, address, bytes, kind};
  uint64_t done = arrival;
  ReadBatch(std::span<const Request>(&r, 1), std::span<uint64_t>(&done, 1));
  return done;
}

void Hbm2Dram::ReadBatch(std::span<const Request> requests, std::span<uint64_t> done) {
  for (auto& list : scratch_) list.clear();
  const uint64_t tx_bytes = uint64_t{1} << tx_bits_;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    done[i] = r.arrival;
    if (r.bytes == 0) continue;
    stats_.bytes[static_cast<int>(r.kind)] += r.bytes;
    const uint64_t first = r.address >> tx_bits_;
    const uint64_t last = (r.address + r.bytes - 1) >> tx_bits_;
    stats_.transactions += last - first + 1;
    (void)tx_bytes;
    for (uint64_t tx = first; tx <= last; ++tx) {
      uint64_t rest = tx;
      const uint64_t ch = rest & ((uint64_t{1} << channel_bits_) - 1);
      rest >>= channel_bits_;
      rest >>= column_bits_;
      const auto pc = static_cast<uint32_t>(rest & ((uint64_t{1} << pc_bits_) - 1));
      rest >>= pc_bits_;
      const auto bank = static_cast<uint32_t>(rest & ((uint64_t{1} << bank_bits_) - 1));
      const auto row = static_cast<int64_t>(rest >> bank_bits_);
      std::vector<Chunk>& list = scratch_[ch];
      if (!list.empty() && list.back().request == i && list.back().pseudo_channel == pc && list.back().bank == bank &&
          list.back().row == row) {
        ++list.back().transactions;
      } else {
        list.push_back(Chunk{static_cast<uint32_t>(i), pc, bank, row, 1});
      }
    }
  }
  for (size_t ch = 0; ch < scratch_.size(); ++ch)
    if (!scratch_[ch].empty()) ServeChannel(ch, scratch_[ch], requests, done);
}

// FR-FCFS over a window of `hbm_queue_depth` transactions: the oldest row hit in the window
// goes first, else the oldest request. A chunk enters the window when the chunks ahead of it
// have left; it cannot start before it entered (this is what limits ACT look-ahead).
void Hbm2Dram::ServeChannel(uint64_t channel, std::vector<Chunk>& chunks, std::span<const Request> requests,
                            std::span<uint64_t> done) {
  const auto depth = static_cast<uint64_t>(config_.hbm_queue_depth);
  const auto tCL = static_cast<uint64_t>(config_.hbm_tCL), tRCD = static_cast<uint64_t>(config_.hbm_tRCD),
             tRP = static_cast<uint64_t>(config_.hbm_tRP), tRAS = static_cast<uint64_t>(config_.hbm_tRAS),
             tRRD = static_cast<uint64_t>(config_.hbm_tRRD);
  std::vector<PseudoChannel>& pcs = channels_[channel];

  struct Waiting { size_t chunk; uint64_t entered; };
  std::vector<Waiting> window;
  size_t next = 0;
  uint64_t window_tx = 0;
  uint64_t last_issue = 0;
  auto admit = [&] {
    while (next < chunks.size() && (window.empty() || window_tx + chunks[next].transactions <= depth)) {
      window.push_back({next, std::max(requests[chunks[next].request].arrival, last_issue)});
      window_tx += chunks[next].transactions;
      ++next;
    }
  };
  admit();
  while (!window.empty()) {
    size_t pick = 0;
    for (size_t w = 0; w < window.size(); ++w) {
      const Chunk& c = chunks[window[w].chunk];
      if (pcs[c.pseudo_channel].banks[c.bank].open_row == c.row) { pick = w; break; }
    }
    const Chunk& c = chunks[window[pick].chunk];
    const uint64_t t0 = window[pick].entered;
    PseudoChannel& pc = pcs[c.pseudo_channel];
    Bank& bank = pc.banks[c.bank];
    uint64_t column_cmd;
    if (bank.open_row == c.row) {
      column_cmd = std::max(t0, bank.ready);
      stats_.row_hits += c.transactions;
    } else {
      uint64_t activate = t0;
      if (bank.open_row >= 0) {
        const uint64_t precharge = std::max({t0, bank.activated + tRAS, bank.ready});
        activate = precharge + tRP;
      }
      if (pc.any_activate) activate = std::max(activate, pc.last_activate + tRRD);
      bank.activated = activate;
      bank.open_row = c.row;
      pc.last_activate = activate;
      pc.any_activate = true;
      column_cmd = activate + tRCD;
      stats_.row_misses += 1;
      stats_.row_hits += c.transactions - 1;
    }
    const uint64_t data_start = std::max(column_cmd + tCL, pc.bus_free);
    const uint64_t data_end = data_start + c.transactions * burst_cycles_;
    pc.bus_free = data_end;
    // Column commands of this chunk are spaced by the burst; the next one to this bank follows.
    bank.ready = data_end - tCL;
    done[c.request] = std::max(done[c.request], data_end);
    last_issue = std::max(last_issue, column_cmd);
    window_tx -= c.transactions;
    window.erase(window.begin() + static_cast<std::ptrdiff_t>(pick));
    admit();
  }
}

}  // namespace spatten::sim
