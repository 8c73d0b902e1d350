// The device mesh: how a run's processes split over data-parallel replication, data-parallel
// sharding, context and tensor parallelism (torchtitan's order, tensor parallel innermost so
// its ranks share a node). Pure rank arithmetic; process groups over its rows come from
// dist/parallelize.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace automodel::dist {

enum class MeshDim { kDpReplicate = 0, kDpShard = 1, kCp = 2, kTp = 3 };
inline constexpr size_t kMeshDims = 4;

struct MeshShape {
  int64_t dp_replicate = 1, dp_shard = 1, cp = 1, tp = 1;
  int64_t size(MeshDim dim) const;
  int64_t world() const { return dp_replicate * dp_shard * cp * tp; }
};

// The recipe's distributed sizes (unset = inferred): dp_shard takes what the others leave of
// the process count. Errors name the key and the sizes that do not multiply to the world.
MeshShape resolve_mesh_shape(int64_t world, std::optional<int64_t> dp_size, std::optional<int64_t> dp_replicate,
                             int64_t tp, int64_t cp, const std::string& label);

class DeviceMesh {
 public:
  using Coords = std::array<int64_t, kMeshDims>;  // indexed by MeshDim

  DeviceMesh(MeshShape shape, int64_t rank);
  const MeshShape& shape() const { return shape_; }
  int64_t rank() const { return rank_; }
  int64_t world() const { return shape_.world(); }

  Coords coords(int64_t rank) const;
  int64_t rank_of(const Coords& coords) const;

  // Data parallelism spans both dp dimensions: what the sampler strides over and the gradient
  // reduction covers.
  int64_t dp_rank() const;
  int64_t dp_size() const { return shape_.dp_replicate * shape_.dp_shard; }

  // The ranks that differ from `rank` only along `dims` (its row of the mesh over those
  // dimensions), in increasing order: the members of its sub-group over them.
  std::vector<int64_t> group_ranks(const std::vector<MeshDim>& dims) const;
  std::vector<int64_t> dp_group_ranks() const { return group_ranks({MeshDim::kDpReplicate, MeshDim::kDpShard}); }

 private:
  MeshShape shape_;
  int64_t rank_;
};

}  // namespace automodel::dist
