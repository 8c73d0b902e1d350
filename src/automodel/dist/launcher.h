// `--nproc-per-node N`: runs N copies of this binary on this machine with torchrun's variables
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), forwards SIGINT/SIGTERM/SIGUSR1/SIGUSR2
// to them, and when one fails names the rank and why, then stops the others.
#pragma once

#include <string>
#include <vector>

namespace automodel::dist {

// `args`: what each worker gets after the program name. Returns the launcher's exit code
// (0 when every rank succeeded).
int launch_local_workers(int nproc, const std::vector<std::string>& args);

}  // namespace automodel::dist
