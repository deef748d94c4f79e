// The public API compiles and its messages survive a serialize / parse round trip, including
// the oneofs, optional presence, maps and nested messages clients rely on.
#include <gtest/gtest.h>

#include <string>

#include "spatten/v1/inference.grpc.pb.h"
#include "spatten/v1/inference.pb.h"

namespace {

TEST(Proto, GenerateRequestRoundTrips) {
  spatten::v1::GenerateRequest req;
  req.set_request_id("req-1");
  auto* chat = req.mutable_chat();
  auto* msg = chat->add_messages();
  msg->set_role("user");
  msg->set_content("Hello");
  chat->set_add_generation_prompt(false);
  auto* sampling = req.mutable_sampling();
  sampling->set_temperature(0.7f);
  sampling->set_top_p(0.9f);
  sampling->set_seed(42);
  (*sampling->mutable_logit_bias())[13] = -100.0f;
  req.set_max_tokens(64);
  req.add_stop("\n\n");
  req.set_logprobs(0);  // presence matters: 0 still asks for the chosen token's logprob
  req.set_priority(5);
  auto* pruning = req.mutable_pruning();
  pruning->set_policy("spatten");
  pruning->set_budget_ratio(0.25f);
  pruning->set_sink_tokens(4);
  pruning->mutable_quantization()->set_msb_bits(4);
  pruning->mutable_quantization()->set_recompute_threshold(0.1f);
  req.set_simulate(true);

  std::string wire;
  ASSERT_TRUE(req.SerializeToString(&wire));
  spatten::v1::GenerateRequest back;
  ASSERT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.prompt_case(), spatten::v1::GenerateRequest::kChat);
  EXPECT_EQ(back.chat().messages(0).content(), "Hello");
  ASSERT_TRUE(back.chat().has_add_generation_prompt());
  EXPECT_FALSE(back.chat().add_generation_prompt());
  EXPECT_TRUE(back.sampling().has_temperature());
  EXPECT_FALSE(back.sampling().has_top_k());  // absent: the server default applies
  EXPECT_FLOAT_EQ(back.sampling().top_p(), 0.9f);
  EXPECT_EQ(back.sampling().logit_bias().at(13), -100.0f);
  EXPECT_TRUE(back.has_logprobs());
  EXPECT_EQ(back.logprobs(), 0u);
  EXPECT_EQ(back.pruning().token_budget_case(), spatten::v1::PruningConfig::kBudgetRatio);
  EXPECT_FALSE(back.pruning().quantization().has_lsb_bits());
  EXPECT_TRUE(back.simulate());
  EXPECT_EQ(back.SerializeAsString(), wire);
}

TEST(Proto, GenerateStreamMessagesRoundTrip) {
  spatten::v1::GenerateResponse chunk;
  chunk.set_request_id("req-1");
  chunk.mutable_chunk()->set_text("Hi");
  chunk.mutable_chunk()->add_token_ids(1);
  auto* lp = chunk.mutable_chunk()->add_logprobs();
  lp->set_token_id(1);
  lp->set_logprob(-0.25);
  spatten::v1::GenerateResponse final_msg;
  auto* fin = final_msg.mutable_final();
  fin->set_finish_reason(spatten::v1::FINISH_REASON_LENGTH);
  fin->mutable_usage()->set_prompt_tokens(5);
  fin->mutable_usage()->set_completion_tokens(64);
  fin->mutable_timings()->set_time_to_first_token_ms(12.5);
  fin->mutable_simulation()->set_total_cycles(1000);
  fin->mutable_simulation()->set_dense_total_cycles(3000);

  for (const auto* m : {&chunk, &final_msg}) {
    spatten::v1::GenerateResponse back;
    ASSERT_TRUE(back.ParseFromString(m->SerializeAsString()));
    EXPECT_EQ(back.kind_case(), m->kind_case());
    EXPECT_EQ(back.SerializeAsString(), m->SerializeAsString());
  }
  spatten::v1::GenerateResponse back;
  ASSERT_TRUE(back.ParseFromString(final_msg.SerializeAsString()));
  EXPECT_EQ(back.final().finish_reason(), spatten::v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(back.final().simulation().dense_total_cycles(), 3000u);
  EXPECT_EQ(spatten::v1::FinishReason_Name(spatten::v1::FINISH_REASON_UNSPECIFIED), "FINISH_REASON_UNSPECIFIED");
}

TEST(Proto, ServiceDeclaresEveryMethod) {
  // The generated gRPC stub and service types exist (server/ and client/ build on them).
  EXPECT_STREQ(spatten::v1::InferenceService::service_full_name(), "spatten.v1.InferenceService");
  static_assert(sizeof(spatten::v1::InferenceService::Stub) > 0);
  static_assert(sizeof(spatten::v1::InferenceService::CallbackService) > 0);
  const auto* service = spatten::v1::GenerateRequest::descriptor()->file()->FindServiceByName("InferenceService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->full_name(), "spatten.v1.InferenceService");
  for (const char* name : {"Generate", "Tokenize", "GetModelInfo", "GetServerStatus", "Simulate"}) {
    EXPECT_NE(service->FindMethodByName(name), nullptr) << name;
  }
  EXPECT_TRUE(service->FindMethodByName("Generate")->server_streaming());
  EXPECT_FALSE(service->FindMethodByName("Tokenize")->server_streaming());
}

}  // namespace
