// What a recipe run reports back to the command line (and to tests).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace automodel::recipes {

struct FinetuneSummary {
  int64_t steps = 0;
  std::vector<double> losses;      // per optimizer step run in this process
  std::vector<double> val_losses;  // per validation
  std::filesystem::path last_checkpoint;
  bool preempted = false;  // stopped early on the preemption signal (exit 0)
  int stop_signal = 0;     // stopped early on SIGTERM/SIGINT (the process exits 128 + signal)
};

}  // namespace automodel::recipes
