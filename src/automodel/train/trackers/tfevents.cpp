#include "automodel/train/trackers/tfevents.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "automodel/common/crc32c.h"
#include "automodel/common/error.h"
#include "automodel/common/protobuf_writer.h"

namespace automodel::train {
namespace tfevents {
namespace {

template <typename T>
void put_le(std::string& out, T v) {  // TFRecord framing is little-endian, as the hosts
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

// Event fields: 1 wall_time (double), 2 step (int64), 3 file_version, 5 summary, 7 session_log.
proto::Writer event_head(double wall_time, int64_t step) {
  proto::Writer e;
  e.f64(1, wall_time);
  if (step != 0) e.varint(2, static_cast<uint64_t>(step));
  return e;
}

}  // namespace

std::string file_version_event(double wall_time, std::string_view version) {
  return event_head(wall_time, 0).bytes(3, version).take();
}

std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  proto::Writer summary;  // Summary: repeated Value value = 1; Value: 1 tag, 2 simple_value (float)
  for (const auto& [tag, value] : scalars)
    summary.message(1, proto::Writer().bytes(1, tag).f32(2, static_cast<float>(value)));
  return event_head(wall_time, step).message(5, summary).take();
}

std::string session_start_event(double wall_time, int64_t step) {
  proto::Writer log;  // SessionLog: 1 status (START = 1)
  log.varint(1, 1);
  return event_head(wall_time, step).message(7, log).take();
}

std::string record(std::string_view data) {
  std::string header;
  put_le(header, static_cast<uint64_t>(data.size()));
  std::string out = header;
  put_le(out, masked_crc32c(header));
  out.append(data);
  put_le(out, masked_crc32c(data));
  return out;
}

}  // namespace tfevents

double wall_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

EventFileWriter::EventFileWriter(const std::filesystem::path& dir) {
  static std::atomic<int> counter{0};
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  path_ = dir / fmt::format("events.out.tfevents.{}.{}.{}.{}", static_cast<int64_t>(wall_time_now()), host, ::getpid(),
                            counter++);
  file_ = std::fopen(path_.c_str(), "ab");
  AM_CHECK(file_ != nullptr, "cannot create {}: {}", path_.string(), std::strerror(errno));
  write_event(tfevents::file_version_event(wall_time_now(), "brain.Event:2"));
}

EventFileWriter::~EventFileWriter() {
  if (file_) std::fclose(file_);
}

void EventFileWriter::write_event(std::string_view event) {
  auto rec = tfevents::record(event);
  AM_CHECK(std::fwrite(rec.data(), 1, rec.size(), file_) == rec.size() && std::fflush(file_) == 0,
           "cannot write {}: {}", path_.string(), std::strerror(errno));
}

}  // namespace automodel::train
