// Workload CSV reader: the authors' schemas, and every malformed case names its line.

#include <gtest/gtest.h>

#include <string>

#include "sim/workload_csv.h"

namespace spatten::sim {
namespace {

const std::string kHeader =
    "iteration_id,layer_id,head_id,embedding_length_D,sentence_length_L,key_fetch_num,quant_key_bit,"
    "quant_query_bit,auto_requant_thres,if_requant,auto_requant_incre,value_fetch_num,quant_value_bit,"
    "if_accumulate_importance,if_rescale_previous_importance,if_topk,topk\n";

TEST(SimCsv, ParsesGpt2RowsAndSkipsTrailingConfigLine) {
  auto w = ParseWorkloadCsv(kHeader +
                                "0,0,0,64.0,993,993,6,16,0.05,True,4,204,6,True,False,False,-1\n"
                                "0,11,11,64.0,993,993,6,16,0.05,False,4,204,6,True,True,True,921\n"
                                "configs/gpt2/x.yml,,,,,,,,,,,,,,,,\n",
                            "t");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->format, WorkloadFormat::kGpt2);
  ASSERT_EQ(w->rows.size(), 2u);
  EXPECT_EQ(w->rows[0].head_dim, 64);
  EXPECT_EQ(w->rows[0].value_fetch, 204);
  EXPECT_TRUE(w->rows[0].requant);
  EXPECT_TRUE(w->rows[1].token_topk);
  EXPECT_EQ(w->rows[1].token_topk_keep, 921);
  EXPECT_EQ(w->rows[1].line, 3);
}

TEST(SimCsv, ParsesByHeaderNameInAnyOrder) {
  auto w = ParseWorkloadCsv(
      "topk,if_topk,if_rescale_previous_importance,if_accumulate_importance,quant_value_bit,value_fetch_num,"
      "auto_requant_incre,if_requant,auto_requant_thres,quant_query_bit,quant_key_bit,key_fetch_num,"
      "sentence_length_L,embedding_length_D,head_id,layer_id,iteration_id\n"
      "-1,False,False,True,-1,100,-1,False,-1,-1,-1,100,100,64.0,3,2,1\n",
      "t");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->rows[0].iteration, 1);
  EXPECT_EQ(w->rows[0].layer, 2);
  EXPECT_EQ(w->rows[0].head, 3);
  EXPECT_EQ(w->rows[0].key_bits, -1);
}

TEST(SimCsv, ParsesBertSchema) {
  auto w = ParseWorkloadCsv(
      "layer_id,head_id,embedding_length_D,sentence_length_L,key_value_query_fetch_num,quant_key_bit,"
      "quant_value_bit,quant_query_bit,auto_requant_thres,if_requant,auto_requant_incre,auto_requant_num,"
      "if_accumulate_importance,if_topk,topk\n"
      "0,0,64,128,128,8,8,16,0.1,True,4,5,True,True,100\n",
      "b");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->format, WorkloadFormat::kBert);
  EXPECT_EQ(w->rows[0].queries, 128);
  EXPECT_EQ(w->rows[0].requant_queries, 5);
}

void ExpectError(const std::string& text, const std::string& needle) {
  auto w = ParseWorkloadCsv(text, "t");
  ASSERT_FALSE(w.ok()) << "accepted: " << text;
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find(needle), std::string::npos) << w.status().message();
}

TEST(SimCsv, MalformedInputNamesTheLine) {
  const std::string good = "0,0,0,64.0,993,993,6,16,0.05,True,4,204,6,True,False,False,-1\n";
  ExpectError(kHeader + good + "0,0,1,64.0,993,-3,6,16,0.05,True,4,0,6,True,False,False,-1\n", "line 3: column 'key_fetch_num'");
  ExpectError(kHeader + "0,0,0,64.0,993,99x,6,16,0.05,True,4,204,6,True,False,False,-1\n", "line 2: column 'key_fetch_num': '99x' is not an integer");
  ExpectError(kHeader + "0,0,0,64.0,993,993,6,16,0.05,Maybe,4,204,6,True,False,False,-1\n", "line 2: column 'if_requant'");
  ExpectError(kHeader + "0,0,0,64.0,99999999,993,6,16,0.05,True,4,204,6,True,False,False,-1\n", "line 2: column 'sentence_length_L'");
  ExpectError(kHeader + "0,0,0,64.0,993,994,6,16,0.05,True,4,204,6,True,False,False,-1\n", "line 2: column 'key_fetch_num'");
  ExpectError(kHeader + "0,0,0,64.5,993,993,6,16,0.05,True,4,204,6,True,False,False,-1\n", "line 2: column 'embedding_length_D'");
  ExpectError(kHeader + "0,0,0,64.0,993,993,7,16,0.05,True,4,204,6,True,False,False,-1\n", "line 2: column 'quant_key_bit'");
  ExpectError(kHeader + "0,0,0,64.0,993,993,6,16,abc,True,4,204,6,True,False,False,-1\n", "line 2: column 'auto_requant_thres'");
  ExpectError(kHeader + "0,0,0,64.0,993,993,6,16,0.05,True,4,204,6,True,False,True,-1\n", "line 2: column 'topk'");
  ExpectError(kHeader + good + "0,0,0,64.0\n", "line 3: has 4 fields");
  ExpectError("iteration_id,layer_id,head_id,embedding_length_D,sentence_length_L,key_fetch_num\n" + good, "line 1: header lacks column");
  ExpectError("a,b,c\n1,2,3\n", "line 1: header names neither");
  ExpectError(kHeader, "no data rows");
}

TEST(SimCsv, MissingFileIsNotFound) {
  auto w = LoadWorkloadCsv("/nonexistent/workload.csv");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace spatten::sim
