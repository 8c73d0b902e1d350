// `--nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]`: runs N copies
// of this binary on this machine with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards SIGINT/SIGTERM/SIGUSR1/SIGUSR2 to them,
// and when one fails names the rank and why, then stops the others. With M nodes, the same
// command runs on each (node ranks 0..M-1) and ranks are numbered node by node.
#pragma once

#include <string>
#include <vector>

namespace automodel::dist {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";  // node 0's address, reachable from every node
  int master_port = 0;                     // 0: a free port (one node only)
};

// `args`: what each worker gets after the program name. Returns the launcher's exit code
// (0 when every rank succeeded).
int launch_local_workers(const LaunchOptions& options, const std::vector<std::string>& args);

}  // namespace automodel::dist
