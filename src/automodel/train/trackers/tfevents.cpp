#include "automodel/train/trackers/tfevents.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "automodel/common/crc32c.h"
#include "automodel/common/error.h"

namespace automodel::train {
namespace tfevents {
namespace {

// Protobuf wire format: a key is (field << 3 | wire type); 0 varint, 1 fixed64, 2 length-delimited,
// 5 fixed32.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, int field, int wire) { put_varint(out, static_cast<uint64_t>(field) << 3 | wire); }
template <typename T>
void put_fixed(std::string& out, T v) {  // x86/ARM hosts are little-endian, as the format
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}
void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Event fields: 1 wall_time (double), 2 step (int64), 3 file_version, 5 summary, 7 session_log.
std::string event_head(double wall_time, int64_t step) {
  std::string e;
  put_key(e, 1, 1);
  put_fixed(e, wall_time);
  if (step != 0) {
    put_key(e, 2, 0);
    put_varint(e, static_cast<uint64_t>(step));
  }
  return e;
}

}  // namespace

std::string file_version_event(double wall_time, std::string_view version) {
  auto e = event_head(wall_time, 0);
  put_bytes(e, 3, version);
  return e;
}

std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;  // Summary.Value: 1 tag, 2 simple_value (float)
    put_bytes(v, 1, tag);
    put_key(v, 2, 5);
    put_fixed(v, static_cast<float>(value));
    put_bytes(summary, 1, v);  // Summary: repeated Value value = 1
  }
  auto e = event_head(wall_time, step);
  put_bytes(e, 5, summary);
  return e;
}

std::string session_start_event(double wall_time, int64_t step) {
  std::string log;  // SessionLog: 1 status (START = 1)
  put_key(log, 1, 0);
  put_varint(log, 1);
  auto e = event_head(wall_time, step);
  put_bytes(e, 7, log);
  return e;
}

std::string record(std::string_view data) {
  std::string header;
  put_fixed(header, static_cast<uint64_t>(data.size()));
  std::string out = header;
  put_fixed(out, masked_crc32c(header));
  out.append(data);
  put_fixed(out, masked_crc32c(data));
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
