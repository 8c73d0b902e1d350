// Protobuf encodings of the wandb_internal.Record messages an offline W&B run holds (field
// numbers from wandb's wandb_internal.proto): header, run, history, summary and exit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace automodel::train::wandb_record {

// (key, value as JSON text): config, history and summary items all carry value_json.
using Items = std::vector<std::pair<std::string, std::string>>;

struct RunInfo {
  std::string run_id, entity, project, display_name, group, job_type, notes, host;
  std::vector<std::string> tags;
  Items config;  // top-level config keys
  double start_time = 0;  // seconds since the epoch
};

// Each returns one serialized Record; `num` numbers the records of a file from 1.
std::string header(int64_t num, const std::string& stream_id, const std::string& producer);
std::string run(int64_t num, const RunInfo& info);
std::string history(int64_t num, const std::string& stream_id, const Items& items, int64_t step);
std::string summary(int64_t num, const std::string& stream_id, const Items& updates);
std::string exit(int64_t num, const std::string& stream_id, int32_t exit_code, int32_t runtime_s);

}  // namespace automodel::train::wandb_record
