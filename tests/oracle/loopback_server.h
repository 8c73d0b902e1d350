// A loopback stand-in server from tests/oracles/ (fake_hub.py, fake_wandb.py) run in the
// background for one test: it prints "serving PORT ..." once it listens on a free port, and is
// stopped (SIGTERM) when this object goes away.
#pragma once

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "test_util.h"

namespace automodel::testing {

class LoopbackServer {
 public:
  // `args` follow the script's path on its command line (the first is usually the port, 0).
  LoopbackServer(const std::string& script, const std::string& args) {
    auto started = run_command(fmt::format("'{}' '{}' {} > '{}' 2>&1 & echo $!", python(), oracle_script(script).string(),
                                           args, (dir_ / "server.log").string()));
    pid_ = static_cast<pid_t>(std::stol(started.output));
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      auto text = log();
      if (auto at = text.find("serving "); at != std::string::npos && text.find('\n', at) != std::string::npos)
        port_ = std::stoi(text.substr(at + 8));
      else
        ::usleep(100000);
    }
  }
  ~LoopbackServer() { ::kill(pid_, SIGTERM); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  bool up() const { return port_ != 0; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  std::string log() const {
    std::ifstream in(dir_ / "server.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // A scratch folder of the test's (request bodies to post, ...).
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace automodel::testing
