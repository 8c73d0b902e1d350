// Stopping a run cleanly from outside: SIGTERM (what Slurm, Kubernetes and `kill` send), SIGINT
// (Ctrl-C) and the recipe's preemption_signal. The first one asks the run to stop at the next
// step boundary (after a checkpoint); a second SIGTERM/SIGINT ends the process at once.
#pragma once

namespace automodel::train {

// Installs the handlers; `preemption_signal` (0 = none) keeps its own meaning (exit 0).
void install_stop_handlers(int preemption_signal);
// The first stop signal received since install_stop_handlers (0 = none).
int received_stop_signal();
// "SIGTERM", "SIGINT", "SIGUSR1", ... or "signal N".
const char* signal_name(int signal);

}  // namespace automodel::train
