// Token ids against the model's vocabulary (issue 17, "Smaller"): the first id that would index
// past the embedding is named with its dataset row, the id and both vocabulary sizes.
#include <gtest/gtest.h>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/data/dataset.h"
#include "automodel/data/token_ids.h"
#include "test_util.h"

namespace automodel::data {
namespace {

std::string error_of(const std::function<void()>& f) { return testing::error_message_of<Error>(f); }

Sample sample(std::vector<int32_t> ids) { return make_sample(std::move(ids), std::vector<uint8_t>(3, 1)); }

TEST(TokenIds, NamesTheRowTheIdAndBothVocabularySizes) {
  testing::TempDir dir;
  write_file_atomic(dir / "rows.jsonl", "{\"q\": \"a\"}\n\n{\"q\": \"b\"}\n{\"q\": \"c\"}\n");
  config::DatasetSection section;
  section.label = "dataset";
  section.path = (dir / "rows.jsonl").string();
  TokenizedDataset ds;
  ds.samples = {sample({1, 2, 3}), sample({4, 700, 5})};
  ds.sample_rows = {0, 2};  // the second sample is the third row, on line 4 (line 2 is blank)
  EXPECT_NO_THROW(check_token_ids(ds, section, 701, "m/config.json", 800));
  auto message = error_of([&] { check_token_ids(ds, section, 512, "m/config.json", 800); });
  EXPECT_NE(message.find(section.path + " line 4"), std::string::npos) << message;
  EXPECT_NE(message.find("token id 700"), std::string::npos) << message;
  EXPECT_NE(message.find("expected 0 to 511 (vocab_size 512 in m/config.json)"), std::string::npos) << message;
  EXPECT_NE(message.find("tokenizer has 800 tokens"), std::string::npos) << message;
}

TEST(TokenIds, NegativeIdsAndUnknownRowsAreReportedToo) {
  config::DatasetSection section;
  section.label = "validation_dataset";
  section.path = "/nonexistent.jsonl";
  TokenizedDataset ds;
  ds.samples = {sample({1, -7, 3})};
  auto message = error_of([&] { check_token_ids(ds, section, 10, "c.json", 10); });
  EXPECT_NE(message.find("sample 1 (validation_dataset): token id -7"), std::string::npos) << message;
}

TEST(TokenIds, MockDatasetNamesItsVocabSize) {
  config::DatasetSection section;
  section.kind = config::Component::kMockDataset;
  section.label = "dataset";
  section.mock_vocab_size = 1000;
  section.mock_seq_len = 8;
  section.mock_num_samples = 4;
  auto ds = mock_dataset(section);
  auto message = error_of([&] { check_token_ids(ds, section, 100, "c.json", 0); });
  EXPECT_NE(message.find("dataset.vocab_size is 1000, expected at most the model's vocab_size 100"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(check_token_ids(ds, section, 0, "c.json", 0));  // vocabulary unknown: skipped
}

}  // namespace
}  // namespace automodel::data
