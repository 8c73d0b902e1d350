#include "automodel/common/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace automodel {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* level_tag(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
  }
  return "";
}
std::string human_rate(double per_second, const std::string& unit) {
  if (unit == "B") {
    if (per_second > 1e9) return fmt::format("{:.2f} GB/s", per_second / 1e9);
    return fmt::format("{:.1f} MB/s", per_second / 1e6);
  }
  return fmt::format("{:.1f} {}/s", per_second, unit);
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_message(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < g_level.load()) return;
  fmt::print(stderr, "[{}] {}\n", level_tag(level), message);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, double total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()), last_draw_(start_), tty_(stderr_is_terminal()) {}

Progress::~Progress() { finish(); }

void Progress::advance(double amount) {
  done_ += amount;
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  // Logs get one summary line, and only for work long enough to matter.
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (log_level() <= LogLevel::kInfo && (tty_ || secs >= 1.0)) draw(true);
}

void Progress::draw(bool final_line) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? done_ / secs : 0;
  double pct = total_ > 0 ? 100.0 * done_ / total_ : 100.0;
  std::string line = fmt::format("{} {:5.1f}% {:.1f}s {}", label_, pct, secs, human_rate(rate, unit_));
  if (tty_) {
    fmt::print(stderr, "\r\033[K{}{}", line, final_line ? "\n" : "");
  } else if (final_line) {
    fmt::print(stderr, "[info] {}\n", line);
  }
}

}  // namespace automodel
