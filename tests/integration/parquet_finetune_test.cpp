// A column-mapped GSM8K recipe trains from Parquet as the hub lays it out
// (data/<split>-0000i-of-00002.parquet, converted from the JSONL fixture by pyarrow) and sees the
// same samples as from the JSONL: the same rows, and bit-identical losses step by step.
#include <gtest/gtest.h>

#include "automodel/data/arrow_rows.h"
#include "automodel/data/rows.h"
#include "finetune_util.h"

namespace automodel {
namespace {

TEST(ParquetFinetune, GsmRecipeFromHubParquetShardsTrainsOnTheSameSamplesAsFromJsonl) {
  AUTOMODEL_REQUIRE_ORACLE("pyarrow");
  ASSERT_TRUE(data::arrow_support()) << "built without pyarrow (AUTOMODEL_ARROW)";
  TempDir dir;
  auto gsm = testing::fixtures_dir() / "datasets" / "gsm8k";
  auto hub = (dir / "gsm8k").string() + "/";
  for (const char* split : {"train", "test"}) {
    auto r = run_command("'" + testing::python() + "' '" + testing::oracle_script("arrow_datasets.py").string() +
                         "' convert '" + (gsm / (std::string(split) + ".jsonl.gz")).string() + "' '" + hub + "' " + split);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  for (const char* split : {"train", "test"}) {
    auto jsonl = data::read_rows((gsm / (std::string(split) + ".jsonl.gz")).string(), "");
    auto parquet = data::read_rows(hub, split);
    ASSERT_EQ(parquet.size(), jsonl.size()) << split;
    for (size_t i = 0; i < jsonl.size(); ++i) ASSERT_EQ(parquet[i].value, jsonl[i].value) << split << " row " << i + 1;
  }

  TempDir a, b;
  const std::string steps = "--step_scheduler.max_steps=3 ";
  auto from_jsonl = train(write_recipe(a), steps);
  auto from_parquet = train(write_recipe(b), steps + "--dataset.path_or_dataset_id=" + hub + " --dataset.split=train " +
                                                 "--validation_dataset.path_or_dataset_id=" + hub +
                                                 " --validation_dataset.split=test");
  ASSERT_EQ(from_jsonl.exit_code, 0) << from_jsonl.output;
  ASSERT_EQ(from_parquet.exit_code, 0) << from_parquet.output;
  expect_identical_steps(read_jsonl(b / "ckpt" / "training.jsonl"), read_jsonl(a / "ckpt" / "training.jsonl"));
  EXPECT_EQ(read_jsonl(b / "ckpt" / "training.jsonl").size(), 3u);
}

}  // namespace
}  // namespace automodel
