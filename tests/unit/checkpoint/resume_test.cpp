#include <gtest/gtest.h>

#include "automodel/checkpoint/resume.h"
#include "automodel/common/error.h"

using automodel::checkpoint::rescaled_batch_index;
using automodel::checkpoint::TrainingState;

TEST(Resume, BatchIndexKeepsTheRowsDoneWhenTheLocalBatchSizeChanges) {
  TrainingState saved;
  saved.epoch = 1;
  saved.batch = 6;
  saved.local_batch_size = 2;  // 12 rows done: e.g. 1 process with local batch 2
  EXPECT_EQ(rescaled_batch_index(saved, 2, "ckpt"), 6);
  EXPECT_EQ(rescaled_batch_index(saved, 4, "ckpt"), 3);   // 2 processes, local batch 4
  EXPECT_EQ(rescaled_batch_index(saved, 1, "ckpt"), 12);
  saved.local_batch_size = 0;  // older checkpoints did not record it: taken as is
  EXPECT_EQ(rescaled_batch_index(saved, 4, "ckpt"), 6);
}

TEST(Resume, RowsDoneThatAreNoWholeNumberOfBatchesAreAnError) {
  TrainingState saved;
  saved.batch = 3;
  saved.local_batch_size = 2;  // 6 rows
  try {
    rescaled_batch_index(saved, 4, "ckpt/epoch_0_step_3");
    FAIL() << "6 rows re-scaled to batches of 4";
  } catch (const automodel::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ckpt/epoch_0_step_3 stopped after 6 rows"), std::string::npos) << e.what();
  }
}
