#include "automodel/dist/mesh.h"

#include <algorithm>

#include "automodel/common/error.h"

namespace automodel::dist {

int64_t MeshShape::size(MeshDim dim) const {
  switch (dim) {
    case MeshDim::kDpReplicate: return dp_replicate;
    case MeshDim::kDpShard: return dp_shard;
    case MeshDim::kCp: return cp;
    case MeshDim::kTp: return tp;
  }
  return 1;
}

MeshShape resolve_mesh_shape(int64_t world, std::optional<int64_t> dp_size, std::optional<int64_t> dp_replicate,
                             int64_t tp, int64_t cp, const std::string& label) {
  AM_CHECK(tp >= 1 && cp >= 1 && dp_replicate.value_or(1) >= 1 && dp_size.value_or(1) >= 1,
           "[config] {}: distributed sizes must be >= 1, found tp_size {}, cp_size {}, dp_replicate_size {}, "
           "dp_size {}", label, tp, cp, dp_replicate.value_or(1), dp_size.value_or(1));
  MeshShape s;
  s.tp = tp;
  s.cp = cp;
  s.dp_replicate = dp_replicate.value_or(1);
  const int64_t others = s.tp * s.cp;
  AM_CHECK(world % others == 0, "[config] {}: {} process(es) cannot be split into tp_size {} x cp_size {}", label,
           world, tp, cp);
  const int64_t dp = dp_size.value_or(world / others);
  AM_CHECK(dp * others == world,
           "[config] {}: distributed.dp_size is {} but {} process(es) run with tp_size {} x cp_size {}; set it to {} "
           "or none", label, dp, world, tp, cp, world / others);
  AM_CHECK(dp % s.dp_replicate == 0, "[config] {}: distributed.dp_replicate_size {} does not divide the data-parallel "
           "size {}", label, s.dp_replicate, dp);
  s.dp_shard = dp / s.dp_replicate;
  return s;
}

DeviceMesh::DeviceMesh(MeshShape shape, int64_t rank) : shape_(shape), rank_(rank) {
  AM_CHECK(rank >= 0 && rank < shape.world(), "[dist] rank {} is outside a mesh of {} processes", rank,
           shape.world());
}

// Row-major over (dp_replicate, dp_shard, cp, tp): tp varies fastest.
DeviceMesh::Coords DeviceMesh::coords(int64_t rank) const {
  Coords c{};
  for (size_t d = kMeshDims; d-- > 0;) {
    const int64_t n = shape_.size(static_cast<MeshDim>(d));
    c[d] = rank % n;
    rank /= n;
  }
  return c;
}

int64_t DeviceMesh::rank_of(const Coords& c) const {
  int64_t rank = 0;
  for (size_t d = 0; d < kMeshDims; ++d) rank = rank * shape_.size(static_cast<MeshDim>(d)) + c[d];
  return rank;
}

int64_t DeviceMesh::dp_rank() const {
  const auto c = coords(rank_);
  return c[static_cast<size_t>(MeshDim::kDpReplicate)] * shape_.dp_shard + c[static_cast<size_t>(MeshDim::kDpShard)];
}

std::vector<int64_t> DeviceMesh::group_ranks(const std::vector<MeshDim>& dims) const {
  std::vector<int64_t> ranks;
  const auto mine = coords(rank_);
  for (int64_t r = 0; r < world(); ++r) {
    const auto c = coords(r);
    bool same_row = true;
    for (size_t d = 0; d < kMeshDims; ++d)
      if (std::find(dims.begin(), dims.end(), static_cast<MeshDim>(d)) == dims.end() && c[d] != mine[d])
        same_row = false;
    if (same_row) ranks.push_back(r);
  }
  return ranks;
}

}  // namespace automodel::dist
