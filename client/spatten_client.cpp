// spatten-client: sends one Generate call to a spatten-server and prints the generated text to
// stdout (as it streams with --stream, else once at the end) and the usage and timings to
// stderr. Exit status: 0 on success, 1 on an RPC error (the gRPC status is printed), 2 on a
// usage error.
//
//   spatten-client [--target 127.0.0.1:50051] --prompt T [--chat] [--max-tokens N]
//       [--temperature X] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty X]
//       [--presence-penalty X] [--frequency-penalty X] [--repeat-last-n N] [--seed S]
//       [--stop S]... [--ignore-eos] [--priority P] [--request-id ID] [--timeout-s S] [--stream]
#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "spatten/v1/inference.grpc.pb.h"

namespace {

namespace v1 = spatten::v1;

struct Args {
  std::string target = "127.0.0.1:50051";
  std::string prompt;
  bool chat = false;
  std::optional<uint32_t> max_tokens;
  std::optional<float> temperature, top_p, min_p, repetition_penalty, presence_penalty,
      frequency_penalty;
  std::optional<int32_t> top_k, repeat_last_n;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  int32_t priority = 0;
  std::string request_id;
  double timeout_s = 0;
  bool stream = false;
};

const char* FinishName(v1::FinishReason r) {
  switch (r) {
    case v1::FINISH_REASON_STOP: return "stop";
    case v1::FINISH_REASON_LENGTH: return "length";
    case v1::FINISH_REASON_CANCELLED: return "cancelled";
    case v1::FINISH_REASON_DEADLINE: return "deadline";
    case v1::FINISH_REASON_ERROR: return "error";
    default: return "unspecified";
  }
}

v1::GenerateRequest BuildRequest(const Args& a) {
  v1::GenerateRequest req;
  req.set_request_id(a.request_id);
  if (a.chat) {
    v1::ChatMessage* m = req.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content(a.prompt);
  } else {
    req.set_text(a.prompt);
  }
  v1::SamplingParams* s = req.mutable_sampling();
  if (a.temperature) s->set_temperature(*a.temperature);
  if (a.top_k) s->set_top_k(*a.top_k);
  if (a.top_p) s->set_top_p(*a.top_p);
  if (a.min_p) s->set_min_p(*a.min_p);
  if (a.repetition_penalty) s->set_repetition_penalty(*a.repetition_penalty);
  if (a.presence_penalty) s->set_presence_penalty(*a.presence_penalty);
  if (a.frequency_penalty) s->set_frequency_penalty(*a.frequency_penalty);
  if (a.repeat_last_n) s->set_repeat_last_n(*a.repeat_last_n);
  if (a.seed) s->set_seed(*a.seed);
  if (a.max_tokens) req.set_max_tokens(*a.max_tokens);
  for (const auto& stop : a.stop) req.add_stop(stop);
  req.set_ignore_eos(a.ignore_eos);
  req.set_priority(a.priority);
  return req;
}

int Run(const Args& args) {
  auto channel = grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials());
  auto stub = v1::InferenceService::NewStub(channel);
  grpc::ClientContext context;
  if (args.timeout_s > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(static_cast<int64_t>(args.timeout_s * 1000)));
  }
  const v1::GenerateRequest request = BuildRequest(args);
  auto reader = stub->Generate(&context, request);
  v1::GenerateResponse msg;
  std::string text;
  std::string request_id;
  std::optional<v1::GenerateFinal> final_msg;
  while (reader->Read(&msg)) {
    request_id = msg.request_id();
    if (msg.has_chunk()) {
      if (args.stream) {
        std::fwrite(msg.chunk().text().data(), 1, msg.chunk().text().size(), stdout);
        std::fflush(stdout);
      } else {
        text += msg.chunk().text();
      }
    } else if (msg.has_final()) {
      final_msg = msg.final();
    }
  }
  const grpc::Status status = reader->Finish();
  if (!args.stream) std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %d %s\n", static_cast<int>(status.error_code()),
                 status.error_message().c_str());
    return 1;
  }
  if (!final_msg) {
    std::fprintf(stderr, "error: the stream ended without a final message\n");
    return 1;
  }
  const auto& u = final_msg->usage();
  const auto& t = final_msg->timings();
  std::fprintf(stderr,
               "[%s] finish: %s%s%s; usage: %u prompt + %u completion tokens (%u preemptions); "
               "timings: queue %.1f ms, ttft %.1f ms, tpot %.2f ms (%.1f tok/s), prefill %.1f ms, "
               "total %.1f ms\n",
               request_id.c_str(), FinishName(final_msg->finish_reason()),
               final_msg->stop_string().empty() ? "" : " at ",
               final_msg->stop_string().c_str(), u.prompt_tokens(), u.completion_tokens(),
               u.preemptions(), t.queue_ms(), t.time_to_first_token_ms(),
               t.mean_time_per_output_token_ms(),
               t.mean_time_per_output_token_ms() > 0 ? 1000.0 / t.mean_time_per_output_token_ms() : 0.0,
               t.prefill_ms(), t.total_ms());
  if (final_msg->finish_reason() == v1::FINISH_REASON_ERROR) {
    std::fprintf(stderr, "error: %s\n", final_msg->error_message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"spatten-client: stream a generation from a spatten-server"};
  app.add_option("--target", a.target, "server address host:port");
  app.add_option("--prompt,-p", a.prompt, "prompt text")->required();
  app.add_flag("--chat", a.chat, "send the prompt as a user message (the model's chat template)");
  app.add_option("--max-tokens,-n", a.max_tokens, "tokens to generate at most");
  app.add_option("--temperature,--temp", a.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", a.top_k, "keep the K most likely tokens (0: off)");
  app.add_option("--top-p", a.top_p, "nucleus threshold (1: off)");
  app.add_option("--min-p", a.min_p, "drop tokens with p < min_p * p_max (0: off)");
  app.add_option("--repetition-penalty,--repeat-penalty", a.repetition_penalty,
                 "repetition penalty (1: off)");
  app.add_option("--presence-penalty", a.presence_penalty, "OpenAI presence penalty");
  app.add_option("--frequency-penalty", a.frequency_penalty, "OpenAI frequency penalty");
  app.add_option("--repeat-last-n", a.repeat_last_n, "repetition window (-1: all, 0: off)");
  app.add_option("--seed,-s", a.seed, "sampling seed");
  app.add_option("--stop", a.stop, "stop string (repeatable)")->allow_extra_args(false);
  app.add_flag("--ignore-eos", a.ignore_eos, "keep generating after end-of-sequence tokens");
  app.add_option("--priority", a.priority, "scheduling priority in [-100, 100]");
  app.add_option("--request-id", a.request_id, "request id (default: generated by the server)");
  app.add_option("--timeout-s", a.timeout_s, "call deadline in seconds (0: none)");
  app.add_flag("--stream", a.stream, "print text as it arrives");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return Run(a);
}
