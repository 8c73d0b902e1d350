// fsdp2 checkpoints hold each rank's flat slices; a run with another process count re-slices them.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "automodel/checkpoint/flat_shards.h"
#include "automodel/models/common/weights.h"
#include "test_util.h"

namespace automodel::checkpoint {
namespace {

// Writes `full` as `world` ranks' slices (<stem>_rank<r>.safetensors), padded as fsdp2 pads.
void save_slices(const std::filesystem::path& dir, const at::Tensor& full, int64_t world) {
  const int64_t chunk = flat_chunk(full.numel(), world);
  auto padded = at::zeros({chunk * world});
  padded.narrow(0, 0, full.numel()).copy_(full.reshape({-1}));
  for (int64_t r = 0; r < world; ++r)
    models::save_tensors({{"w", padded.narrow(0, r * chunk, chunk).clone()}}, dir, ~0ull,
                         fmt::format("opt_rank{}", r));
}

TEST(FlatShards, ReslicesSevenElementsSavedByThreeRanksForAnyProcessCount) {
  testing::TempDir dir;
  auto full = at::arange(1, 8, at::kFloat).view({7});  // 3 ranks: [1 2 3] [4 5 6] [7 0 0]
  save_slices(dir.path(), full, 3);
  FlatShardFiles files(dir.path(), "opt", 3);
  EXPECT_TRUE(at::equal(files.slice("w", 7, 1, 0), full));
  EXPECT_TRUE(at::equal(files.slice("w", 7, 2, 0), at::tensor({1.f, 2.f, 3.f, 4.f})));
  EXPECT_TRUE(at::equal(files.slice("w", 7, 2, 1), at::tensor({5.f, 6.f, 7.f, 0.f})));
  EXPECT_TRUE(at::equal(files.slice("w", 7, 4, 3), at::tensor({7.f, 0.f})));
  EXPECT_TRUE(at::equal(files.slice("w", 7, 8, 7), at::tensor({0.f})));  // all padding
}

TEST(FlatShards, SlicesAWholeTensorAndNamesWhatIsMissingOrMisshapen) {
  testing::TempDir dir;
  auto full = at::arange(6, at::kFloat).view({2, 3});
  models::save_tensors({{"w", full}}, dir.path(), ~0ull, "whole");
  FlatShardFiles whole(dir.path(), "whole", 1);
  EXPECT_TRUE(at::equal(whole.slice("w", 6, 4, 1), at::tensor({2.f, 3.f})));
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { whole.slice("v", 6, 1, 0); }).find("has no 'v'"), std::string::npos);
  EXPECT_NE(message([&] { whole.slice("w", 8, 1, 0); }).find("'w' has 6 elements, expected 8"), std::string::npos);
  EXPECT_NE(message([&] { FlatShardFiles(dir.path(), "opt", 2); }).find("opt_rank0.safetensors is missing"),
            std::string::npos);
}

}  // namespace
}  // namespace automodel::checkpoint
