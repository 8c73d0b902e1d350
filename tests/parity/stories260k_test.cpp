// A real pretrained model: stories260K (Llama, tied embeddings, GQA) must greedily decode from
// BOS exactly the reference ids (which decode to llama2.c's run.c output).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/models/common/generation.h"
#include "automodel/models/registry.h"
#include "test_util.h"

namespace automodel {
namespace {

TEST(Stories260K, GreedyDecodingFromBosReproducesReferenceIds) {
  auto dir = automodel::testing::fixtures_dir() / "stories260K";
  auto reference = nlohmann::json::parse(read_file(dir / "reference_greedy_ids.json"))["greedy_ids_from_bos"]
                       .get<std::vector<int64_t>>();
  ASSERT_EQ(reference.size(), 201u);
  auto model = models::load_pretrained(dir.string());
  models::SamplingOptions options;
  options.max_new_tokens = static_cast<int64_t>(reference.size()) - 1;
  auto ids = models::generate(*model, {reference[0]}, options);
  ASSERT_EQ(ids.size(), reference.size());
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], reference[i]) << "first divergence at position " << i;
}

TEST(Stories260K, SamplingIsReproducibleForASeedAndStopsAtEos) {
  auto model = models::load_pretrained((automodel::testing::fixtures_dir() / "stories260K").string());
  models::SamplingOptions options;
  options.max_new_tokens = 40;
  options.temperature = 0.8;
  options.top_p = 0.9;
  options.top_k = 50;
  options.seed = 42;
  auto a = models::generate(*model, {1}, options);
  auto b = models::generate(*model, {1}, options);
  EXPECT_EQ(a, b);
  options.seed = 43;
  EXPECT_NE(a, models::generate(*model, {1}, options));
  // Treat the first sampled token as EOS: generation must stop right after it.
  options.seed = 42;
  options.eos_token_ids = {a[1]};
  EXPECT_EQ(models::generate(*model, {1}, options).size(), 2u);
}

}  // namespace
}  // namespace automodel
