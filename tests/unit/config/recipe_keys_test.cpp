// The key declarations (config/key.h): every key documented, defaults taken from the typed
// sections, and docs/recipe-keys.md printed from them (so the reference cannot drift).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "automodel/common/atomic_file.h"
#include "automodel/config/recipe_config.h"
#include "automodel/config/section_keys.h"
#include "test_util.h"

namespace automodel::config {
namespace {

TEST(RecipeKeys, EveryKeyIsDocumentedAndTyped) {
  size_t keys = 0;
  for (const auto& section : recipe_sections()) {
    SCOPED_TRACE(section.name);
    EXPECT_FALSE(section.doc.empty()) << "a section says what it is for";
    for (const auto& key : section.keys) {
      SCOPED_TRACE(key.name);
      ++keys;
      if (key.use == KeyUse::kNoEffect) {
        EXPECT_FALSE(key.reason.empty());
        continue;
      }
      EXPECT_FALSE(key.doc.empty()) << "a key that is read says what it does";
      EXPECT_FALSE(key.type.empty()) << "declare the type of a key read through a custom reader (.type(...))";
    }
  }
  EXPECT_EQ(recipe_keys().size(), recipe_sections().size()) << "a section is listed twice";
  EXPECT_GT(keys, 150u);
}

// Defaults have one home: the typed sections' initialisers, which the declarations print.
TEST(RecipeKeys, DocumentedDefaultsAreTheTypedSectionsInitialisers) {
  auto default_of = [](const std::string& section, const std::string& key) {
    for (const auto& spec : recipe_keys().at(section))
      if (spec.name == key) return spec.default_value;
    return std::string("<not declared>");
  };
  EXPECT_EQ(default_of("peft", "dim"), std::to_string(PeftSection{}.dim));
  EXPECT_EQ(default_of("model", "revision"), ModelSection{}.revision);
  EXPECT_EQ(default_of("dataset", "seq_len"), std::to_string(DatasetSection{}.mock_seq_len));
  EXPECT_EQ(default_of("dist_env", "timeout_minutes"), fmt::format("{}", RecipeConfig{}.timeout_minutes));
  EXPECT_EQ(default_of("dataloader", "shuffle"), "false");
  // And parsing a recipe without the keys leaves exactly those values.
  auto c = parse_recipe(nlohmann::json::parse(R"({"model": {"pretrained_model_name_or_path": "m"},
      "dataset": {"path_or_dataset_id": "d.jsonl"}, "peft": {}})"), "r.yaml");
  EXPECT_EQ(c.peft.dim, PeftSection{}.dim);
  EXPECT_EQ(c.dataset.text_column, DatasetSection{}.text_column);
  EXPECT_EQ(c.dataloader.shuffle, DataLoaderSection{}.shuffle);
  EXPECT_DOUBLE_EQ(c.optimizer.weight_decay, OptimizerSection{}.weight_decay);
}

// Dataset keys are the only ones the cache key can see; each says whether it shapes samples.
TEST(RecipeKeys, OnlyAndEveryDatasetKeySaysWhetherItShapesSamples) {
  for (const auto& section : recipe_sections())
    for (const auto& key : section.keys) {
      SCOPED_TRACE(section.name + "." + key.name);
      const bool dataset = section.name == "dataset" || section.name == "validation_dataset";
      EXPECT_EQ(key.cache != CacheKey::kNotDataset, dataset);
    }
}

TEST(RecipeKeysDoc, CommittedReferenceMatchesTheDeclarations) {
  const auto path = testing::source_dir() / "docs" / "recipe-keys.md";
  const auto generated = recipe_keys_markdown();
  if (const char* update = std::getenv("AUTOMODEL_UPDATE_DOCS"); update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << generated;
    GTEST_SKIP() << "wrote " << path;
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(path)) << path;
  EXPECT_TRUE(read_file(path) == generated)
      << path.string() << " is out of date with the key declarations in src/automodel/config/. Regenerate it with\n"
      << "  AUTOMODEL_UPDATE_DOCS=1 build/tests/data_unit_tests --gtest_filter='RecipeKeysDoc.*'";
}

}  // namespace
}  // namespace automodel::config
