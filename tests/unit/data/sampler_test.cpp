#include <gtest/gtest.h>

#include <set>

#include "automodel/common/error.h"
#include "automodel/data/sampler.h"

using automodel::data::DataParallelSampler;
using automodel::data::DataPosition;

TEST(DataParallelSampler, RanksOfAStepTakeDisjointBatchesThatCoverTheOneProcessStep) {
  // 2 ranks x 3 micro-batches = the same 6 batches one process with 6 micro-batches takes.
  DataParallelSampler one(0, 1, 6);
  DataPosition solo;
  std::set<int64_t> expected;
  for (const auto& p : one.next_step(solo, 100)) expected.insert(p.batch);
  std::set<int64_t> seen;
  for (int64_t rank = 0; rank < 2; ++rank) {
    DataParallelSampler s(rank, 2, 3);
    DataPosition at;
    auto mine = s.next_step(at, 100);
    ASSERT_EQ(mine.size(), 3u);
    for (const auto& p : mine) EXPECT_TRUE(seen.insert(p.batch).second) << "batch " << p.batch << " twice";
    EXPECT_EQ(at.batch, 6);
    EXPECT_EQ(at.batch, solo.batch);
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ((std::set<int64_t>{0, 1, 2, 3, 4, 5}), seen);
}

TEST(DataParallelSampler, AStepThatDoesNotFitTheRestOfTheEpochStartsTheNext) {
  DataParallelSampler s(1, 2, 2);  // 4 batches per step
  EXPECT_EQ(s.steps_per_epoch(10), 2);
  DataPosition at{0, 8};  // 2 left: not a whole step
  auto mine = s.next_step(at, 10);
  EXPECT_EQ(at.epoch, 1);
  EXPECT_EQ(at.batch, 4);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].epoch, 1);
  EXPECT_EQ(mine[0].batch, 1);
  EXPECT_EQ(mine[1].batch, 3);
}

TEST(DataParallelSampler, ValidationVisitsEveryBatchOnceOverAllRanks) {
  const int64_t batches = 7;
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < 3; ++rank) {
    DataParallelSampler s(rank, 3, 1);
    EXPECT_EQ(s.validation_rounds(batches), 3);
    for (int64_t round = 0; round < s.validation_rounds(batches); ++round)
      if (auto b = s.validation_batch(round, batches)) seen.insert(*b);
  }
  EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(DataParallelSampler, RejectsARankOutsideTheGroup) {
  EXPECT_THROW(DataParallelSampler(2, 2, 1), automodel::Error);
  EXPECT_THROW(DataParallelSampler(0, 1, 0), automodel::Error);
}
