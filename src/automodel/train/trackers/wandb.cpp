#include "automodel/train/trackers/wandb.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <system_error>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/train/trackers/wandb_log.h"
#include "automodel/train/trackers/wandb_online.h"
#include "automodel/train/trackers/wandb_records.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// wandb's run ids: 8 characters of [a-z0-9].
std::string new_run_id() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  std::string id;
  for (int i = 0; i < 8; ++i) id.push_back(kChars[gen() % 36]);
  return id;
}

std::string hostname() {
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  return host;
}

// wandb names run folders by the local start time.
std::string folder_time(double t) {
  std::time_t secs = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d_%H%M%S", &tm);
  return buf;
}

// Points <root>/latest-run at the new folder, as wandb does (replaced atomically).
void link_latest(const fs::path& root, const fs::path& run_dir) {
  std::error_code ec;
  auto tmp = root / fmt::format(".latest-run.{}", ::getpid());
  fs::remove(tmp, ec);
  fs::create_directory_symlink(run_dir.filename(), tmp, ec);
  if (!ec) fs::rename(tmp, root / "latest-run", ec);
  if (ec)
    log_warn("wandb: could not point {} at {}: {}", (root / "latest-run").string(), run_dir.string(), ec.message());
}

// Items as one JSON object: a history row or the summary as the file_stream carries them.
std::string json_object(const wandb_record::Items& items) {
  std::string out = "{";
  for (const auto& [key, value] : items) out += (out.size() > 1 ? "," : "") + nlohmann::json(key).dump() + ":" + value;
  return out + "}";
}

// Writes the run's transaction log (what `wandb sync` uploads) and, online, streams the same rows.
class WandbSink : public MetricSink {
 public:
  WandbSink(const fs::path& file, std::string run_id, double start)
      : log_(file), run_id_(std::move(run_id)), start_(start) {}

  std::string name() const override { return "wandb"; }
  void log_step(const StepMetrics& m) override {
    auto& row = row_at(m.step);
    for (const auto& [k, v] : step_scalars(m)) row.emplace_back(k, wandb_json_number(v));
  }
  void log_validation(const ValidationMetrics& v) override {
    row_at(v.step).emplace_back("val_loss", wandb_json_number(v.val_loss));
  }
  void finish(bool ok) override {
    flush_row();
    append(wandb_record::exit(num_, run_id_, ok ? 0 : 1, static_cast<int32_t>(now_s() - start_)));
    if (online_ && online_->finish(ok ? 0 : 1)) log_info("wandb: run {} uploaded: {}", run_id_, online_->page());
  }
  void go_online(std::unique_ptr<WandbOnlineRun> online) { online_ = std::move(online); }

  void start(const wandb_record::RunInfo& info) {
    append(wandb_record::header(num_, run_id_, "automodel.cpp"));
    append(wandb_record::run(num_, info));
  }
  const fs::path& path() const { return log_.path(); }

 private:
  void append(const std::string& record) {
    log_.append(record);
    ++num_;
  }
  // AutoModel logs a step's training and validation metrics with the same step: W&B merges them
  // into one history row, written when a later step starts (or at the end).
  wandb_record::Items& row_at(int64_t step) {
    if (row_step_ != step) {
      flush_row();
      row_step_ = step;
      row_time_ = now_s();
    }
    return row_;
  }
  void flush_row() {
    if (row_step_ < 0) return;
    auto items = row_;
    items.emplace_back("_step", std::to_string(row_step_));
    items.emplace_back("_runtime", wandb_json_number(row_time_ - start_));
    items.emplace_back("_timestamp", wandb_json_number(row_time_));
    append(wandb_record::summary(num_, run_id_, items));  // the summary is each key's last value
    append(wandb_record::history(num_, run_id_, items, row_step_));
    if (online_) {
      for (const auto& [key, value] : items) summary_[key] = value;
      online_->set_summary(json_object({summary_.begin(), summary_.end()}));
      online_->add_history(json_object(items));
    }
    row_.clear();
    row_step_ = -1;
  }

  WandbLogWriter log_;
  std::string run_id_;
  double start_;
  int64_t num_ = 1;
  int64_t row_step_ = -1;
  double row_time_ = 0;
  wandb_record::Items row_;
  std::unique_ptr<WandbOnlineRun> online_;
  std::map<std::string, std::string> summary_;
};

}  // namespace

std::string wandb_json_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == std::trunc(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return nlohmann::json(v).dump();  // shortest text that reads back as the same double
}

std::unique_ptr<MetricSink> make_wandb_sink(const config::WandbSection& s, const nlohmann::json& recipe,
                                            const fs::path& checkpoint_dir, int64_t resume_step) {
  const bool online = s.mode == "online";
  const char* api_key = std::getenv("WANDB_API_KEY");
  AM_CHECK(!online || (api_key != nullptr && *api_key), "[config] wandb.mode: online needs WANDB_API_KEY (the key "
           "`wandb login` asks for); without one, set wandb.mode: offline and upload the run later with `wandb sync`");
  const auto sidecar = checkpoint_dir / "wandb_run_id";
  std::string id = s.id;
  if (id.empty() && resume_step > 0 && fs::exists(sidecar)) {
    id = read_file(sidecar);
    while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  }
  if (id.empty()) id = new_run_id();
  const double start = now_s();
  const fs::path root = fs::path(s.dir) / "wandb";
  // wandb's names: run-... for a run it streams, offline-run-... for one left to `wandb sync`.
  const fs::path run_dir = root / fmt::format("{}run-{}-{}", online ? "" : "offline-", folder_time(start), id);
  std::error_code ec;
  fs::create_directories(run_dir / "files", ec);
  AM_CHECK(!ec && fs::is_directory(run_dir), "[config] wandb.dir: cannot create '{}': {}", run_dir.string(),
           ec ? ec.message() : "exists and is not a folder");
  std::unique_ptr<WandbSink> sink;
  wandb_record::RunInfo info;
  try {
    sink = std::make_unique<WandbSink>(run_dir / fmt::format("run-{}.wandb", id), id, start);
    info = wandb_record::RunInfo{.run_id = id, .entity = s.entity, .project = s.project, .display_name = s.name,
                                 .group = s.group, .job_type = s.job_type, .notes = s.notes, .host = hostname(),
                                 .tags = s.tags, .config = {}, .start_time = start};
    for (const auto& [key, value] : recipe.items()) info.config.emplace_back(key, value.dump());
    sink->start(info);
  } catch (const Error& e) {
    AM_FAIL("[config] wandb.dir: {}", e.what());
  }
  if (online) {
    const char* base = std::getenv("WANDB_BASE_URL");
    sink->go_online(std::make_unique<WandbOnlineRun>(base && *base ? base : "https://api.wandb.ai", api_key, info));
  }
  link_latest(root, run_dir);
  fs::create_directories(checkpoint_dir, ec);
  write_file_atomic(sidecar, id);
  if (online) log_info("wandb: run {} streaming to W&B (local copy: {})", id, run_dir.string());
  else log_info("wandb: offline run {} in {} (upload: wandb sync {})", id, run_dir.string(), run_dir.string());
  return sink;
}

}  // namespace automodel::train
