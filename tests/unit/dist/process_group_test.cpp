// Process groups in one test process (one thread per rank over Gloo on the loopback): the
// sub-groups a device mesh asks for reduce over their own members only, and fsdp2 groups a
// model's parameters into one unit per decoder layer plus the root.
#include <gtest/gtest.h>

#include <ATen/ops/tensor.h>

#include <functional>
#include <random>
#include <thread>

#include "automodel/dist/fsdp.h"
#include "automodel/dist/mesh.h"
#include "automodel/dist/process_group.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"

namespace automodel::dist {
namespace {

DistEnv env_of(int rank, int world, uint16_t port) {
  DistEnv env;
  env.rank = rank;
  env.world_size = world;
  env.master_port = port;
  env.source = "test";
  return env;
}

uint16_t random_port() { return static_cast<uint16_t>(30000 + std::random_device{}() % 20000); }

// Runs fn(rank) on `world` threads; failures are collected per rank.
void on_ranks(int world, const std::function<void(int)>& fn) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(r);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
}

TEST(ProcessGroup, SubgroupsOfTheMeshReduceOverTheirOwnRanksOnly) {
  const auto port = random_port();
  std::vector<double> dp_sums(4), tp_sums(4);
  on_ranks(4, [&](int r) {
    ProcessGroup world(env_of(r, 4, port), std::chrono::seconds(60));
    DeviceMesh mesh(MeshShape{1, 2, 1, 2}, r);  // dp 2 x tp 2
    auto dp = world.subgroup(mesh.dp_group_ranks(), "dp");
    auto tp = world.subgroup(mesh.group_ranks({MeshDim::kTp}), "tp");
    EXPECT_EQ(dp->world_size(), 2);
    EXPECT_EQ(dp->rank(), mesh.dp_rank());
    auto a = at::tensor({static_cast<double>(r)}, at::kDouble);
    dp->all_reduce_sum(a);
    auto b = at::tensor({static_cast<double>(r)}, at::kDouble);
    tp->all_reduce_sum(b);
    dp_sums[static_cast<size_t>(r)] = a.item<double>();
    tp_sums[static_cast<size_t>(r)] = b.item<double>();
  });
  // dp rows {0, 2} and {1, 3}; tp rows {0, 1} and {2, 3}.
  EXPECT_EQ(dp_sums, (std::vector<double>{2, 4, 2, 4}));
  EXPECT_EQ(tp_sums, (std::vector<double>{1, 1, 5, 5}));
}

TEST(ProcessGroup, ARankOutsideTheSubgroupIsAnError) {
  const auto port = random_port();
  on_ranks(1, [&](int r) {
    ProcessGroup world(env_of(r, 1, port), std::chrono::seconds(60));
    EXPECT_THROW(world.subgroup({1, 2}, "dp"), Error);
  });
}

TEST(FullyShardedModel, OneUnitPerDecoderLayerAndTheRestInTheRoot) {
  const auto port = random_port();
  on_ranks(1, [&](int r) {
    ProcessGroup world(env_of(r, 1, port), std::chrono::seconds(60));
    const auto& arch = models::find_architecture("llama");
    auto model = models::build_model(hf::parse_model_config(arch.tiny_config_json, "tiny"), at::kFloat,
                                     c10::Device(c10::kCPU));
    models::init_random(*model, 1);
    std::vector<std::string> names;
    for (const auto& p : model->named_parameters()) names.push_back(p.name);
    FullyShardedModel fsdp(*model, world, names);
    ASSERT_EQ(fsdp.num_units(), 3u);  // root + 2 layers
    std::vector<std::vector<std::string>> units;
    fsdp.for_each_unit([&](const std::function<bool(const std::string&)>& in_unit) {
      units.emplace_back();
      for (const auto& n : names)
        if (in_unit(n)) units.back().push_back(n);
    });
    ASSERT_EQ(units.size(), 3u);
    size_t total = 0;
    for (const auto& u : units) total += u.size();
    EXPECT_EQ(total, names.size()) << "every parameter in exactly one unit";
    for (const auto& n : units[1]) EXPECT_EQ(n.rfind("model.layers.0.", 0), 0u) << n;
    for (const auto& n : units[2]) EXPECT_EQ(n.rfind("model.layers.1.", 0), 0u) << n;
    for (const auto& n : units[0]) EXPECT_EQ(n.find("model.layers."), std::string::npos) << n;
  });
}

}  // namespace
}  // namespace automodel::dist
