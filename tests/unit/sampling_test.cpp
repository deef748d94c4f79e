// Tests for engine/sampling: parameter validation, the filters (top-k, top-p, min-p,
// temperature), logit bias, penalties, seeded reproducibility, logprobs and stop strings.
//
// Every expectation is worked out by hand in the comments or recomputed here from the textbook
// formula (softmax, log-softmax, a naive substring search), never taken from the code under
// test. Random draws use fixed seeds, so the statistical checks are deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/sampling/logprobs.h"
#include "engine/sampling/penalties.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop_matcher.h"

namespace spatten::sampling {
namespace {

std::set<int32_t> Tokens(const std::vector<TokenProb>& dist) {
  std::set<int32_t> out;
  for (const auto& t : dist) out.insert(t.token);
  return out;
}

Sampler Make(const SamplerParams& p) {
  auto s = Sampler::Create(p);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

// ---- validation ----------------------------------------------------------------------------

void ExpectInvalid(const SamplerParams& p, const std::string& field, size_t n_vocab = 0) {
  const Status st = p.Validate(n_vocab);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << field;
  EXPECT_NE(st.message().find(field), std::string::npos) << st.message();
  EXPECT_FALSE(Sampler::Create(p, n_vocab).ok()) << field;
}

TEST(SamplingValidation, EachBadFieldIsNamed) {
  const float nan = std::nanf("");
  ExpectInvalid({.temperature = -0.5f}, "temperature");
  ExpectInvalid({.temperature = nan}, "temperature");
  ExpectInvalid({.temperature = INFINITY}, "temperature");
  ExpectInvalid({.top_k = -1}, "top_k");
  ExpectInvalid({.top_p = 0.0f}, "top_p");
  ExpectInvalid({.top_p = 1.01f}, "top_p");
  ExpectInvalid({.top_p = nan}, "top_p");
  ExpectInvalid({.min_p = -0.1f}, "min_p");
  ExpectInvalid({.min_p = 1.5f}, "min_p");
  ExpectInvalid({.min_p = nan}, "min_p");
  ExpectInvalid({.repetition_penalty = 0.0f}, "repetition_penalty");
  ExpectInvalid({.repetition_penalty = -1.0f}, "repetition_penalty");
  ExpectInvalid({.repetition_penalty = 10.5f}, "repetition_penalty");
  ExpectInvalid({.repetition_penalty = nan}, "repetition_penalty");
  ExpectInvalid({.repeat_last_n = -2}, "repeat_last_n");
  ExpectInvalid({.presence_penalty = 2.5f}, "presence_penalty");
  ExpectInvalid({.presence_penalty = nan}, "presence_penalty");
  ExpectInvalid({.frequency_penalty = -2.01f}, "frequency_penalty");
  ExpectInvalid({.frequency_penalty = INFINITY}, "frequency_penalty");
  ExpectInvalid({.logit_bias = {{-1, 1.0f}}}, "logit_bias");
  ExpectInvalid({.logit_bias = {{3, 100.5f}}}, "logit_bias");
  ExpectInvalid({.logit_bias = {{3, nan}}}, "logit_bias");
  ExpectInvalid({.logit_bias = {{10, 1.0f}}}, "logit_bias", /*n_vocab=*/10);
  std::map<int32_t, float> many;
  for (int32_t i = 0; i <= static_cast<int32_t>(kMaxLogitBiasEntries); ++i) many[i] = 1.0f;
  ExpectInvalid({.logit_bias = many}, "logit_bias");
}

TEST(SamplingValidation, BoundariesAreAccepted) {
  EXPECT_TRUE(SamplerParams{}.Validate().ok());
  EXPECT_TRUE((SamplerParams{.temperature = 0.0f, .top_p = 1.0f, .min_p = 1.0f}).Validate().ok());
  EXPECT_TRUE((SamplerParams{.repetition_penalty = 10.0f, .repeat_last_n = -1,
                             .presence_penalty = -2.0f, .frequency_penalty = 2.0f})
                  .Validate()
                  .ok());
  EXPECT_TRUE((SamplerParams{.logit_bias = {{9, -100.0f}, {0, 100.0f}}}).Validate(10).ok());
}

// ---- filters -------------------------------------------------------------------------------

TEST(SamplingFilters, GreedyIsArgMaxWithLowestIdOnTies) {
  const std::vector<float> logits = {0.0f, 3.0f, 1.0f, 3.0f, -2.0f};
  Sampler s = Make({});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.Sample(logits), 1);
  const auto dist = s.Distribution(logits);
  ASSERT_EQ(dist.size(), 1u);
  EXPECT_EQ(dist[0].token, 1);
  EXPECT_EQ(dist[0].prob, 1.0);
  Sampler k1 = Make({.temperature = 3.0f, .top_k = 1, .seed = 9});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(k1.Sample(logits), 1);
}

TEST(SamplingFilters, TopKKeepsTheKLargest) {
  // Logits 4 (id 3) and 3 (id 2) survive k=2; renormalised: e^1/(e^1+1) and 1/(e^1+1).
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f, 4.0f, 0.0f};
  Sampler s = Make({.temperature = 1.0f, .top_k = 2});
  const auto dist = s.Distribution(logits);
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_EQ(dist[0].token, 3);
  EXPECT_EQ(dist[1].token, 2);
  EXPECT_NEAR(dist[0].prob, 0.7310585786, 1e-9);
  EXPECT_NEAR(dist[1].prob, 0.2689414214, 1e-9);
  // k >= vocabulary keeps everything.
  Sampler all = Make({.temperature = 1.0f, .top_k = 50});
  EXPECT_EQ(all.Distribution(logits).size(), 5u);
  // A tie at the k-th place goes to the lower id.
  Sampler tie = Make({.temperature = 1.0f, .top_k = 2});
  EXPECT_EQ(Tokens(tie.Distribution(std::vector<float>{5.0f, 1.0f, 5.0f, 5.0f})),
            (std::set<int32_t>{0, 2}));
}

TEST(SamplingFilters, TopKOnALargeVocabularyMatchesAFullSort) {
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> logits(49152);
  for (float& x : logits) x = normal(gen);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  Sampler s = Make({.temperature = 0.7f, .top_k = 40});
  const auto dist = s.Distribution(logits);
  ASSERT_EQ(dist.size(), 40u);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(dist[i].token, order[i]) << i;
}

TEST(SamplingFilters, TopPKeepsTheSmallestPrefixReachingP) {
  // p = {0.5, 0.25, 0.15, 0.1}: top_p 0.7 needs 0.5 + 0.25; 0.76 needs the third token too.
  const std::vector<float> logits = {std::log(0.5f), std::log(0.25f), std::log(0.15f),
                                     std::log(0.1f)};
  Sampler a = Make({.temperature = 1.0f, .top_p = 0.7f});
  auto dist = a.Distribution(logits);
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_NEAR(dist[0].prob, 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(dist[1].prob, 1.0 / 3.0, 1e-6);
  Sampler b = Make({.temperature = 1.0f, .top_p = 0.76f});
  dist = b.Distribution(logits);
  EXPECT_EQ(Tokens(dist), (std::set<int32_t>{0, 1, 2}));
  EXPECT_NEAR(dist[2].prob, 0.15 / 0.9, 1e-6);
  Sampler c = Make({.temperature = 1.0f, .top_p = 0.4f});  // the top token alone is enough
  EXPECT_EQ(Tokens(c.Distribution(logits)), (std::set<int32_t>{0}));
}

TEST(SamplingFilters, TopPAloneOnALargeVocabularyGrowsPastSeveralChunks) {
  // Three peaks (logits 10, 9, 8 at scattered ids) over 49149 zeros. Mass: e^10 + e^9 + e^8 +
  // 49149 = 82259.5; the peaks hold 0.2678, 0.0985 and 0.0362. top_p 0.5 therefore needs about
  // 0.0975 * 82259.5 = 8000 zero-logit tokens, the lowest ids first (ties by id).
  std::vector<float> logits(49152, 0.0f);
  logits[40000] = 10.0f;
  logits[123] = 9.0f;
  logits[7777] = 8.0f;
  double z = 0.0;
  for (float x : logits) z += std::exp(static_cast<double>(x));
  // Reference: walk the peaks, then zeros in id order, until the mass reaches 0.5.
  std::vector<int32_t> expected = {40000, 123, 7777};
  double cum = (std::exp(10.0) + std::exp(9.0) + std::exp(8.0)) / z;
  for (int32_t id = 0; cum < 0.5; ++id) {
    if (id == 123 || id == 7777) continue;
    expected.push_back(id);
    cum += 1.0 / z;
  }
  ASSERT_GT(expected.size(), 7000u);
  ASSERT_LT(expected.size(), 9000u);
  Sampler s = Make({.temperature = 1.0f, .top_p = 0.5f});
  const auto dist = s.Distribution(logits);
  ASSERT_EQ(dist.size(), expected.size());
  for (size_t i = 0; i < dist.size(); ++i) ASSERT_EQ(dist[i].token, expected[i]) << i;

  Sampler small = Make({.temperature = 1.0f, .top_p = 0.3f});  // 0.2678 < 0.3 <= 0.3663
  EXPECT_EQ(Tokens(small.Distribution(logits)), (std::set<int32_t>{40000, 123}));
}

TEST(SamplingFilters, MinPKeepsTokensAboveAFractionOfTheMax) {
  // p = {0.4, 0.3, 0.2, 0.1}: min_p 0.6 -> threshold 0.24 keeps {0, 1}; 0.3 -> 0.12 keeps three.
  const std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f),
                                     std::log(0.1f)};
  Sampler a = Make({.temperature = 1.0f, .min_p = 0.6f});
  auto dist = a.Distribution(logits);
  EXPECT_EQ(Tokens(dist), (std::set<int32_t>{0, 1}));
  EXPECT_NEAR(dist[0].prob, 0.4 / 0.7, 1e-6);
  Sampler b = Make({.temperature = 1.0f, .min_p = 0.3f});
  EXPECT_EQ(Tokens(b.Distribution(logits)), (std::set<int32_t>{0, 1, 2}));
  Sampler c = Make({.temperature = 1.0f, .min_p = 1.0f});  // only the maximum
  EXPECT_EQ(Tokens(c.Distribution(logits)), (std::set<int32_t>{0}));
}

TEST(SamplingFilters, FiltersComposeInLlamaCppOrder) {
  // top-k 3 keeps ids 0-2 with renormalised p = {0.4, 0.3, 0.2}/0.9 = {0.444, 0.333, 0.222};
  // top-p 0.7 then keeps {0, 1} (0.444 < 0.7 <= 0.778); min-p 0.8 then drops id 1 as well
  // (0.3 / 0.4 = 0.75 < 0.8), leaving id 0.
  const std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f),
                                     std::log(0.1f)};
  Sampler kp = Make({.temperature = 1.0f, .top_k = 3, .top_p = 0.7f});
  EXPECT_EQ(Tokens(kp.Distribution(logits)), (std::set<int32_t>{0, 1}));
  Sampler kpm = Make({.temperature = 1.0f, .top_k = 3, .top_p = 0.7f, .min_p = 0.8f});
  EXPECT_EQ(Tokens(kpm.Distribution(logits)), (std::set<int32_t>{0}));
}

TEST(SamplingFilters, TemperatureScalesLogitsAfterFiltering) {
  // Logits {0, ln 2} at T = 0.5 become {0, 2 ln 2}: weights 1 and 4 -> 0.2 and 0.8.
  const std::vector<float> logits = {0.0f, std::log(2.0f)};
  Sampler s = Make({.temperature = 0.5f});
  const auto dist = s.Distribution(logits);
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_EQ(dist[0].token, 1);
  EXPECT_NEAR(dist[0].prob, 0.8, 1e-6);
  EXPECT_NEAR(dist[1].prob, 0.2, 1e-6);
  // min-p sees the untempered probabilities: p = {1/3, 2/3}, min_p 0.6 keeps only id 1, even
  // though at T = 2 the tempered ratio (0.707) would pass.
  Sampler m = Make({.temperature = 2.0f, .min_p = 0.6f});
  EXPECT_EQ(Tokens(m.Distribution(logits)), (std::set<int32_t>{1}));
}

TEST(SamplingFilters, DrawsFollowTheSoftmaxChiSquare) {
  // 50000 draws at T = 0.8 from five logits against p_i = exp(l_i / T) / Z. Chi-square with
  // 4 degrees of freedom stays below 18.47 with probability 0.999; the seed is fixed.
  const std::vector<float> logits = {1.0f, 0.0f, -1.0f, 0.5f, 2.0f};
  const double t = 0.8;
  std::vector<double> p(logits.size());
  double z = 0.0;
  for (size_t i = 0; i < p.size(); ++i) z += p[i] = std::exp(logits[i] / t);
  for (double& x : p) x /= z;
  Sampler s = Make({.temperature = 0.8f, .seed = 2024});
  std::vector<int> counts(logits.size(), 0);
  const int n = 50000;
  for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(s.Sample(logits))];
  double chi2 = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double e = n * p[i];
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  EXPECT_LT(chi2, 18.47) << "counts " << counts[0] << " " << counts[1] << " " << counts[2];

  // With top-k 2 only ids 4 and 0 are drawn, in the ratio e^(2/T) : e^(1/T).
  Sampler k = Make({.temperature = 0.8f, .top_k = 2, .seed = 5});
  std::vector<int> kc(logits.size(), 0);
  for (int i = 0; i < 20000; ++i) ++kc[static_cast<size_t>(k.Sample(logits))];
  EXPECT_EQ(kc[1] + kc[2] + kc[3], 0);
  const double p4 = 1.0 / (1.0 + std::exp(-1.0 / t));
  const double e4 = 20000 * p4, e0 = 20000 * (1 - p4);
  const double chi2k = (kc[4] - e4) * (kc[4] - e4) / e4 + (kc[0] - e0) * (kc[0] - e0) / e0;
  EXPECT_LT(chi2k, 10.83);  // 1 degree of freedom, p = 0.001
}

// ---- logit bias and penalties --------------------------------------------------------------

TEST(SamplingBias, BiasShiftsLogitsBeforeEverythingElse) {
  const std::vector<float> flat = {0.0f, 0.0f, 0.0f};
  Sampler g = Make({.logit_bias = {{2, 5.0f}}});
  EXPECT_EQ(g.Sample(flat), 2);
  // {0, 0} + bias ln 3 on id 1: weights 1 and 3.
  Sampler s = Make({.temperature = 1.0f, .logit_bias = {{1, std::log(3.0f)}}});
  const auto dist = s.Distribution(std::vector<float>{0.0f, 0.0f});
  EXPECT_EQ(dist[0].token, 1);
  EXPECT_NEAR(dist[0].prob, 0.75, 1e-6);
  // -100 is a practical ban: e^-100 against 1 never wins 1000 draws.
  Sampler ban = Make({.temperature = 1.0f, .seed = 3, .logit_bias = {{0, -100.0f}}});
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(ban.Sample(std::vector<float>{0.0f, 0.0f}), 1);
}

TEST(SamplingPenalties, RepetitionDividesPositiveAndMultipliesNegative) {
  PenaltyState st({.repetition = 2.0f, .last_n = 64});
  const int32_t prompt[] = {0, 1, 2, 0};
  st.AcceptPrompt(prompt);
  std::vector<float> logits = {3.0f, -1.5f, 0.0f, 4.0f};
  st.Apply(logits);
  EXPECT_EQ(logits[0], 1.5f);   // 3 / 2 (counted once, however often it occurred)
  EXPECT_EQ(logits[1], -3.0f);  // -1.5 * 2
  EXPECT_EQ(logits[2], 0.0f);   // 0 * 2
  EXPECT_EQ(logits[3], 4.0f);   // never seen
  // A penalty below 1 encourages: 3 / 0.5 = 6, -1.5 * 0.5 = -0.75.
  PenaltyState enc({.repetition = 0.5f, .last_n = -1});
  enc.AcceptPrompt(prompt);
  logits = {3.0f, -1.5f, 0.0f, 4.0f};
  enc.Apply(logits);
  EXPECT_EQ(logits[0], 6.0f);
  EXPECT_EQ(logits[1], -0.75f);
}

TEST(SamplingPenalties, RepetitionWindowSlides) {
  const int32_t prompt[] = {0, 1, 2};
  PenaltyState last2({.repetition = 2.0f, .last_n = 2});
  last2.AcceptPrompt(prompt);
  std::vector<float> logits = {2.0f, 2.0f, 2.0f, 2.0f};
  last2.Apply(logits);
  EXPECT_EQ(logits, (std::vector<float>{2.0f, 1.0f, 1.0f, 2.0f}));  // window {1, 2}
  last2.AcceptGenerated(3);                                          // window {2, 3}
  logits = {2.0f, 2.0f, 2.0f, 2.0f};
  last2.Apply(logits);
  EXPECT_EQ(logits, (std::vector<float>{2.0f, 2.0f, 1.0f, 1.0f}));

  PenaltyState whole({.repetition = 2.0f, .last_n = -1});
  whole.AcceptPrompt(prompt);
  logits = {2.0f, 2.0f, 2.0f, 2.0f};
  whole.Apply(logits);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 1.0f, 1.0f, 2.0f}));

  PenaltyState off({.repetition = 2.0f, .last_n = 0});
  EXPECT_FALSE(off.enabled());
  off.AcceptPrompt(prompt);
  logits = {2.0f, 2.0f, 2.0f, 2.0f};
  off.Apply(logits);
  EXPECT_EQ(logits, (std::vector<float>{2.0f, 2.0f, 2.0f, 2.0f}));
}

TEST(SamplingPenalties, PresenceAndFrequencyFollowOpenAi) {
  // Generated {5, 5, 2}: token 5 loses 2 * 0.25 + 0.5 = 1.0, token 2 loses 0.25 + 0.5 = 0.75.
  // Prompt tokens do not count in the OpenAI convention.
  PenaltyState st({.presence = 0.5f, .frequency = 0.25f});
  const int32_t prompt[] = {1, 1, 1};
  st.AcceptPrompt(prompt);
  for (int32_t t : {5, 5, 2}) st.AcceptGenerated(t);
  std::vector<float> logits(6, 1.0f);
  st.Apply(logits);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 1.0f, 0.25f, 1.0f, 1.0f, 0.0f}));

  // llama.cpp's convention counts the window of prompt + generated: token 1 occurs 3 times
  // (1 - 0.75 - 0.5 = -0.25), token 2 twice (1 - 0.5 - 0.5 = 0).
  PenaltyState win({.last_n = 64, .presence = 0.5f, .frequency = 0.25f,
                    .presence_frequency_in_window = true});
  win.AcceptPrompt(prompt);
  for (int32_t t : {2, 2}) win.AcceptGenerated(t);
  logits.assign(3, 1.0f);
  win.Apply(logits);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -0.25f, 0.0f}));

  // Negative values encourage: 1 + 1 = 2.
  PenaltyState neg({.presence = -1.0f});
  neg.AcceptGenerated(0);
  logits.assign(2, 1.0f);
  neg.Apply(logits);
  EXPECT_EQ(logits[0], 2.0f);
}

TEST(SamplingPenalties, RepetitionScalesBeforePresenceSubtracts) {
  // logit 4: / 2 -> 2, then - 0.5 -> 1.5 (subtracting first would give 1.75).
  PenaltyState st({.repetition = 2.0f, .last_n = 8, .presence = 0.5f});
  st.AcceptGenerated(0);
  std::vector<float> logits = {4.0f};
  st.Apply(logits);
  EXPECT_EQ(logits[0], 1.5f);
}

TEST(SamplingPenalties, SampleRecordsAndChooseDoesNot) {
  // Frequency 2 (greedy) on {1.0, 0.9}: 0 (1 > 0.9); then 0 is at -1 -> 1; then 0 (-1 > -1.1);
  // then 0 is at -3 -> 1.
  const std::vector<float> logits = {1.0f, 0.9f};
  Sampler s = Make({.frequency_penalty = 2.0f});
  std::vector<int32_t> got;
  for (int i = 0; i < 4; ++i) got.push_back(s.Sample(logits));
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 0, 1}));
  Sampler c = Make({.frequency_penalty = 2.0f});
  EXPECT_EQ(c.Choose(logits), 0);
  EXPECT_EQ(c.Choose(logits), 0);  // not recorded
  c.Accept(0);
  EXPECT_EQ(c.Choose(logits), 1);
  c.Reset();
  EXPECT_EQ(c.Choose(logits), 0);
  // Greedy with a repetition penalty over the prompt: 3 / 2 = 1.5 < 2.
  Sampler r = Make({.repetition_penalty = 2.0f});
  const int32_t prompt[] = {0};
  r.AcceptPrompt(prompt);
  EXPECT_EQ(r.Sample(std::vector<float>{3.0f, 2.0f}), 1);
}

// ---- seeds ---------------------------------------------------------------------------------

std::vector<int32_t> Stream(Sampler& s, size_t vocab, int n) {
  const std::vector<float> flat(vocab, 0.0f);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.Sample(flat));
  return out;
}

TEST(SamplingSeeds, FirstDrawIsPinnedByTheStandardGenerator) {
  // std::mt19937_64's first output for seed 5489 is 14514284786278117030 (fixed by the C++
  // standard); its top 53 bits give u = 0.78682, so a flat 10-token row yields token 7.
  Sampler s = Make({.temperature = 1.0f, .seed = 5489});
  EXPECT_EQ(s.Sample(std::vector<float>(10, 0.0f)), 7);
}

TEST(SamplingSeeds, SameSeedSameStreamDifferentSeedDifferentStream) {
  Sampler a = Make({.temperature = 1.0f, .seed = 1});
  Sampler b = Make({.temperature = 1.0f, .seed = 1});
  Sampler c = Make({.temperature = 1.0f, .seed = 2});
  const auto sa = Stream(a, 1000, 100), sb = Stream(b, 1000, 100), sc = Stream(c, 1000, 100);
  EXPECT_EQ(sa, sb);
  int same = 0;
  for (size_t i = 0; i < sa.size(); ++i) same += sa[i] == sc[i];
  EXPECT_LT(same, 10);  // 0.1 coincidences expected on a flat 1000-token row
  // Reset replays the stream.
  a.Reset();
  EXPECT_EQ(Stream(a, 1000, 100), sa);
}

TEST(SamplingSeeds, SequencesAreIndependent) {
  Sampler alone = Make({.temperature = 1.0f, .seed = 7});
  const auto expected = Stream(alone, 500, 50);
  Sampler a = Make({.temperature = 1.0f, .seed = 7});
  Sampler other = Make({.temperature = 1.0f, .seed = 7});
  const std::vector<float> flat(500, 0.0f);
  std::vector<int32_t> got;
  for (int i = 0; i < 50; ++i) {
    got.push_back(a.Sample(flat));
    other.Sample(flat);  // another sequence drawing in between changes nothing
    other.Sample(flat);
  }
  EXPECT_EQ(got, expected);
}

TEST(SamplingSeeds, DerivedSeedsAreDistinctAndReproducible) {
  std::set<uint64_t> seeds;
  for (uint64_t i = 0; i < 1000; ++i) seeds.insert(DeriveSeed(42, i));
  EXPECT_EQ(seeds.size(), 1000u);
  EXPECT_EQ(DeriveSeed(42, 3), DeriveSeed(42, 3));
  EXPECT_NE(DeriveSeed(42, 3), DeriveSeed(43, 3));
  Sampler a = Make({.temperature = 1.0f, .seed = DeriveSeed(42, 0)});
  Sampler b = Make({.temperature = 1.0f, .seed = DeriveSeed(42, 1)});
  EXPECT_NE(Stream(a, 1000, 20), Stream(b, 1000, 20));
}

// ---- logprobs ------------------------------------------------------------------------------

TEST(SamplingLogprobs, MatchesHandComputedLogSoftmax) {
  // log-sum-exp{1, 2, 3} = 3 + ln(1 + e^-1 + e^-2) = 3 + ln 1.5032147 = 3.4076059645.
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  auto lp = ComputeLogprobs(logits, 0, 2);
  ASSERT_TRUE(lp.ok()) << lp.status().ToString();
  EXPECT_EQ(lp->chosen.token, 0);
  EXPECT_NEAR(lp->chosen.logprob, -2.4076059645, 1e-9);
  ASSERT_EQ(lp->top.size(), 2u);
  EXPECT_EQ(lp->top[0].token, 2);
  EXPECT_NEAR(lp->top[0].logprob, -0.4076059645, 1e-9);
  EXPECT_EQ(lp->top[1].token, 1);
  EXPECT_NEAR(lp->top[1].logprob, -1.4076059645, 1e-9);
  auto lse = LogSumExp(logits);
  ASSERT_TRUE(lse.ok());
  EXPECT_NEAR(*lse, 3.4076059645, 1e-9);
}

TEST(SamplingLogprobs, StableForHugeLogitsAndHandlesEdgeCases) {
  // A naive exp(1000) overflows; each of two equal logits has log 0.5.
  auto big = ComputeLogprobs(std::vector<float>{1000.0f, 1000.0f}, 1, 5);
  ASSERT_TRUE(big.ok());
  EXPECT_NEAR(big->chosen.logprob, std::log(0.5), 1e-12);
  EXPECT_EQ(big->top.size(), 2u);  // top_n larger than the vocabulary
  auto tiny = ComputeLogprobs(std::vector<float>{-1000.0f, -1000.0f}, 0, 0);
  ASSERT_TRUE(tiny.ok());
  EXPECT_NEAR(tiny->chosen.logprob, std::log(0.5), 1e-12);
  EXPECT_TRUE(tiny->top.empty());
  // Ties go to the lower id; a -inf token has logprob -inf.
  auto ties = ComputeLogprobs(std::vector<float>{5.0f, 1.0f, 5.0f, -INFINITY}, 3, 2);
  ASSERT_TRUE(ties.ok());
  EXPECT_EQ(ties->top[0].token, 0);
  EXPECT_EQ(ties->top[1].token, 2);
  EXPECT_EQ(ties->chosen.logprob, -INFINITY);
}

TEST(SamplingLogprobs, TopNOnALargeVocabularyMatchesAFullSort) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> uni(-10.0f, 10.0f);
  std::vector<float> logits(49152);
  for (float& x : logits) x = uni(gen);
  double max = *std::max_element(logits.begin(), logits.end()), sum = 0.0;
  for (float x : logits) sum += std::exp(x - max);
  const double lse = max + std::log(sum);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  auto lp = ComputeLogprobs(logits, 77, kMaxTopLogprobs);
  ASSERT_TRUE(lp.ok());
  ASSERT_EQ(lp->top.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(lp->top[i].token, order[i]);
    EXPECT_NEAR(lp->top[i].logprob, logits[static_cast<size_t>(order[i])] - lse, 1e-9);
  }
  EXPECT_NEAR(lp->chosen.logprob, logits[77] - lse, 1e-9);
}

TEST(SamplingLogprobs, Errors) {
  const std::vector<float> logits = {0.0f, 1.0f};
  auto too_many = ComputeLogprobs(logits, 0, kMaxTopLogprobs + 1);
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("top_logprobs"), std::string::npos);
  EXPECT_EQ(ComputeLogprobs(logits, 0, -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeLogprobs(logits, 2, 1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ComputeLogprobs(logits, -1, 1).status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(ComputeLogprobs(std::vector<float>{0.0f, std::nanf("")}, 0, 1).ok());
  EXPECT_FALSE(ComputeLogprobs(std::vector<float>{INFINITY, 0.0f}, 0, 1).ok());
  EXPECT_FALSE(ComputeLogprobs(std::vector<float>{-INFINITY, -INFINITY}, 0, 1).ok());
  EXPECT_FALSE(LogSumExp(std::vector<float>{}).ok());
}

// ---- stop strings --------------------------------------------------------------------------

struct Fed {
  std::string text;  // everything emitted, including the final flush when not stopped
  int32_t matched = -1;
  size_t max_held = 0;
};

Fed Feed(const std::vector<std::string>& stops, const std::vector<std::string>& pieces,
         StopMatcher::Options options = {}) {
  auto m = StopMatcher::Create(stops, options);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  Fed fed;
  for (const std::string& p : pieces) {
    const auto out = m->Push(p);
    fed.text += out.text;
    fed.max_held = std::max(fed.max_held, m->held_bytes());
    if (out.stopped()) {
      fed.matched = out.matched;
      EXPECT_TRUE(m->Push("more").text.empty());  // nothing after a match
      return fed;
    }
  }
  fed.text += m->Flush();
  return fed;
}

TEST(StopMatcherTest, SplitAcrossPieces) {
  Fed two = Feed({"STOP"}, {"Hello ST", "OP and more"});
  EXPECT_EQ(two.text, "Hello ");
  EXPECT_EQ(two.matched, 0);
  Fed four = Feed({"<|end|>"}, {"ab<|e", "nd", "|", ">xyz"});
  EXPECT_EQ(four.text, "ab");
  EXPECT_EQ(four.matched, 0);
  Fed three = Feed({"\n\n"}, {"line\n", "\n", "next"});
  EXPECT_EQ(three.text, "line");
}

TEST(StopMatcherTest, HoldsBackOnlyPossiblePrefixes) {
  auto m = StopMatcher::Create({"abc"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Push("xxab").text, "xx");  // "ab" could start "abc"
  EXPECT_EQ(m->held_bytes(), 2u);
  EXPECT_EQ(m->Push("d").text, "abd");  // it did not: released at once
  EXPECT_EQ(m->held_bytes(), 0u);
  EXPECT_EQ(m->Push("xyz").text, "xyz");  // no prefix of "abc": nothing held
}

TEST(StopMatcherTest, OverlappingCandidates) {
  // "aaab" with stop "aab": the match starts at the second 'a'; only the first is shown.
  Fed f = Feed({"aab"}, {"a", "a", "a", "b", "c"});
  EXPECT_EQ(f.text, "a");
  EXPECT_EQ(f.matched, 0);
  Fed g = Feed({"abab"}, {"aba", "bab"});  // "ababab": match at 0
  EXPECT_EQ(g.text, "");
}

TEST(StopMatcherTest, StopAtTheVeryStart) {
  Fed f = Feed({"Hi"}, {"Hi there"});
  EXPECT_EQ(f.text, "");
  EXPECT_EQ(f.matched, 0);
}

TEST(StopMatcherTest, FirstCompletedStopWins) {
  // "ab" completes before "abc" could: index 1, text "x".
  Fed a = Feed({"abc", "ab"}, {"xabcd"});
  EXPECT_EQ(a.matched, 1);
  EXPECT_EQ(a.text, "x");
  // The same when the text arrives byte by byte.
  Fed a1 = Feed({"abc", "ab"}, {"x", "a", "b", "c"});
  EXPECT_EQ(a1.matched, 1);
  EXPECT_EQ(a1.text, "x");
  // Completing at the same byte: the longer one (hides more), whichever order they are given.
  Fed b = Feed({"b", "ab"}, {"xa", "b"});
  EXPECT_EQ(b.matched, 1);
  EXPECT_EQ(b.text, "x");
  Fed b2 = Feed({"ab", "b"}, {"xab"});
  EXPECT_EQ(b2.matched, 0);
  EXPECT_EQ(b2.text, "x");
  // Earlier in the text wins over earlier in the list.
  Fed c = Feed({"world", "lo"}, {"hello world"});
  EXPECT_EQ(c.matched, 1);
  EXPECT_EQ(c.text, "hel");
}

TEST(StopMatcherTest, Utf8StopStrings) {
  // "世界" is six bytes; the text before it is emitted whole, never a partial character.
  Fed f = Feed({"世界"}, {"你好世", "界!"});
  EXPECT_EQ(f.text, "你好");
  EXPECT_EQ(f.matched, 0);
  auto m = StopMatcher::Create({"世界"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Push("你好世").text, "你好");
  EXPECT_EQ(m->held_bytes(), 3u);                // "世", one whole character
  EXPECT_EQ(m->Push("人").text, "世人");
  // "é" (C3 A9) as stop, "è" (C3 A8) in the text: same lead byte, nothing held.
  auto e = StopMatcher::Create({"é"});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->Push("caf\xC3\xA8").text, "caf\xC3\xA8");
  EXPECT_EQ(e->Push("caf\xC3\xA9!").text, "caf");
}

TEST(StopMatcherTest, FlushReleasesHeldTextWithoutLoss) {
  Fed f = Feed({"END"}, {"the E", "N"});
  EXPECT_EQ(f.text, "the EN");
  EXPECT_EQ(f.matched, -1);
  auto m = StopMatcher::Create({"END"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Push("xE").text, "x");
  EXPECT_EQ(m->Flush(), "E");
  EXPECT_EQ(m->Flush(), "");  // nothing twice
  EXPECT_EQ(m->Push("yy").text, "yy");
  // No stop strings: pass-through, nothing held.
  Fed none = Feed({}, {"a", "bc"});
  EXPECT_EQ(none.text, "abc");
  EXPECT_EQ(none.max_held, 0u);
}

TEST(StopMatcherTest, IncludeStopOption) {
  Fed f = Feed({"</s>"}, {"ok</", "s>tail"}, {.include_stop = true});
  EXPECT_EQ(f.text, "ok</s>");
}

// Reference: the earliest-ending occurrence over all stops (longest on a tie), by brute force.
std::pair<size_t, int32_t> NaiveFirstStop(const std::string& text,
                                          const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    int32_t best = -1;
    for (size_t i = 0; i < stops.size(); ++i) {
      const std::string& s = stops[i];
      if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0 &&
          (best < 0 || s.size() > stops[static_cast<size_t>(best)].size())) {
        best = static_cast<int32_t>(i);
      }
    }
    if (best >= 0) return {end - stops[static_cast<size_t>(best)].size(), best};
  }
  return {text.size(), -1};
}

TEST(StopMatcherTest, RandomSplitsAgreeWithBruteForce) {
  const std::vector<std::string> stops = {"abc", "cab", "bb", "acca"};
  std::mt19937 gen(17);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const size_t len = 1 + gen() % 24;
    for (size_t i = 0; i < len; ++i) text += static_cast<char>('a' + gen() % 3);
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      const size_t n = std::min<size_t>(text.size() - pos, 1 + gen() % 4);
      pieces.push_back(text.substr(pos, n));
      pos += n;
    }
    const auto [start, which] = NaiveFirstStop(text, stops);
    const Fed fed = Feed(stops, pieces);
    ASSERT_EQ(fed.matched, which) << text;
    ASSERT_EQ(fed.text, text.substr(0, start)) << text;
    ASSERT_LT(fed.max_held, 4u);  // < longest stop string
  }
}

TEST(StopMatcherTest, Limits) {
  std::vector<std::string> many(kMaxStopStrings + 1, "x");
  auto m = StopMatcher::Create(many);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("stop"), std::string::npos);
  EXPECT_FALSE(StopMatcher::Create({"ok", ""}).ok());
  EXPECT_FALSE(StopMatcher::Create({std::string(kMaxStopBytes + 1, 'a')}).ok());
  EXPECT_TRUE(StopMatcher::Create({std::string(kMaxStopBytes, 'a')}).ok());
  EXPECT_TRUE(StopMatcher::Create(std::vector<std::string>(kMaxStopStrings, "x")).ok());
}

TEST(FinishReasonTest, NamesAndPrecedence) {
  EXPECT_EQ(FinishReasonName(FinishReason::kStop), "stop");
  EXPECT_EQ(FinishReasonName(FinishReason::kLength), "length");
  EXPECT_EQ(FinishReasonName(FinishReason::kEog), "eog");
  EXPECT_EQ(OpenAiFinishReason(FinishReason::kEog), "stop");
  EXPECT_EQ(OpenAiFinishReason(FinishReason::kLength), "length");
  // eog > stop string > length; ignore_eos turns eog off.
  EXPECT_EQ(FinishAfterToken(true, false, true, 10, 10, true), FinishReason::kEog);
  EXPECT_EQ(FinishAfterToken(true, true, true, 10, 10, false), FinishReason::kStop);
  EXPECT_EQ(FinishAfterToken(false, false, false, 10, 10, false), FinishReason::kLength);
  EXPECT_EQ(FinishAfterToken(false, false, false, 3, 10, true), FinishReason::kLength);
  EXPECT_EQ(FinishAfterToken(false, false, false, 3, 10, false), FinishReason::kNone);
}

}  // namespace
}  // namespace spatten::sampling
