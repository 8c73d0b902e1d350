#include <gtest/gtest.h>

#include "automodel/common/error.h"
#include "automodel/dist/mesh.h"

using namespace automodel::dist;

TEST(DeviceMesh, CoordinatesRoundTripWithTensorParallelInnermost) {
  MeshShape shape{/*dp_replicate=*/2, /*dp_shard=*/2, /*cp=*/1, /*tp=*/2};
  DeviceMesh mesh(shape, 0);
  ASSERT_EQ(mesh.world(), 8);
  for (int64_t r = 0; r < 8; ++r) EXPECT_EQ(mesh.rank_of(mesh.coords(r)), r);
  // Neighbouring ranks differ in tp: a tensor-parallel pair shares a node.
  EXPECT_EQ(mesh.coords(1), (DeviceMesh::Coords{0, 0, 0, 1}));
  EXPECT_EQ(mesh.coords(2), (DeviceMesh::Coords{0, 1, 0, 0}));
  EXPECT_EQ(mesh.coords(7), (DeviceMesh::Coords{1, 1, 0, 1}));
}

TEST(DeviceMesh, DataParallelRankAndGroupsFollowTheMesh) {
  MeshShape shape{2, 2, 1, 2};
  DeviceMesh mesh(shape, 5);  // coords (1, 0, 0, 1)
  EXPECT_EQ(mesh.dp_size(), 4);
  EXPECT_EQ(mesh.dp_rank(), 2);
  EXPECT_EQ(mesh.dp_group_ranks(), (std::vector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(mesh.group_ranks({MeshDim::kTp}), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(mesh.group_ranks({MeshDim::kDpShard}), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(mesh.group_ranks({}), (std::vector<int64_t>{5}));
}

TEST(DeviceMesh, OneDimensionalDataParallelIsTheWholeWorld) {
  auto shape = resolve_mesh_shape(4, std::nullopt, std::nullopt, 1, 1, "r.yaml");
  EXPECT_EQ(shape.dp_shard, 4);
  EXPECT_EQ(shape.dp_replicate, 1);
  for (int64_t r = 0; r < 4; ++r) {
    DeviceMesh mesh(shape, r);
    EXPECT_EQ(mesh.dp_rank(), r);
    EXPECT_EQ(mesh.dp_group_ranks(), (std::vector<int64_t>{0, 1, 2, 3}));
  }
}

TEST(DeviceMesh, ResolvingSizesInfersShardingAndRejectsSizesThatDoNotMultiplyToTheWorld) {
  auto shape = resolve_mesh_shape(8, std::nullopt, 2, 2, 1, "r.yaml");
  EXPECT_EQ(shape.dp_replicate, 2);
  EXPECT_EQ(shape.dp_shard, 2);
  EXPECT_EQ(shape.tp, 2);
  try {
    resolve_mesh_shape(2, 4, std::nullopt, 1, 1, "r.yaml");
    FAIL() << "dp_size 4 over 2 processes was accepted";
  } catch (const automodel::Error& e) {
    EXPECT_NE(std::string(e.what()).find("distributed.dp_size is 4 but 2 process(es) run"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(resolve_mesh_shape(6, std::nullopt, std::nullopt, 4, 1, "r.yaml"), automodel::Error);
  EXPECT_THROW(resolve_mesh_shape(4, std::nullopt, 3, 1, 1, "r.yaml"), automodel::Error);
  EXPECT_THROW(DeviceMesh(MeshShape{}, 1), automodel::Error);
}
