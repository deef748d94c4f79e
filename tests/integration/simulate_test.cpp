// The Simulate RPC and Generate's accelerator projection over loopback with the real model
// (SPATTEN_MODEL; skipped when unset). The conversion layer (server/simulate_service.h) is also
// checked directly, without a server, so the CSV path is tested in every build.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/engine_loop.h"
#include "server/inference_service.h"
#include "server/simulate_service.h"
#include "sim/config.h"
#include "sim/simulator.h"
#include "sim/workload_csv.h"
#include "spatten/v1/inference.grpc.pb.h"

namespace {

using namespace std::chrono_literals;
namespace srv = spatten::server;
namespace sim = spatten::sim;
namespace v1 = spatten::v1;

const std::string kHeader =
    "iteration_id,layer_id,head_id,embedding_length_D,sentence_length_L,key_fetch_num,quant_key_bit,"
    "quant_query_bit,auto_requant_thres,if_requant,auto_requant_incre,value_fetch_num,quant_value_bit,"
    "if_accumulate_importance,if_rescale_previous_importance,if_topk,topk\n";

std::string Per8Path() {
  return std::string(SPATTEN_SOURCE_ROOT) + "/../shared/workloads/summary-gpt2-small-wikitext2-per8.csv";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The library's answer for the same input (what spatten-sim prints).
sim::SimulationReport Expected(const std::string& csv, const std::string& preset) {
  auto w = sim::ParseWorkloadCsv(csv, "expected");
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  auto c = sim::ResolveSimConfig(preset, {});
  EXPECT_TRUE(c.ok());
  auto r = sim::Simulate(*w, *c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

// ---- Without a server: the conversion layer --------------------------------------------------

TEST(SimulateService, MalformedCsvNamesTheLine) {
  v1::SimulateRequest req;
  req.set_workload_csv(kHeader + "0,0,0,64.0,993,993,6,16,0.05,True,4,204,6,True,False,False,-1\n"
                                 "0,0,1,64.0,993,-3,6,16,0.05,True,4,204,6,True,False,False,-1\n");
  auto r = srv::RunSimulateRequest(req, {12, 12, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), spatten::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().message();
}

TEST(SimulateService, UnknownPresetOrKeyIsInvalid) {
  v1::SimulateRequest req;
  req.mutable_model()->set_prompt_tokens(16);
  req.set_config("/etc/passwd");  // never opened: only named presets
  auto r = srv::RunSimulateRequest(req, {2, 2, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), spatten::StatusCode::kInvalidArgument);
  req.set_config("eighth");
  req.add_overrides("no_such_key=1");
  r = srv::RunSimulateRequest(req, {2, 2, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), spatten::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no_such_key"), std::string::npos) << r.status().message();
}

TEST(SimulateService, BoundsHostileRequests) {
  v1::SimulateRequest req;
  req.set_workload_csv(std::string(srv::kMaxWorkloadCsvBytes + 1, '\n'));
  auto r = srv::RunSimulateRequest(req, {2, 2, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), spatten::StatusCode::kResourceExhausted);
  v1::SimulateRequest big;
  big.mutable_model()->set_num_layers(1024);
  big.mutable_model()->set_num_heads(1024);
  big.mutable_model()->set_prompt_tokens(1000);
  big.mutable_model()->set_generated_tokens(1000);
  r = srv::RunSimulateRequest(big, {2, 2, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), spatten::StatusCode::kResourceExhausted);
  v1::SimulateRequest none;
  r = srv::RunSimulateRequest(none, {2, 2, 64});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), spatten::StatusCode::kInvalidArgument);
}

TEST(SimulateService, Per8CsvMatchesTheLibrary) {
  if (!std::filesystem::exists(Per8Path())) GTEST_SKIP() << Per8Path() << " is absent";
  const std::string csv = ReadFile(Per8Path());
  v1::SimulateRequest req;
  req.set_workload_csv(csv);
  req.set_config("full");
  req.set_per_layer(true);
  auto r = srv::RunSimulateRequest(req, {2, 2, 64});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto e = Expected(csv, "full");
  EXPECT_EQ(r->total_cycles(), e.spatten.total_cycles);
  EXPECT_EQ(r->dram_bytes(), e.spatten.dram.Total());
  EXPECT_EQ(r->dense_total_cycles(), e.dense.total_cycles);
  EXPECT_EQ(r->dense_dram_bytes(), e.dense.dram.Total());
  EXPECT_EQ(r->layers_size(), 12);
}

// ---- Over gRPC with the served model ----------------------------------------------------------

class SimulateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("SPATTEN_MODEL");
    if (path == nullptr || *path == '\0') return;
    auto model = srv::LoadServedModel(path, nullptr);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = *model;
    srv::EngineConfig config;
    config.threads = 2;
    config.kv_memory_bytes = 64ull << 20;
    auto engine = srv::EngineLoop::Start(model_, config);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value().release();
    auto server = srv::RunningServer::Start(engine_, {.host = "127.0.0.1", .port = 0});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
    stub_ = v1::InferenceService::NewStub(
                grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()))
                .release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete server_;
    delete engine_;
    stub_ = nullptr;
    server_ = nullptr;
    engine_ = nullptr;
    model_.reset();
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "SPATTEN_MODEL is not set (path of SmolLM2-135M-Instruct.Q4_1.gguf)";
    ASSERT_NE(stub_, nullptr);
  }

  grpc::Status Call(const v1::SimulateRequest& req, v1::SimulateResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 60s);
    return stub_->Simulate(&ctx, req, resp);
  }

  static inline std::shared_ptr<const srv::ServedModel> model_;
  static inline srv::EngineLoop* engine_ = nullptr;
  static inline srv::RunningServer* server_ = nullptr;
  static inline v1::InferenceService::Stub* stub_ = nullptr;
};

TEST_F(SimulateTest, ModelInfoAdvertisesSimulation) {
  grpc::ClientContext ctx;
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModelInfo(&ctx, {}, &info).ok());
  EXPECT_TRUE(info.supported().simulation());
  EXPECT_EQ(info.limits().max_workload_bytes(), srv::kMaxWorkloadCsvBytes);
  ASSERT_EQ(info.supported().simulation_configs_size(), 2);
}

TEST_F(SimulateTest, Per8CsvMatchesTheLibraryAndCutsDramNineFold) {
  if (!std::filesystem::exists(Per8Path())) GTEST_SKIP() << Per8Path() << " is absent";
  const std::string csv = ReadFile(Per8Path());
  for (const std::string preset : {"full", "eighth"}) {
    v1::SimulateRequest req;
    req.set_workload_csv(csv);
    req.set_config(preset);
    req.set_name("per8");
    v1::SimulateResponse resp;
    const grpc::Status st = Call(req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    const auto e = Expected(csv, preset);
    const v1::SimulationResult& r = resp.result();
    EXPECT_EQ(r.total_cycles(), e.spatten.total_cycles) << preset;
    EXPECT_DOUBLE_EQ(r.latency_ms(), e.LatencyMs(e.spatten)) << preset;
    EXPECT_EQ(r.dram_bytes(), e.spatten.dram.Total()) << preset;
    EXPECT_EQ(r.dense_total_cycles(), e.dense.total_cycles) << preset;
    EXPECT_EQ(r.dense_dram_bytes(), e.dense.dram.Total()) << preset;
    EXPECT_EQ(r.config(), preset);
    EXPECT_EQ(r.rows(), e.rows);
    EXPECT_EQ(r.layers_size(), 0);  // not asked for
    // The acceptance figure: ~9x less DRAM traffic than dense (within 10%).
    const double reduction = static_cast<double>(r.dense_dram_bytes()) / static_cast<double>(r.dram_bytes());
    EXPECT_NEAR(reduction, 9.0, 0.9) << preset;
    EXPECT_NEAR(r.dram_reduction(), reduction, 1e-9);
  }
}

TEST_F(SimulateTest, MalformedCsvIsInvalidArgumentNamingTheLine) {
  v1::SimulateRequest req;
  req.set_workload_csv(kHeader + "0,0,0,64.0,993,993,6,16,0.05,True,4,204,6,True,False,False,-1\n"
                                 "0,0,1,64.0,abc,993,6,16,0.05,True,4,204,6,True,False,False,-1\n");
  v1::SimulateResponse resp;
  const grpc::Status st = Call(req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("line 3"), std::string::npos) << st.error_message();

  v1::SimulateRequest huge;  // past ModelInfo.limits.max_workload_bytes
  huge.set_workload_csv(std::string(srv::kMaxWorkloadCsvBytes + 1, '\n'));
  EXPECT_EQ(Call(huge, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  v1::SimulateRequest bad_preset;
  bad_preset.mutable_model()->set_prompt_tokens(8);
  bad_preset.set_config("sixteenth");
  EXPECT_EQ(Call(bad_preset, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SimulateTest, DescriptionUsesServedDimsAndDenseEqualsSpAttenWithoutPruning) {
  v1::SimulateRequest req;
  req.mutable_model()->set_prompt_tokens(128);
  req.mutable_model()->set_generated_tokens(4);
  req.set_per_layer(true);
  v1::SimulateResponse resp;
  const grpc::Status st = Call(req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto& c = model_->model.config();
  const v1::SimulationResult& r = resp.result();
  EXPECT_GT(r.total_cycles(), 0u);
  EXPECT_GT(r.latency_ms(), 0.0);
  EXPECT_EQ(r.rows(), static_cast<uint64_t>(c.n_layer) * c.n_head * 4);
  EXPECT_EQ(r.layers_size(), c.n_layer);
  // No pruning and no quantization: the SpAtten run moves exactly the dense bytes. (Its cycles
  // may exceed dense: the authors' mapping fetches unquantized keys as MSB + LSB planes with a
  // recompute pass, where the dense baseline fetches both planes up front.)
  EXPECT_EQ(r.dram_bytes(), r.dense_dram_bytes());
  EXPECT_GE(r.total_cycles(), r.dense_total_cycles());

  // Explicit dims override the served model's; SpAtten pruning then cuts the traffic.
  v1::SimulateRequest pruned;
  auto* m = pruned.mutable_model();
  m->set_num_layers(12);
  m->set_num_heads(12);
  m->set_head_dim(64);
  m->set_prompt_tokens(512);
  m->set_generated_tokens(4);
  m->mutable_pruning()->set_policy("spatten");
  m->mutable_pruning()->set_budget_ratio(0.25f);
  m->mutable_pruning()->mutable_quantization()->set_msb_bits(8);
  ASSERT_TRUE(Call(pruned, &resp).ok());
  EXPECT_EQ(resp.result().rows(), 12u * 12u * 4u);
  EXPECT_LT(resp.result().dram_bytes(), resp.result().dense_dram_bytes());
}

TEST_F(SimulateTest, GenerateFinalCarriesTheProjection) {
  v1::GenerateRequest req;
  req.set_text("The capital of France is");
  req.set_max_tokens(6);
  req.set_ignore_eos(true);
  req.set_simulate(true);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 120s);
  auto reader = stub_->Generate(&ctx, req);
  v1::GenerateResponse msg;
  v1::GenerateFinal final_msg;
  bool got_final = false;
  while (reader->Read(&msg)) {
    if (msg.has_final()) {
      final_msg = msg.final();
      got_final = true;
    }
  }
  const grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(got_final);
  ASSERT_TRUE(final_msg.has_simulation());
  const v1::SimulationResult& s = final_msg.simulation();
  const auto& c = model_->model.config();
  EXPECT_GT(s.latency_ms(), 0.0);
  EXPECT_GT(s.total_cycles(), 0u);
  EXPECT_GT(s.dram_bytes(), 0u);
  EXPECT_GT(s.measured_engine_ms(), 0.0);
  EXPECT_EQ(s.rows(), static_cast<uint64_t>(c.n_layer) * c.n_head * final_msg.usage().completion_tokens());
  EXPECT_EQ(s.layers_size(), 0);

  // Without the flag there is no projection.
  req.set_simulate(false);
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + 120s);
  auto reader2 = stub_->Generate(&ctx2, req);
  bool has_sim = false;
  while (reader2->Read(&msg)) {
    if (msg.has_final()) has_sim = msg.final().has_simulation();
  }
  ASSERT_TRUE(reader2->Finish().ok());
  EXPECT_FALSE(has_sim);
}

TEST_F(SimulateTest, ConcurrentProjectionsAllArriveAndCancelIsClean) {
  // Several simulate requests at once: each final carries its own projection (the projection
  // thread serves them in turn); a cancelled one ends CANCELLED without disturbing the others.
  constexpr int kN = 4;
  std::vector<std::thread> threads;
  std::vector<bool> ok(kN, false);
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      v1::GenerateRequest req;
      req.set_text("Once upon a time");
      req.set_max_tokens(static_cast<uint32_t>(3 + i));
      req.set_ignore_eos(true);
      req.set_simulate(true);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 120s);
      auto reader = stub_->Generate(&ctx, req);
      v1::GenerateResponse msg;
      bool good = false;
      while (reader->Read(&msg)) {
        if (msg.has_final()) {
          const auto& f = msg.final();
          good = f.has_simulation() && f.usage().completion_tokens() == static_cast<uint32_t>(3 + i) &&
                 f.simulation().rows() == static_cast<uint64_t>(model_->model.config().n_layer) *
                                              model_->model.config().n_head * (3 + i);
        }
      }
      ok[static_cast<size_t>(i)] = reader->Finish().ok() && good;
    });
  }
  {
    v1::GenerateRequest req;
    req.set_text("Cancel me");
    req.set_max_tokens(64);
    req.set_ignore_eos(true);
    req.set_simulate(true);
    grpc::ClientContext ctx;
    auto reader = stub_->Generate(&ctx, req);
    v1::GenerateResponse msg;
    ASSERT_TRUE(reader->Read(&msg));
    ctx.TryCancel();
    while (reader->Read(&msg)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kN; ++i) EXPECT_TRUE(ok[static_cast<size_t>(i)]) << i;
}

}  // namespace
