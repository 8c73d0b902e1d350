#include "automodel/dist/launcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "automodel/common/error.h"

namespace automodel::dist {
namespace {

std::vector<pid_t> g_children;

void forward_signal(int sig) {
  for (pid_t pid : g_children)
    if (pid > 0) ::kill(pid, sig);
}

// A port the kernel considers free right now (the master binds it moments later).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  AM_CHECK(fd >= 0, "[launcher] cannot open a socket: {}", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  AM_CHECK(ok, "[launcher] cannot find a free port: {}", std::strerror(errno));
  return ntohs(addr.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

}  // namespace

int launch_local_workers(const LaunchOptions& options, const std::vector<std::string>& args) {
  const int nproc = options.nproc_per_node;
  AM_CHECK(nproc >= 1, "[launcher] --nproc-per-node must be >= 1, found {}", nproc);
  AM_CHECK(options.nnodes >= 1 && options.node_rank >= 0 && options.node_rank < options.nnodes,
           "[launcher] --node-rank must be in [0, --nnodes = {}), found {}", options.nnodes, options.node_rank);
  AM_CHECK(options.nnodes == 1 || options.master_port > 0,
           "[launcher] with --nnodes {} every node needs the same --master-port (and --master-addr of node 0)",
           options.nnodes);
  auto port = std::to_string(options.master_port > 0 ? options.master_port : free_port());
  const int world = nproc * options.nnodes, first_rank = nproc * options.node_rank;
  std::vector<std::string> argv_storage{"/proc/self/exe"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::string self(4096, '\0');
  auto n = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
  AM_CHECK(n > 0, "[launcher] cannot find this program's path");
  self.resize(static_cast<size_t>(n));
  std::fflush(nullptr);
  g_children.assign(static_cast<size_t>(nproc), -1);
  for (int r = 0; r < nproc; ++r) {
    pid_t pid = ::fork();
    AM_CHECK(pid >= 0, "[launcher] fork failed: {}", std::strerror(errno));
    if (pid == 0) {
      ::setenv("RANK", std::to_string(first_rank + r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : argv_storage) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(self.c_str(), argv.data());
      std::fprintf(stderr, "[launcher] rank %d: exec %s failed: %s\n", r, self.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    g_children[static_cast<size_t>(r)] = pid;
  }
  struct sigaction sa{};
  sa.sa_handler = forward_signal;
  // Interrupts, and the preemption signals a scheduler sends ahead of a time limit.
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
  int running = nproc, exit_code = 0;
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::now();
  while (running > 0) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid == 0) {  // stopping: escalate to SIGKILL after a grace period
      if (std::chrono::steady_clock::now() > stop_deadline) forward_signal(SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int rank = -1;
    for (size_t i = 0; i < g_children.size(); ++i)
      if (g_children[i] == pid) {
        rank = first_rank + static_cast<int>(i);
        g_children[i] = -1;
      }
    --running;
    bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (failed && !stopping) {
      std::fprintf(stderr, "[launcher] rank %d failed (%s); stopping the other %d rank(s)\n", rank,
                   describe(status).c_str(), running);
      exit_code = 1;
      stopping = true;
      stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      forward_signal(SIGTERM);
    }
  }
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) ::signal(sig, SIG_DFL);
  g_children.clear();
  return exit_code;
}

}  // namespace automodel::dist
