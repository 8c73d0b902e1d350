#include "automodel/dist/process_group.h"

#include <ATen/ops/empty_like.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "automodel/common/error.h"

namespace automodel::dist {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const DistEnv& env, std::chrono::milliseconds timeout)
    : env_(env), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions options;
  options.port = env.master_port;
  options.isServer = env.rank == 0;
  options.numWorkers = static_cast<size_t>(env.world_size);
  options.waitWorkers = true;
  options.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr == "127.0.0.1" ||
                                                                                    env.master_addr == "localhost"
                                                                                ? "127.0.0.1"
                                                                                : env.master_addr));
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, gloo);
  } catch (const std::exception& e) {
    AM_FAIL("[dist] rank {} of {} could not join the process group at {}:{} ({}): {}", env.rank, env.world_size,
            env.master_addr, env.master_port, env.source, e.what());
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  impl_->group->allreduce(one)->wait();
}

namespace {
class GlooPending : public PendingReduce {
 public:
  explicit GlooPending(c10::intrusive_ptr<c10d::Work> work) : work_(std::move(work)) {}
  void wait() override { work_->wait(); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
};
}  // namespace

std::unique_ptr<PendingReduce> ProcessGroup::all_reduce_sum_async(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  return std::make_unique<GlooPending>(impl_->group->allreduce(one));
}

std::vector<at::Tensor> ProcessGroup::all_gather(const at::Tensor& tensor) {
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < env_.world_size; ++r) out[0].push_back(at::empty_like(tensor));
  std::vector<at::Tensor> in{tensor.contiguous()};
  impl_->group->allgather(out, in)->wait();
  return out[0];
}

void ProcessGroup::barrier() { impl_->group->barrier()->wait(); }

}  // namespace automodel::dist
