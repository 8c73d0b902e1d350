// wandb's own transaction-log reader (DataStore, via tests/oracles/wandb_runs.py) reads back what
// WandbLogWriter framed: records of every size around the 32 KiB block edges (padding, FIRST/
// MIDDLE/LAST chunks), byte for byte.
#include <gtest/gtest.h>

#include <zlib.h>

#include <random>
#include <nlohmann/json.hpp>

#include "automodel/train/trackers/wandb_log.h"
#include "test_util.h"

namespace automodel::train {
namespace {

using testing::run_command;
using testing::TempDir;

TEST(WandbOracle, TransactionLogFramingReadsBackAtEveryBlockEdge) {
  AUTOMODEL_REQUIRE_ORACLE("wandb");
  TempDir dir;
  std::mt19937 gen(7);
  std::vector<std::string> records;
  const size_t block = wandb_log::kBlock, head = wandb_log::kChunkHeader;
  uint64_t offset = wandb_log::file_header().size();
  auto add = [&](size_t size) {
    records.push_back(std::string(size, '\0'));
    offset += wandb_log::frame(records.back(), offset).size();
  };
  // Leave 0..7 bytes in the block after each record (under 7: padded), then sizes that span
  // blocks exactly, by one byte more, and several blocks.
  auto room = [&] { return block - offset % block < head ? block : block - offset % block; };
  for (size_t left = 0; left <= 7; ++left) {
    while (room() < head + left) add(0);
    add(room() - head - left);
  }
  for (size_t size : {size_t{0}, block - head, size_t{1}, block - head + 1, 3 * block + 11, size_t{70000}}) add(size);
  for (int i = 0; i < 200; ++i) add(gen() % 5000);
  for (auto& r : records)
    for (auto& c : r) c = static_cast<char>(gen());
  {
    WandbLogWriter log(dir / "t.wandb");
    for (const auto& r : records) log.append(r);
  }
  auto r = run_command("'" + testing::python() + "' '" + testing::oracle_script("wandb_runs.py").string() + "' frames '" +
                       (dir / "t.wandb").string() + "' 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto frames = nlohmann::json::parse(r.output);
  ASSERT_EQ(frames.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(frames[i][0], records[i].size()) << "record " << i;
    const auto* bytes = reinterpret_cast<const Bytef*>(records[i].data());
    EXPECT_EQ(frames[i][1], crc32(crc32(0L, Z_NULL, 0), bytes, static_cast<uInt>(records[i].size()))) << "record " << i;
  }
}

}  // namespace
}  // namespace automodel::train
