// End-to-end tests of the gRPC server over loopback with the real model (SPATTEN_MODEL; the
// tests skip when it is unset): streaming, greedy parity with the engine run directly,
// batching invariance under concurrency, cancel / deadline freeing KV, validation errors,
// queue full, Tokenize.
#include <gtest/gtest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <future>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/sampling/sampler.h"
#include "server/engine_loop.h"
#include "server/inference_service.h"
#include "spatten/v1/inference.grpc.pb.h"

namespace {

using namespace std::chrono_literals;
namespace srv = spatten::server;
namespace v1 = spatten::v1;

struct Served {
  std::shared_ptr<const srv::ServedModel> model;
  std::unique_ptr<srv::EngineLoop> engine;
  std::unique_ptr<srv::RunningServer> server;
  std::unique_ptr<v1::InferenceService::Stub> stub;
};

std::unique_ptr<Served> StartServed(std::shared_ptr<const srv::ServedModel> model,
                                    srv::EngineConfig config) {
  auto s = std::make_unique<Served>();
  s->model = std::move(model);
  config.threads = 2;
  auto engine = srv::EngineLoop::Start(s->model, config);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return nullptr;
  s->engine = std::move(engine).value();
  auto server = srv::RunningServer::Start(s->engine.get(), {.host = "127.0.0.1", .port = 0});
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  s->server = std::move(server).value();
  s->stub = v1::InferenceService::NewStub(
      grpc::CreateChannel(s->server->address(), grpc::InsecureChannelCredentials()));
  return s;
}

struct Generation {
  grpc::Status status;
  std::string text;
  std::vector<int32_t> ids;
  int chunks = 0;
  bool final_last = false;
  v1::GenerateFinal final_msg;
};

Generation Generate(v1::InferenceService::Stub& stub, const v1::GenerateRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 120s);
  auto reader = stub.Generate(&ctx, req);
  Generation g;
  v1::GenerateResponse msg;
  while (reader->Read(&msg)) {
    g.final_last = msg.has_final();
    if (msg.has_chunk()) {
      ++g.chunks;
      g.text += msg.chunk().text();
      g.ids.insert(g.ids.end(), msg.chunk().token_ids().begin(), msg.chunk().token_ids().end());
    } else if (msg.has_final()) {
      g.final_msg = msg.final();
    }
  }
  g.status = reader->Finish();
  return g;
}

v1::GenerateRequest TextRequest(const std::string& text, uint32_t max_tokens) {
  v1::GenerateRequest req;
  req.set_text(text);
  req.set_max_tokens(max_tokens);
  return req;
}

v1::ServerStatus Status(v1::InferenceService::Stub& stub) {
  grpc::ClientContext ctx;
  v1::ServerStatus st;
  EXPECT_TRUE(stub.GetServerStatus(&ctx, {}, &st).ok());
  return st;
}

// Polls until nothing runs, waits or holds KV blocks; false after 10 s.
bool WaitForIdle(v1::InferenceService::Stub& stub) {
  for (int i = 0; i < 200; ++i) {
    const auto st = Status(stub);
    if (st.running_requests() == 0 && st.waiting_requests() == 0 && st.kv_blocks_used() == 0) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// grpc.health.v1.Health/Check through the generic stub (no generated health stubs needed):
// the request is field 1 (service name), the response field 1 (1 SERVING, 2 NOT_SERVING).
int HealthStatus(const std::string& address, const std::string& service) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  std::string wire;
  wire.push_back('\x0a');
  wire.push_back(static_cast<char>(service.size()));  // names here are < 128 bytes
  wire.append(service);
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status st) { done.set_value(st); });
  if (!done.get_future().get().ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  if (bytes.empty()) return 0;  // UNKNOWN (0) is the default and not serialized
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
}

// The engine's greedy output for a prompt, computed directly (no server, no batching).
std::vector<int32_t> DirectGreedy(const srv::ServedModel& m, const std::vector<int32_t>& prompt,
                                  int max_tokens) {
  auto cache = m.model.NewCache();
  std::vector<float> logits;
  EXPECT_TRUE(m.model.ForwardNext(prompt, cache, nullptr, &logits).ok());
  std::vector<int32_t> out;
  while (static_cast<int>(out.size()) < max_tokens) {
    const int32_t next = spatten::sampling::ArgMax(logits);
    out.push_back(next);
    if (m.tokenizer.IsEog(next)) break;
    const int32_t one[1] = {next};
    EXPECT_TRUE(m.model.ForwardNext(one, cache, nullptr, &logits).ok());
  }
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("SPATTEN_MODEL");
    if (path == nullptr || *path == '\0') return;
    auto model = srv::LoadServedModel(path, nullptr);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = *model;
    srv::EngineConfig config;
    config.max_running = 16;
    config.kv_memory_bytes = 256ull << 20;
    served_ = StartServed(model_, config).release();
  }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
    model_.reset();
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "SPATTEN_MODEL is not set (path of SmolLM2-135M-Instruct.Q4_1.gguf)";
    ASSERT_NE(served_, nullptr);
  }
  v1::InferenceService::Stub& stub() { return *served_->stub; }

  static inline std::shared_ptr<const srv::ServedModel> model_;
  static inline Served* served_ = nullptr;
};

TEST_F(ServerTest, GenerateStreamsChunksThenFinal) {
  const Generation g = Generate(stub(), TextRequest("The capital of France is", 16));
  ASSERT_TRUE(g.status.ok()) << g.status.error_message();
  EXPECT_GT(g.chunks, 0);
  EXPECT_TRUE(g.final_last);
  const auto reason = g.final_msg.finish_reason();
  EXPECT_TRUE(reason == v1::FINISH_REASON_STOP || reason == v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(g.final_msg.usage().completion_tokens(), g.ids.size());
  if (reason == v1::FINISH_REASON_LENGTH) {
    EXPECT_EQ(g.ids.size(), 16u);
  }
  auto prompt = model_->tokenizer.Encode("The capital of France is", {.add_special = true, .parse_special = true});
  ASSERT_TRUE(prompt.ok());
  EXPECT_EQ(g.final_msg.usage().prompt_tokens(), prompt->size());
  EXPECT_GT(g.final_msg.timings().time_to_first_token_ms(), 0.0);
  EXPECT_GE(g.final_msg.timings().total_ms(), g.final_msg.timings().time_to_first_token_ms());
  EXPECT_FALSE(g.text.empty());
}

TEST_F(ServerTest, GreedyEqualsDirectEngineOutput) {
  const std::string text = "Once upon a time, in a small village,";
  const Generation g = Generate(stub(), TextRequest(text, 24));
  ASSERT_TRUE(g.status.ok()) << g.status.error_message();
  auto prompt = model_->tokenizer.Encode(text, {.add_special = true, .parse_special = true});
  ASSERT_TRUE(prompt.ok());
  const auto direct = DirectGreedy(*model_, *prompt, 24);
  EXPECT_EQ(g.ids, direct);
  auto decoded = model_->tokenizer.Decode(direct);
  ASSERT_TRUE(decoded.ok());
  if (!model_->tokenizer.IsEog(direct.back())) {
    EXPECT_EQ(g.text, *decoded);
  }
}

TEST_F(ServerTest, ConcurrentStreamsEqualSequentialResults) {
  const std::vector<std::string> prompts = {
      "The quick brown fox", "Water boils at", "def fibonacci(n):", "My favourite colour is",
      "In 1492, Columbus", "The square root of 16 is", "Paris is known for", "Once upon a time"};
  std::vector<Generation> sequential;
  for (const auto& p : prompts) sequential.push_back(Generate(stub(), TextRequest(p, 20)));
  std::vector<Generation> concurrent(prompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i) {
    threads.emplace_back([&, i] { concurrent[i] = Generate(stub(), TextRequest(prompts[i], 20)); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(sequential[i].status.ok()) << sequential[i].status.error_message();
    ASSERT_TRUE(concurrent[i].status.ok()) << concurrent[i].status.error_message();
    EXPECT_TRUE(concurrent[i].final_last);
    EXPECT_EQ(concurrent[i].ids, sequential[i].ids) << "prompt " << i;
    EXPECT_EQ(concurrent[i].text, sequential[i].text) << "prompt " << i;
  }
  EXPECT_TRUE(WaitForIdle(stub()));
}

TEST_F(ServerTest, ClientCancelFreesTheRequest) {
  const uint64_t aborted_before = Status(stub()).requests_aborted();
  grpc::ClientContext ctx;
  auto req = TextRequest("Count to one thousand: 1, 2, 3,", 1000);
  req.set_ignore_eos(true);
  auto reader = stub().Generate(&ctx, req);
  v1::GenerateResponse msg;
  ASSERT_TRUE(reader->Read(&msg));  // generation is under way
  EXPECT_GT(Status(stub()).kv_blocks_used(), 0u);
  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitForIdle(stub())) << "running/waiting/KV blocks did not return to 0";
  EXPECT_EQ(Status(stub()).requests_aborted(), aborted_before + 1);
}

TEST_F(ServerTest, DeadlineAbortsTheRequest) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 400ms);
  auto req = TextRequest("Count to one thousand: 1, 2, 3,", 1000);
  req.set_ignore_eos(true);
  auto reader = stub().Generate(&ctx, req);
  v1::GenerateResponse msg;
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitForIdle(stub()));
}

TEST_F(ServerTest, InvalidParametersNameTheField) {
  auto expect_invalid = [&](const v1::GenerateRequest& req, const std::string& field) {
    const Generation g = Generate(stub(), req);
    EXPECT_EQ(g.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(g.status.error_message().rfind(field + ":", 0), 0u) << g.status.error_message();
    EXPECT_EQ(g.chunks, 0);
  };
  auto req = TextRequest("hello", 8);
  req.mutable_sampling()->set_top_p(1.5f);
  expect_invalid(req, "sampling.top_p");
  req = TextRequest("hello", 8);
  req.mutable_sampling()->set_temperature(-1.0f);
  expect_invalid(req, "sampling.temperature");
  req = TextRequest("hello", 0);
  expect_invalid(req, "max_tokens");
  req = TextRequest("hello", 8);
  req.set_priority(500);
  expect_invalid(req, "priority");
  req = TextRequest("hello", 8);
  req.mutable_pruning()->set_policy("bogus");
  expect_invalid(req, "pruning.policy");
  req = TextRequest("hello", 8);
  req.mutable_pruning()->set_sink_tokens(4);  // not used by the default policy "none"
  expect_invalid(req, "pruning.sink_tokens");
  req = TextRequest("hello", 8);
  req.mutable_pruning()->set_policy("spatten");
  req.mutable_pruning()->set_local_v_ratio(1.5f);
  expect_invalid(req, "pruning.local_v_ratio");
  v1::GenerateRequest none;
  none.set_max_tokens(4);
  expect_invalid(none, "prompt");
  v1::GenerateRequest too_long;  // longer than the whole context
  for (int i = 0; i < 9000; ++i) too_long.mutable_token_ids()->add_ids(100);
  expect_invalid(too_long, "prompt");
  v1::GenerateRequest bad_id;
  bad_id.mutable_token_ids()->add_ids(1 << 30);
  expect_invalid(bad_id, "prompt.token_ids.ids[0]");
  // A valid pruning message for the policy the server runs is accepted.
  req = TextRequest("hello", 2);
  req.mutable_pruning()->set_policy("none");
  EXPECT_TRUE(Generate(stub(), req).status.ok());
}

TEST_F(ServerTest, TokenizeMatchesTheTokenizer) {
  const std::string text = "Hello <|im_start|> world, ünïcödé 123";
  grpc::ClientContext ctx;
  v1::TokenizeRequest req;
  req.set_text(text);
  req.set_return_pieces(true);
  v1::TokenizeResponse resp;
  ASSERT_TRUE(stub().Tokenize(&ctx, req, &resp).ok());
  auto ids = model_->tokenizer.Encode(text, {.add_special = true, .parse_special = true});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(std::vector<int32_t>(resp.token_ids().begin(), resp.token_ids().end()), *ids);
  EXPECT_EQ(resp.pieces_size(), resp.token_ids_size());
  EXPECT_EQ(resp.max_context_tokens(), 8192u);
}

TEST_F(ServerTest, QueueFullIsResourceExhaustedAndDrainRefusesWork) {
  srv::EngineConfig config;
  config.max_running = 1;
  config.max_waiting = 1;
  config.kv_memory_bytes = 64ull << 20;
  auto small = StartServed(model_, config);
  ASSERT_NE(small, nullptr);
  auto req = TextRequest("Count to one thousand: 1, 2, 3,", 1000);
  req.set_ignore_eos(true);
  grpc::ClientContext ctx_a, ctx_b;
  auto a = small->stub->Generate(&ctx_a, req);
  v1::GenerateResponse msg;
  ASSERT_TRUE(a->Read(&msg));  // A runs
  auto b = small->stub->Generate(&ctx_b, req);
  bool b_waiting = false;
  for (int i = 0; i < 100 && !b_waiting; ++i) {
    b_waiting = Status(*small->stub).waiting_requests() == 1;
    if (!b_waiting) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(b_waiting);
  const Generation c = Generate(*small->stub, req);
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << c.status.error_message();
  ctx_a.TryCancel();
  ctx_b.TryCancel();
  while (a->Read(&msg)) {
  }
  while (b->Read(&msg)) {
  }
  (void)a->Finish();
  (void)b->Finish();
  EXPECT_TRUE(WaitForIdle(*small->stub));
  // Drain: health turns NOT_SERVING, new work is refused with UNAVAILABLE, status says so.
  const std::string service = "spatten.v1.InferenceService";
  EXPECT_EQ(HealthStatus(small->server->address(), service), 1);
  EXPECT_EQ(HealthStatus(small->server->address(), ""), 1);
  small->server->BeginDrain();
  EXPECT_EQ(HealthStatus(small->server->address(), service), 2);
  EXPECT_EQ(Generate(*small->stub, TextRequest("hi", 2)).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Status(*small->stub).draining());
}

}  // namespace
