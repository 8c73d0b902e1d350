#include "automodel/dist/dist_env.h"

#include <cstdlib>

#include "automodel/common/error.h"

namespace automodel::dist {
namespace {

const char* env(const char* name) { return std::getenv(name); }

int int_env(const char* name) {
  const char* v = env(name);
  try {
    size_t used = 0;
    int out = std::stoi(v, &used);
    if (used == std::string(v).size()) return out;
  } catch (const std::exception&) {
  }
  AM_FAIL("[dist] environment variable {}='{}' is not an integer", name, v);
}

}  // namespace

DistEnv read_dist_env() {
  DistEnv e;
  if (env("RANK") && env("WORLD_SIZE")) {
    e.rank = int_env("RANK");
    e.world_size = int_env("WORLD_SIZE");
    e.local_rank = env("LOCAL_RANK") ? int_env("LOCAL_RANK") : e.rank;
    e.source = "RANK/WORLD_SIZE";
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.rank = int_env("SLURM_PROCID");
    e.world_size = int_env("SLURM_NTASKS");
    e.local_rank = env("SLURM_LOCALID") ? int_env("SLURM_LOCALID") : 0;
    e.source = "SLURM_*";
  } else if (env("OMPI_COMM_WORLD_RANK") && env("OMPI_COMM_WORLD_SIZE")) {
    e.rank = int_env("OMPI_COMM_WORLD_RANK");
    e.world_size = int_env("OMPI_COMM_WORLD_SIZE");
    e.local_rank = env("OMPI_COMM_WORLD_LOCAL_RANK") ? int_env("OMPI_COMM_WORLD_LOCAL_RANK") : 0;
    e.source = "OMPI_COMM_WORLD_*";
  }
  AM_CHECK(e.world_size >= 1 && e.rank >= 0 && e.rank < e.world_size,
           "[dist] {}: rank {} is outside a world of {} processes", e.source, e.rank, e.world_size);
  if (const char* addr = env("MASTER_ADDR")) e.master_addr = addr;
  if (env("MASTER_PORT")) {
    int port = int_env("MASTER_PORT");
    AM_CHECK(port > 0 && port < 65536, "[dist] MASTER_PORT={} is not a TCP port", port);
    e.master_port = static_cast<uint16_t>(port);
  }
  AM_CHECK(!e.distributed() || env("MASTER_ADDR") || e.source != "SLURM_*",
           "[dist] under Slurm set MASTER_ADDR (the first node's host name) and MASTER_PORT");
  return e;
}

}  // namespace automodel::dist
