// W&B's online protocol, as the official client speaks it to api.wandb.ai or a W&B server: the run
// created (or, resumed, updated) by GraphQL's UpsertBucket with its config and tags, history rows
// and the summary streamed to the run's file_stream endpoint, then the exit code. HTTP basic auth
// api:<WANDB_API_KEY>.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "automodel/train/trackers/wandb_records.h"

namespace automodel::train {

class WandbOnlineRun {
 public:
  // Creates or updates the run now: an unreachable server or a rejected key is an error naming
  // the server and what it answered.
  WandbOnlineRun(std::string base_url, std::string api_key, const wandb_record::RunInfo& info);
  // The run's page (W&B's app for api.wandb.ai, else the server's own address).
  std::string page() const;
  // One history row / the whole summary, as JSON objects; rows go out every few seconds and at
  // finish. A failed upload is retried with the next one and reported once; it never stops training.
  void add_history(std::string row_json);
  void set_summary(std::string summary_json);
  // Sends what is left and the exit code; false when the server did not take it.
  bool finish(int exit_code);

 private:
  bool stream(bool complete, int exit_code);
  std::string base_url_, api_key_, entity_, project_, run_id_;
  int64_t history_offset_ = 0;  // lines the server already holds (a resumed run continues them)
  std::vector<std::string> pending_;
  std::string summary_;
  std::chrono::steady_clock::time_point last_sent_;
  bool warned_ = false;
};

}  // namespace automodel::train
