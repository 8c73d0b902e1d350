#include "automodel/train/trackers/wandb_records.h"

#include <cmath>

#include "automodel/common/protobuf_writer.h"

namespace automodel::train::wandb_record {
namespace {

using proto::Writer;

// Record: 1 num, 2 history, 3 summary, 17 run, 18 exit, 21 header, 200 _info (_RecordInfo:
// 1 stream_id, the run id).
std::string record(int64_t num, int field, const Writer& body, const std::string& stream_id) {
  Writer r;
  r.varint(1, static_cast<uint64_t>(num)).message(field, body);
  if (!stream_id.empty()) r.message(200, Writer().bytes(1, stream_id));
  return r.take();
}

// ConfigItem / HistoryItem / SummaryItem share their layout: 1 key, 16 value_json.
Writer item(const std::pair<std::string, std::string>& kv) {
  Writer w;
  w.bytes(1, kv.first).bytes(16, kv.second);
  return w;
}

}  // namespace

std::string header(int64_t num, const std::string& stream_id, const std::string& producer) {
  Writer version;  // VersionInfo: 1 producer
  version.bytes(1, producer);
  Writer h;  // HeaderRecord: 1 version_info
  h.message(1, version);
  return record(num, 21, h, stream_id);
}

std::string run(int64_t num, const RunInfo& info) {
  // RunRecord: 1 run_id, 2 entity, 3 project, 4 config (ConfigRecord: 1 update), 6 run_group,
  // 7 job_type, 8 display_name, 9 notes, 10 tags, 13 host, 17 start_time (Timestamp: 1 seconds,
  // 2 nanos).
  Writer config;
  for (const auto& kv : info.config) config.message(1, item(kv));
  Writer r;
  r.bytes(1, info.run_id);
  if (!info.entity.empty()) r.bytes(2, info.entity);
  r.bytes(3, info.project).message(4, config);
  if (!info.group.empty()) r.bytes(6, info.group);
  if (!info.job_type.empty()) r.bytes(7, info.job_type);
  if (!info.display_name.empty()) r.bytes(8, info.display_name);
  if (!info.notes.empty()) r.bytes(9, info.notes);
  for (const auto& tag : info.tags) r.bytes(10, tag);
  if (!info.host.empty()) r.bytes(13, info.host);
  const double seconds = std::floor(info.start_time);
  Writer ts;
  ts.varint(1, static_cast<uint64_t>(seconds)).varint(2, static_cast<uint64_t>((info.start_time - seconds) * 1e9));
  r.message(17, ts);
  return record(num, 17, r, info.run_id);
}

std::string history(int64_t num, const std::string& stream_id, const Items& items, int64_t step) {
  Writer h;  // HistoryRecord: 1 item, 2 step (HistoryStep: 1 num)
  for (const auto& kv : items) h.message(1, item(kv));
  h.message(2, Writer().varint(1, static_cast<uint64_t>(step)));
  return record(num, 2, h, stream_id);
}

std::string summary(int64_t num, const std::string& stream_id, const Items& updates) {
  Writer s;  // SummaryRecord: 1 update
  for (const auto& kv : updates) s.message(1, item(kv));
  return record(num, 3, s, stream_id);
}

std::string exit(int64_t num, const std::string& stream_id, int32_t exit_code, int32_t runtime_s) {
  Writer e;  // RunExitRecord: 1 exit_code, 2 runtime (int32 seconds)
  if (exit_code != 0) e.varint(1, static_cast<uint64_t>(static_cast<int64_t>(exit_code)));
  if (runtime_s != 0) e.varint(2, static_cast<uint64_t>(static_cast<int64_t>(runtime_s)));
  return record(num, 18, e, stream_id);
}

}  // namespace automodel::train::wandb_record
