// Parquet and Arrow IPC rows (data/arrow_rows.h) from the committed fixture: every column type a
// dataset row carries, folder layouts as HF datasets writes them, limits, and bad files as errors
// (never crashes). tests/oracle/arrow_datasets_test.cpp checks files written live by
// `datasets`/`pyarrow`.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/base64.h"
#include "automodel/common/error.h"
#include "automodel/data/arrow_rows.h"
#include "automodel/data/rows.h"
#include "test_util.h"

namespace automodel::data {
namespace {

namespace fs = std::filesystem;
using testing::error_message_of;

fs::path fixture(const std::string& name) { return testing::fixtures_dir() / "datasets" / "parquet" / name; }

std::vector<nlohmann::json> jsonl(const fs::path& path) {
  std::vector<nlohmann::json> rows;
  for (auto& row : parse_jsonl(read_file(path), path.string())) rows.push_back(std::move(row.value));
  return rows;
}

void expect_rows(const std::vector<Row>& got, const std::vector<nlohmann::json>& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].value, expected[i]) << what << " row " << i + 1;
}

void write_bytes(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

#define REQUIRE_ARROW() \
  if (!arrow_support()) GTEST_SKIP() << "built without pyarrow (AUTOMODEL_ARROW)"

TEST(Base64, EncodesAndDecodesEveryPaddingAndRejectsGarbage) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode(std::string("\0\xff\x10", 3)), "AP8Q");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < 8; ++n) EXPECT_EQ(base64_decode(base64_encode(all.substr(n))), all.substr(n));
  EXPECT_THROW(base64_decode("Zm9"), Error);
  EXPECT_THROW(base64_decode("Zm9*"), Error);
}

// Every type: ints of each width and sign, float32, dictionaries, large strings, chat messages
// (list<struct>), nested lists, structs with null fields, null columns, binary, timestamps,
// dates, decimals; nulls throughout; two row groups.
TEST(ArrowRows, ParquetRowsEqualTheirJsonLinesAndBytesRoundTrip) {
  REQUIRE_ARROW();
  auto rows = read_rows(fixture("mixed.parquet").string(), "");
  expect_rows(rows, jsonl(fixture("mixed.jsonl")), "mixed.parquet");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[4].position(), "row 5");  // row 1 of the second row group
  EXPECT_EQ(base64_decode(rows[0].value["image"]["bytes"].get<std::string>()), read_file(fixture("image_0.png")));
  EXPECT_EQ(rows[0].value["messages"][0]["role"], "user");
}

// save_to_disk: an Arrow IPC stream listed in state.json, read through the folder.
TEST(ArrowRows, SaveToDiskFolderReadsAsTheTrainSplit) {
  REQUIRE_ARROW();
  expect_rows(read_rows(fixture("saved").string(), "train"), jsonl(fixture("saved.jsonl")), "saved/");
  expect_rows(read_rows(fixture("saved/data-00000-of-00001.arrow").string(), ""), jsonl(fixture("saved.jsonl")),
              "the .arrow file itself");
}

// The hub's layout: data/<split>-0000i-of-0000n.parquet shards, read in order; rows name their shard.
TEST(ArrowRows, ShardedSplitsAreReadInOrderAndRowsNameTheirShard) {
  REQUIRE_ARROW();
  testing::TempDir dir;
  fs::create_directories(dir / "data");
  fs::copy_file(fixture("mixed.parquet"), dir / "data" / "train-00000-of-00002.parquet");
  fs::copy_file(fixture("saved/data-00000-of-00001.arrow"), dir / "data" / "train-00001-of-00002.arrow");
  write_bytes(dir / "data" / "test-00000-of-00001.jsonl", "{\"a\": 1}\n");
  auto rows = read_rows(dir.path().string(), "train");
  auto expected = jsonl(fixture("mixed.jsonl"));
  auto saved = jsonl(fixture("saved.jsonl"));
  expected.insert(expected.end(), saved.begin(), saved.end());
  expect_rows(rows, expected, "shards");
  EXPECT_EQ(rows[7].position(), "data/train-00001-of-00002.arrow row 2");
  EXPECT_EQ(read_rows(dir.path().string(), "test").size(), 1u);
  EXPECT_EQ(read_rows(dir.path().string(), "train", 8).size(), 8u);  // limit across shards
  auto msg = error_message_of<Error>([&] { read_rows(dir.path().string(), "validation"); });
  EXPECT_NE(msg.find("without files for split 'validation'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(".parquet"), std::string::npos) << msg;
}

TEST(ArrowRows, LimitStopsReadingAtThatRow) {
  REQUIRE_ARROW();
  auto expected = jsonl(fixture("mixed.jsonl"));
  expected.resize(5);
  expect_rows(read_rows(fixture("mixed.parquet").string(), "", 5), expected, "limit 5");
}

TEST(ArrowRows, UnsupportedColumnTypeNamesFileColumnAndType) {
  REQUIRE_ARROW();
  auto msg = error_message_of<Error>([] { read_rows(fixture("time_column.parquet").string(), ""); });
  EXPECT_NE(msg.find("time_column.parquet"), std::string::npos) << msg;
  EXPECT_NE(msg.find("column 'at'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("time64[us]"), std::string::npos) << msg;
}

// Truncated, overwritten or foreign files are errors naming the file; no byte flip crashes.
TEST(ArrowRows, CorruptFilesAreErrorsNamingTheFileNeverCrashes) {
  REQUIRE_ARROW();
  testing::TempDir dir;
  for (const char* name : {"mixed.parquet", "saved/data-00000-of-00001.arrow"}) {
    auto bytes = read_file(fixture(name));
    auto ext = fs::path(name).extension().string();
    auto bad = dir / ("bad" + ext);
    write_bytes(bad, bytes.substr(0, bytes.size() / 2));
    auto msg = error_message_of<Error>([&] { read_rows(bad.string(), ""); });
    EXPECT_NE(msg.find(bad.string()), std::string::npos) << name << ": " << msg;
    write_bytes(bad, "{\"not\": \"binary\"}\n");
    msg = error_message_of<Error>([&] { read_rows(bad.string(), ""); });
    EXPECT_NE(msg.find(bad.string()), std::string::npos) << name << ": " << msg;
    // Byte flips all over the file: each read either gives rows or an Error.
    for (size_t at = 0; at < bytes.size(); at += 7) {
      auto flipped = bytes;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
      write_bytes(bad, flipped);
      try {
        read_rows(bad.string(), "");
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace automodel::data
