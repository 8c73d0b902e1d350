#include "automodel/dist/process_group.h"

#include <ATen/ops/empty_like.h>
#include <ATen/ops/ones.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef AUTOMODEL_WITH_NCCL
#include <torch/csrc/distributed/c10d/NCCLUtils.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel::dist {

bool nccl_available() {
#ifdef AUTOMODEL_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::string nccl_version() {
#ifdef AUTOMODEL_WITH_NCCL
  return c10d::getNcclVersion();
#else
  return "";
#endif
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;  // the TCPStore, or a prefix of it for a sub-group
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef AUTOMODEL_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  c10::Device device = c10::Device(c10::kCPU);  // where collectives run
  std::chrono::milliseconds timeout{0};

  // The backend of `rank` among `world` over `store`.
  void connect(int rank, int world, const std::string& master_addr);

  // Calls fn(backend): NCCL for a CUDA device, Gloo otherwise (same collective interface).
  template <typename Fn>
  auto with_backend(Fn&& fn) {
#ifdef AUTOMODEL_WITH_NCCL
    if (nccl) return fn(*nccl);
#endif
    return fn(*gloo);
  }
  // NCCL only reduces device tensors: small CPU tensors (counts, losses, RNG states) go through it.
  at::Tensor on_device(const at::Tensor& t) const { return t.device() == device ? t : t.to(device); }
};

namespace {

// The interface this rank's Gloo sockets bind to: GLOO_SOCKET_IFNAME when set (as torch), the
// loopback when every rank is on this machine, else the address of this machine's hostname (the
// master's address only exists on the master's node).
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (master_addr == "127.0.0.1" || master_addr == "localhost")
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

void ProcessGroup::Impl::connect(int rank, int world, const std::string& master_addr) {
#ifdef AUTOMODEL_WITH_NCCL
  if (device.is_cuda()) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, options);
    return;
  }
#endif
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(gloo_device(master_addr));
  gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
}

ProcessGroup::ProcessGroup(const DistEnv& env, std::chrono::milliseconds timeout, c10::Device device)
    : env_(env), impl_(std::make_unique<Impl>()) {
  AM_CHECK(!device.is_cuda() || nccl_available(), "[dist] several processes on {} need NCCL, and this build has "
           "none (it was built against a CPU-only LibTorch): build against the CUDA torch wheel (scripts/setup.sh), "
           "or train on CPU (Gloo)",
           device.str());
  impl_->device = device;
  impl_->timeout = timeout;
  c10d::TCPStoreOptions options;
  options.port = env.master_port;
  options.isServer = env.rank == 0;
  options.numWorkers = static_cast<size_t>(env.world_size);
  options.waitWorkers = true;
  options.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    impl_->connect(env.rank, env.world_size, env.master_addr);
  } catch (const std::exception& e) {
    AM_FAIL("[dist] rank {} of {} could not join the process group at {}:{} ({}): {}", env.rank, env.world_size,
            env.master_addr, env.master_port, env.source, e.what());
  }
}

ProcessGroup::ProcessGroup(DistEnv env, std::unique_ptr<Impl> impl) : env_(std::move(env)), impl_(std::move(impl)) {}

std::unique_ptr<ProcessGroup> ProcessGroup::subgroup(const std::vector<int64_t>& ranks, const std::string& name) {
  auto mine = std::find(ranks.begin(), ranks.end(), static_cast<int64_t>(env_.rank));
  AM_CHECK(mine != ranks.end(), "[dist] rank {} is not a member of group {} (ranks {})", env_.rank, name,
           fmt::join(ranks, ", "));
  DistEnv sub = env_;
  sub.rank = static_cast<int>(mine - ranks.begin());
  sub.world_size = static_cast<int>(ranks.size());
  sub.source = fmt::format("group {} of {}", name, env_.source);
  auto impl = std::make_unique<Impl>();
  impl->device = impl_->device;
  impl->timeout = impl_->timeout;
  // The key names the members too: two groups of one name over other ranks never meet.
  impl->store = c10::make_intrusive<c10d::PrefixStore>(fmt::format("automodel/group/{}/{}", name, fmt::join(ranks, ",")),
                                                      impl_->store);
  try {
    impl->connect(sub.rank, sub.world_size, env_.master_addr);
  } catch (const std::exception& e) {
    AM_FAIL("[dist] rank {} could not join group {} (ranks {}): {}", env_.rank, name, fmt::join(ranks, ", "), e.what());
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(sub), std::move(impl)));
}

ProcessGroup::~ProcessGroup() = default;

namespace {

// A lost peer surfaces as a generic backend error: name the collective and the likely cause.
template <typename Fn>
auto collective(int rank, const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("[dist] rank {}: {} failed (another rank died or stopped answering?): {}", rank,
                                      what, e.what()));
  }
}

// wait() also copies the result back when the tensor was moved to the backend's device.
class BackendPending : public PendingReduce {
 public:
  BackendPending(c10::intrusive_ptr<c10d::Work> work, int rank, at::Tensor reduced, at::Tensor target)
      : work_(std::move(work)), rank_(rank), reduced_(std::move(reduced)), target_(std::move(target)) {}
  void wait() override {
    collective(rank_, "all-reduce", [&] { return work_->wait(); });
    if (!reduced_.is_same(target_)) target_.copy_(reduced_);
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  int rank_;
  at::Tensor reduced_, target_;
};

std::string failure_key(int rank) { return fmt::format("automodel/failure/{}", rank); }

}  // namespace

void ProcessGroup::all_reduce_sum(at::Tensor& tensor) { all_reduce_sum_async(tensor)->wait(); }

std::unique_ptr<PendingReduce> ProcessGroup::all_reduce_sum_async(at::Tensor& tensor) {
  std::vector<at::Tensor> one{impl_->on_device(tensor)};
  auto work = collective(env_.rank, "all-reduce", [&] {
    return impl_->with_backend([&](auto& backend) { return backend.allreduce(one); });
  });
  return std::make_unique<BackendPending>(std::move(work), env_.rank, one[0], tensor);
}

std::vector<at::Tensor> ProcessGroup::all_gather(const at::Tensor& tensor) {
  std::vector<at::Tensor> in{impl_->on_device(tensor).contiguous()};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < env_.world_size; ++r) out[0].push_back(at::empty_like(in[0]));
  collective(env_.rank, "all-gather", [&] {
    return impl_->with_backend([&](auto& backend) { return backend.allgather(out, in)->wait(); });
  });
  if (tensor.device() != impl_->device)
    for (auto& t : out[0]) t = t.to(tensor.device());
  return out[0];
}

// A summed one-element tensor read back on the host: every rank has arrived (NCCL's own barrier
// has to guess each rank's device).
void ProcessGroup::barrier() {
  auto one = at::ones({1}, at::kFloat);
  all_reduce_sum(one);
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
