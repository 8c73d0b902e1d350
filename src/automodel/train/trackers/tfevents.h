// TensorBoard event files written by hand: TFRecord framing (length, masked CRC-32C of the
// length, an Event protobuf, masked CRC-32C of it) and the few Event/Summary fields scalars need.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace automodel::train {

// Protobuf encodings of the messages we write (tensorflow/core/util/event.proto, summary.proto).
namespace tfevents {
// Event{wall_time, step, file_version}: the first record of every file ("brain.Event:2").
std::string file_version_event(double wall_time, std::string_view version);
// Event{wall_time, step, summary{value{tag, simple_value}...}}: float32 scalars, as every writer.
std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, double>>& scalars);
// Event{wall_time, step, session_log{status: START}}: readers drop what an earlier run logged at
// `step` or later (a resumed run rewrites those steps).
std::string session_start_event(double wall_time, int64_t step);
// One TFRecord: u64 length, masked crc of it, data, masked crc of data (little-endian).
std::string record(std::string_view data);
}  // namespace tfevents

// Appends events to a new `events.out.tfevents.<time>.<host>.<pid>.<n>` file in `dir`, flushed
// after each write so a crash loses nothing already logged.
class EventFileWriter {
 public:
  explicit EventFileWriter(const std::filesystem::path& dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void write_event(std::string_view event);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Seconds since the epoch, as Event.wall_time.
double wall_time_now();

}  // namespace automodel::train
