#include "automodel/train/metrics.h"

#include <sys/resource.h>

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "automodel/common/atomic_file.h"
#include "automodel/common/logging.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

// Keeps lines whose "step" is <= last_step (a resumed run rewrites what follows).
void truncate_history(const fs::path& file, int64_t last_step) {
  if (!fs::exists(file)) return;
  std::istringstream in(read_file(file));
  std::string line, kept;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("step", int64_t{0}) <= last_step) kept += line + "\n";
  }
  write_file_atomic(file, kept);
}

std::string format_duration(double seconds) {
  auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

MetricsLog::MetricsLog(const fs::path& dir, int64_t total_steps, int64_t resume_step)
    : train_file_(dir / "training.jsonl"), val_file_(dir / "validation.jsonl"), total_steps_(total_steps),
      first_step_(resume_step), start_(std::chrono::steady_clock::now()), tty_(stderr_is_terminal()) {
  fs::create_directories(dir);
  truncate_history(train_file_, resume_step);
  truncate_history(val_file_, resume_step);
}

MetricsLog::~MetricsLog() {
  if (tty_) std::fputs("\n", stderr);
  const bool ok = std::uncaught_exceptions() == 0;
  to_sinks([ok](MetricSink& s) { s.finish(ok); });
}

void MetricsLog::add_sink(std::unique_ptr<MetricSink> sink) { sinks_.push_back(std::move(sink)); }

void MetricsLog::log_final_model(const fs::path& model_dir) {
  to_sinks([&model_dir](MetricSink& s) { s.final_model(model_dir); });
}

template <typename F>
void MetricsLog::to_sinks(const F& f) {
  for (auto it = sinks_.begin(); it != sinks_.end();) {
    try {
      f(**it);
      ++it;
    } catch (const std::exception& e) {
      log_warn("[{}] tracker stopped, training continues without it: {}", (*it)->name(), e.what());
      it = sinks_.erase(it);
    }
  }
}

void MetricsLog::append(const fs::path& file, const std::string& line) {
  std::ofstream out(file, std::ios::app);
  out << line << "\n";
}

void MetricsLog::log_step(const StepMetrics& m) {
  nlohmann::json j = {{"step", m.step},         {"epoch", m.epoch},
                      {"loss", m.loss},         {"grad_norm", m.grad_norm},
                      {"lr", m.lr},             {"tps", m.tps},
                      {"tps_per_gpu", m.tps},   {"mfu", m.mfu ? nlohmann::json(*m.mfu) : nlohmann::json()},
                      {"mem", m.mem_gib},       {"num_label_tokens", m.num_label_tokens}};
  append(train_file_, j.dump());
  to_sinks([&m](MetricSink& s) { s.log_step(m); });
  auto line = fmt::format("step {} | epoch {} | loss {:.4f} | grad_norm {:.4f} | lr {:.2e} | tps {:.0f} | mfu {} | "
                          "mem {:.2f} GiB",
                          m.step, m.epoch, m.loss, m.grad_norm, m.lr, m.tps,
                          m.mfu ? fmt::format("{:.1f}%", *m.mfu) : "-", m.mem_gib);
  if (!tty_) {
    fmt::print(stderr, "{}\n", line);
    return;
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double done = static_cast<double>(m.step - first_step_);
  double eta = done > 0 ? elapsed / done * static_cast<double>(total_steps_ - m.step) : 0;
  int width = 30, filled = static_cast<int>(width * m.step / std::max<int64_t>(1, total_steps_));
  fmt::print(stderr, "\r\033[K{}\n[{}{}] {}/{} steps, ETA {}", line, std::string(filled, '#'),
             std::string(width - filled, '.'), m.step, total_steps_, format_duration(eta));
  std::fflush(stderr);
}

void MetricsLog::log_validation(int64_t step, int64_t epoch, double val_loss, int64_t num_label_tokens) {
  nlohmann::json j = {{"step", step}, {"epoch", epoch}, {"val_loss", val_loss}, {"num_label_tokens", num_label_tokens}};
  append(val_file_, j.dump());
  const ValidationMetrics v{step, epoch, val_loss, num_label_tokens};
  to_sinks([&v](MetricSink& s) { s.log_validation(v); });
  fmt::print(stderr, "{}validation | step {} | epoch {} | val_loss {:.4f} | label tokens {}\n", tty_ ? "\r\033[K" : "",
             step, epoch, val_loss, num_label_tokens);
}

double peak_memory_gib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is KiB
}

double train_flops_per_token(int64_t params, int64_t layers, int64_t hidden, int64_t seq_len) {
  return 6.0 * static_cast<double>(params) + 12.0 * static_cast<double>(layers * hidden * seq_len);
}

}  // namespace automodel::train
