// proto <-> simulator conversion for the Simulate RPC and for the projection in Generate's
// final message. Runs on the calling thread (a gRPC thread for Simulate, the engine thread for
// Generate's projection): every input is bounded so one request cannot pin a thread for long.
//
// Bounds: workload_csv at most kMaxWorkloadCsvBytes (RESOURCE_EXHAUSTED beyond); a workload
// (CSV or description) at most kMaxSimulateRows attention rows and kMaxSimulateKeyRows
// key rows summed over its rows (sum of sentence_length), RESOURCE_EXHAUSTED beyond.
//
// Generate's projection runs on a background thread (ProjectGenerationAsync). Until live pruning traces exist (the pruning issue), a request's
// trace is the dense one of its real shape: prompt_tokens context, completion_tokens decode
// steps, on the served model's layers, heads and head dim (sim/dense_trace.h). Its
// measured_engine_ms is the request's wall time (arrival to final message).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/simulator.h"
#include "spatten/v1/inference.pb.h"

namespace spatten::server {

// gRPC's default receive limit is 4 MiB per message (the server keeps it); the CSV gets that
// less room for the other fields. ~45,000 rows of the authors' format: beyond the work bounds
// below for realistic sentence lengths anyway.
inline constexpr uint64_t kMaxWorkloadCsvBytes = (uint64_t{4} << 20) - (uint64_t{64} << 10);
inline constexpr int64_t kMaxSimulateRows = 200'000;
inline constexpr int64_t kMaxSimulateKeyRows = int64_t{16} << 20;  // ~1 s on one core

// The served model's attention shape (defaults for ModelWorkload's absent dims).
struct ModelDims {
  int32_t layers = 0;
  int32_t heads = 0;
  int32_t head_dim = 0;
};

// Presets accepted in SimulateRequest.config ("" = "full").
std::vector<std::string> SimulationPresets();

// Runs one SimulateRequest. InvalidArgument for malformed input (CSV errors name the line),
// an unknown preset or override key; ResourceExhausted beyond the bounds above.
Result<v1::SimulationResult> RunSimulateRequest(const v1::SimulateRequest& request, const ModelDims& served);

// The projection for a finished generation (see the file comment). `measured_ms` goes into
// measured_engine_ms. Fails (and the caller leaves the field absent) beyond the bounds.
Result<v1::SimulationResult> ProjectGeneration(const ModelDims& served, uint32_t prompt_tokens,
                                               uint32_t completion_tokens, double measured_ms);

// ProjectGeneration on the projection thread (one per process, started on first use), so a
// long request's projection (up to ~1 s) never stalls the engine thread. `done` runs on that
// thread with the result. Returns false, without calling `done`, when kMaxPendingProjections
// are already queued (the caller then sends its final message without a projection).
inline constexpr size_t kMaxPendingProjections = 64;
bool ProjectGenerationAsync(const ModelDims& served, uint32_t prompt_tokens, uint32_t completion_tokens,
                            double measured_ms, std::function<void(Result<v1::SimulationResult>)> done);

// A report as a SimulationResult; `per_layer` fills `layers`.
void ToProto(const sim::SimulationReport& report, bool per_layer, v1::SimulationResult* out);

}  // namespace spatten::server
