// The dataset cache key follows the key declarations: every dataset key declared to shape samples
// changes it, the others do not, and the data files count by their bytes, not their names.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/config/section_keys.h"
#include "automodel/data/dataset_cache.h"
#include "test_util.h"

namespace automodel::data {
namespace {

using config::CacheKey;
using nlohmann::json;

// A value other than each key's default, for the keys whose value the cache key hashes (must
// change it) or leaves out (must not). A new dataset key needs one here.
const std::map<std::string, json>& other_values() {
  static const std::map<std::string, json> values = {
      {"_target_", "automodel.data.TextDataset"},
      {"split", "validation"},
      {"column_mapping", {{"question", "q2"}}},
      {"seq_length", 32},
      {"answer_only_loss_mask", false},
      {"padding", "max_length"},
      {"truncation", true},
      {"chat_template", "{{ messages }}"},
      {"use_hf_chat_template", true},
      {"limit_dataset_samples", 5},
      {"num_samples_limit", 5},
      {"skip_invalid_samples", true},
      {"text_column", "body"},
      {"vocab_size", 50},
      {"seq_len", 16},
      {"num_samples", 10},
      {"seed", 7},
      {"pad_seq_len_divisible", 8},
      {"batch_size", 4},
      {"start_of_turn_token", "<s>"},
  };
  return values;
}

config::DatasetSection parse(const json& body) {
  return config::parse_dataset(hf::JsonFields(std::make_shared<const json>(body), "test.yaml", "dataset."), "dataset");
}

class DatasetCacheKey : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_ / "d.jsonl") << "{\"q\": \"a question\", \"a\": \"an answer\"}\n";
    // Two baselines, so that keys read only by one dataset format are exercised too.
    baselines_ = {{{"_target_", "ColumnMappedTextInstructionDataset"},
                   {"path_or_dataset_id", (dir_ / "d.jsonl").string()},
                   {"column_mapping", {{"question", "q"}, {"answer", "a"}}},
                   {"seq_length", 16}},
                  {{"_target_", "MockIterableDataset"}}};
  }
  std::string key_of(const json& body) const { return dataset_cache_key(parse(body), "tokenizer", 0); }

  testing::TempDir dir_;
  std::vector<json> baselines_;
};

TEST_F(DatasetCacheKey, EachKeyDeclaredToShapeSamplesChangesItAndNoOtherDoes) {
  size_t shaping = 0;
  for (const auto& key : config::dataset_section().keys) {
    const auto& name = key.spec.name;
    SCOPED_TRACE("dataset." + name);
    ASSERT_NE(key.spec.cache, CacheKey::kNotDataset) << "declare whether the key shapes samples (.cache(...))";
    if (key.spec.cache == CacheKey::kContent) continue;  // below
    auto other = other_values().find(name);
    ASSERT_NE(other, other_values().end()) << "add a value for dataset." << name << " to other_values()";
    bool changed = false;
    for (const auto& baseline : baselines_) {
      auto body = baseline;
      body[name] = other->second;
      std::string changed_key;
      try {
        changed_key = key_of(body);
      } catch (const Error&) {
        continue;  // not a valid combination for this format (e.g. TextDataset without a file)
      }
      if (key.spec.cache == CacheKey::kNone) {
        EXPECT_EQ(changed_key, key_of(baseline)) << baseline.dump();
      }
      changed = changed || changed_key != key_of(baseline);
    }
    if (key.spec.cache == CacheKey::kValue) {
      EXPECT_TRUE(changed) << "declared to shape samples, but the cache key ignores it";
      ++shaping;
    }
  }
  EXPECT_GE(shaping, 15u);
}

// Data files count by their bytes: the same rows under another name (or spelling of the key)
// reuse the cache; other rows do not.
TEST_F(DatasetCacheKey, DataFilesCountByTheirBytesNotTheirNames) {
  const auto baseline = key_of(baselines_[0]);
  std::ofstream(dir_ / "copy.jsonl") << "{\"q\": \"a question\", \"a\": \"an answer\"}\n";
  std::ofstream(dir_ / "other.jsonl") << "{\"q\": \"another question\", \"a\": \"an answer\"}\n";
  for (const char* name : {"path_or_dataset_id", "path_or_dataset", "dataset_name", "data_files"}) {
    SCOPED_TRACE(name);
    auto body = baselines_[0];
    body.erase("path_or_dataset_id");
    body[name] = (dir_ / "copy.jsonl").string();
    EXPECT_EQ(key_of(body), baseline);
    body[name] = (dir_ / "other.jsonl").string();
    EXPECT_NE(key_of(body), baseline);
  }
  EXPECT_NE(dataset_cache_key(parse(baselines_[0]), "another tokenizer", 0), baseline);
  EXPECT_NE(dataset_cache_key(parse(baselines_[0]), "tokenizer", 512), baseline);  // the pack size
  // A chat_template naming a file counts by the file's text too.
  auto body = baselines_[0];
  body["chat_template"] = (dir_ / "t.jinja").string();
  std::ofstream(dir_ / "t.jinja") << "{{ messages }}";
  const auto with_template = key_of(body);
  std::ofstream(dir_ / "t.jinja") << "{{ messages | length }}";
  EXPECT_NE(key_of(body), with_template);
}

}  // namespace
}  // namespace automodel::data
