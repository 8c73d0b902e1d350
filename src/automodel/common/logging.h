// Minimal leveled logging to stderr, and a progress line that redraws on a terminal and stays
// silent (one summary line) when stderr is a log file.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>

namespace automodel {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const std::string& message);
bool stderr_is_terminal();

template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::kInfo) log_message(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  log_message(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
}

// Progress over `total` units (bytes, tensors, steps). Redraws at most ~10x/s on a terminal.
class Progress {
 public:
  Progress(std::string label, double total, std::string unit);
  ~Progress();
  void advance(double amount);
  void finish();

 private:
  void draw(bool final_line);
  std::string label_, unit_;
  double total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool tty_, finished_ = false;
};

}  // namespace automodel
