#include "automodel/dist/process_group.h"

#include <ATen/ops/empty_like.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <thread>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

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

namespace {

// Gloo reports a lost peer as a generic error: name the collective and the likely cause.
template <typename Fn>
auto collective(int rank, const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("[dist] rank {}: {} failed (another rank died or stopped answering?): {}", rank,
                                      what, e.what()));
  }
}

class GlooPending : public PendingReduce {
 public:
  GlooPending(c10::intrusive_ptr<c10d::Work> work, int rank) : work_(std::move(work)), rank_(rank) {}
  void wait() override {
    collective(rank_, "all-reduce", [&] { return work_->wait(); });
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  int rank_;
};

std::string failure_key(int rank) { return fmt::format("automodel/failure/{}", rank); }

}  // namespace

void ProcessGroup::all_reduce_sum(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  collective(env_.rank, "all-reduce", [&] { return impl_->group->allreduce(one)->wait(); });
}

std::unique_ptr<PendingReduce> ProcessGroup::all_reduce_sum_async(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  auto work = collective(env_.rank, "all-reduce", [&] { return impl_->group->allreduce(one); });
  return std::make_unique<GlooPending>(std::move(work), env_.rank);
}

std::vector<at::Tensor> ProcessGroup::all_gather(const at::Tensor& tensor) {
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < env_.world_size; ++r) out[0].push_back(at::empty_like(tensor));
  std::vector<at::Tensor> in{tensor.contiguous()};
  collective(env_.rank, "all-gather", [&] { return impl_->group->allgather(out, in)->wait(); });
  return out[0];
}

void ProcessGroup::barrier() {
  collective(env_.rank, "barrier", [&] { return impl_->group->barrier()->wait(); });
}

// Store values: "C" + message for a rank whose own collective failed (a victim), "E" + message
// for a rank that failed by itself (the cause).
void ProcessGroup::report_failure(const std::string& message, bool lost_contact) {
  try {
    std::string value = (lost_contact ? "C" : "E") + message;
    impl_->store->set(failure_key(env_.rank), std::vector<uint8_t>(value.begin(), value.end()));
  } catch (const std::exception&) {
    // The store lives in rank 0's process; when it is gone there is nobody left to tell.
  }
}

std::string ProcessGroup::explain_lost_ranks(std::chrono::milliseconds grace) {
  std::vector<std::string> reports(static_cast<size_t>(env_.world_size));
  try {
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      bool all = true;
      for (int r = 0; r < env_.world_size; ++r) {
        auto& report = reports[static_cast<size_t>(r)];
        if (r == env_.rank || !report.empty()) continue;
        if (impl_->store->check({failure_key(r)})) {
          auto value = impl_->store->get(failure_key(r));
          report.assign(value.begin(), value.end());
        } else {
          all = false;
        }
      }
      if (all || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (const std::exception&) {
    return env_.rank == 0 ? "the rendezvous store stopped answering"
                          : "rank 0 (which hosts the rendezvous store) is gone";
  }
  std::vector<std::string> lines;
  for (int r = 0; r < env_.world_size; ++r) {
    const auto& report = reports[static_cast<size_t>(r)];
    if (r == env_.rank || (!report.empty() && report[0] == 'C')) continue;
    lines.push_back(report.empty() ? fmt::format("rank {} stopped without reporting an error (killed, or out of memory?)", r)
                                   : fmt::format("rank {} failed: {}", r, report.substr(1)));
  }
  return lines.empty() ? "every other rank lost contact too" : join(lines, "; ");
}

}  // namespace automodel::dist
