// Who this process is in a multi-process run, read from the launcher's environment: torchrun
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), Slurm srun (SLURM_PROCID, SLURM_NTASKS,
// SLURM_LOCALID) or mpirun (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK). No variables: one process.
#pragma once

#include <cstdint>
#include <string>

namespace automodel::dist {

struct DistEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  uint16_t master_port = 29500;
  std::string source = "single process";  // which variables it came from, for messages
  bool distributed() const { return world_size > 1; }
};

DistEnv read_dist_env();

}  // namespace automodel::dist
