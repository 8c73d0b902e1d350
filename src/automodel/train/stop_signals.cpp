#include "automodel/train/stop_signals.h"

#include <csignal>
#include <initializer_list>

namespace automodel::train {
namespace {

volatile std::sig_atomic_t g_received = 0;
volatile std::sig_atomic_t g_preemption = 0;

// Async-signal-safe: records the first signal; a second SIGTERM/SIGINT (not the preemption
// signal, which schedulers may repeat) takes the default action, ending the process.
void on_stop_signal(int signal) {
  if (g_received != 0 && signal != g_preemption) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  if (g_received == 0) g_received = signal;
}

}  // namespace

void install_stop_handlers(int preemption_signal) {
  g_received = 0;
  g_preemption = preemption_signal;
  for (int signal : {SIGTERM, SIGINT}) std::signal(signal, on_stop_signal);
  if (preemption_signal != 0) std::signal(preemption_signal, on_stop_signal);
}

int received_stop_signal() { return g_received; }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGHUP: return "SIGHUP";
    default: return "a signal";
  }
}

}  // namespace automodel::train
