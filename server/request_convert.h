// Proto <-> engine conversion: validates a GenerateRequest / TokenizeRequest against the served
// model and the server's limits, tokenizes its prompt, and maps statuses to gRPC.
//
// Every rejection is InvalidArgument whose message starts with the field's path, as the proto
// contract promises ("sampling.top_p: must be in (0, 1], got 1.5"); nothing is clamped. The
// functions are pure (no engine state) and thread-safe: they run on gRPC callback threads.
// Tokenizing there costs CPU on that thread but never waits for the engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/status.h"
#include "server/engine_loop.h"
#include "spatten/v1/inference.pb.h"

namespace spatten::server {

// Limits the server applies; the same values go out in ModelInfo.limits.
struct RequestLimits {
  int64_t max_context_tokens = 0;
  int32_t default_max_tokens = 256;
  int32_t max_stop_strings = 16;
  int32_t max_stop_string_bytes = 256;
  int32_t max_logprobs = 20;
  int32_t max_logit_bias_entries = 1024;
};

// Pruning policies the API knows, and those this server runs (ModelInfo.supported).
const std::vector<std::string>& KnownPruningPolicies();
const std::vector<std::string>& SupportedPruningPolicies();

// A validated engine request, or InvalidArgument naming the field (prompt too long for the
// context included).
Result<GenerationRequest> ConvertGenerateRequest(const v1::GenerateRequest& request,
                                                 const ServedModel& model,
                                                 const RequestLimits& limits);

// Validates the pruning message (field ranges, fields the policy does not use, policy names).
Status ValidatePruning(const v1::PruningConfig& pruning);

// Token ids exactly as Generate would compute them for the same input.
Result<std::vector<int32_t>> TokenizeForRequest(const v1::TokenizeRequest& request,
                                                const ServedModel& model);

// "req-" + 16 hex digits, unique per process (counter mixed with the start time).
std::string NewRequestId();

grpc::Status ToGrpcStatus(const Status& status);

}  // namespace spatten::server
