// Parquet and Arrow IPC files written live by HF `datasets` (to_parquet, save_to_disk of a
// Dataset and a DatasetDict, the hub's sharded layout, its cache's .arrow names) and by
// `pyarrow` (several row groups, dictionary pages, every codec, format v1, IPC file and stream)
// read back as exactly the rows pyarrow's to_pylist() gives (tests/oracles/arrow_datasets.py,
// bytes as base64).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/data/arrow_rows.h"
#include "automodel/data/rows.h"
#include "test_util.h"

namespace automodel::data {
namespace {

namespace fs = std::filesystem;

// The oracle's files, written once for the whole suite.
const fs::path& cases() {
  static testing::TempDir dir;
  static bool written = [] {
    auto r = testing::run_command("'" + testing::python() + "' '" + testing::oracle_script("arrow_datasets.py").string() +
                                  "' cases '" + dir.path().string() + "'");
    if (r.exit_code != 0) throw std::runtime_error("arrow_datasets.py failed: " + r.output);
    return true;
  }();
  (void)written;
  return dir.path();
}

std::vector<nlohmann::json> expected(const std::string& name) {
  std::vector<nlohmann::json> rows;
  for (auto& row : parse_jsonl(read_file(cases() / name), name)) rows.push_back(std::move(row.value));
  return rows;
}

void expect_same(const std::string& path, const std::string& split, const std::string& jsonl) {
  auto rows = read_rows((cases() / path).string(), split);
  auto want = expected(jsonl);
  ASSERT_EQ(rows.size(), want.size()) << path;
  for (size_t i = 0; i < rows.size(); ++i)
    ASSERT_EQ(rows[i].value, want[i]) << path << " " << rows[i].position() << "\nours:   " << rows[i].value.dump()
                                      << "\npyarrow: " << want[i].dump();
}

#define REQUIRE_ORACLES()                          \
  AUTOMODEL_REQUIRE_ORACLE("pyarrow datasets PIL"); \
  if (!arrow_support()) FAIL() << "built without pyarrow (AUTOMODEL_ARROW)"

TEST(ArrowDatasetsOracle, FilesWrittenByDatasetsReadBackAsTheirRows) {
  REQUIRE_ORACLES();
  expect_same("datasets.parquet", "", "datasets.jsonl");
  expect_same("saved", "train", "datasets.jsonl");  // save_to_disk, two .arrow shards
  expect_same("dict", "train", "datasets.jsonl");   // DatasetDict: <split>/data-*.arrow
  expect_same("dict", "test", "datasets_test.jsonl");
  expect_same("hub", "train", "datasets.jsonl");    // data/train-0000i-of-00002.parquet
  expect_same("cache", "train", "datasets.jsonl");  // json-train-0000i-of-00002.arrow
}

TEST(ArrowDatasetsOracle, FilesWrittenByPyarrowReadBackAsTheirRows) {
  REQUIRE_ORACLES();
  for (const char* file : {"pyarrow_zstd.parquet", "pyarrow_snappy.parquet", "pyarrow_gzip.parquet",
                           "pyarrow_none.parquet", "pyarrow_v1.parquet", "pyarrow_file.arrow", "pyarrow_stream.arrow"})
    expect_same(file, "", "pyarrow.jsonl");
}

// 10,000 rows in row groups of 3,000, read in batches: every row once, in order; a limit stops
// mid row group.
TEST(ArrowDatasetsOracle, ManyRowGroupsReadInOrderAndLimitsStopEarly) {
  REQUIRE_ORACLES();
  expect_same("big.parquet", "", "big.jsonl");
  auto rows = read_rows((cases() / "big.parquet").string(), "", 4500);
  ASSERT_EQ(rows.size(), 4500u);
  EXPECT_EQ(rows.back().value, expected("big.jsonl")[4499]);
}

}  // namespace
}  // namespace automodel::data
