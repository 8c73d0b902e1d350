// Helpers shared by the test suites: fixture paths, temp dirs, running the CLI.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace automodel::testing {

inline std::filesystem::path source_dir() { return AUTOMODEL_SOURCE_DIR; }
inline std::filesystem::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }
inline std::string automodel_binary() { return AUTOMODEL_BINARY; }

// The project's Python (.venv/bin/python3 from scripts/setup.sh, or AUTOMODEL_PYTHON): torch
// and the oracles (transformers, peft, tokenizers, jinja2, ...) live there.
inline std::string python() {
  if (const char* p = std::getenv("AUTOMODEL_PYTHON")) return p;
  return AUTOMODEL_TEST_PYTHON;
}
inline std::filesystem::path oracle_script(const std::string& name) { return source_dir() / "tests" / "oracles" / name; }

// Oracles are required in CI (CI=true) or with AUTOMODEL_REQUIRE_ORACLES=1; elsewhere a missing
// one skips the test with a message. Empty when `modules` (space-separated) are all installed.
inline std::string missing_oracle(const std::string& modules);
// In a test body: skip (or fail, in CI) when an oracle module is missing.
#define AUTOMODEL_REQUIRE_ORACLE(modules)                                                              \
  do {                                                                                                \
    if (auto why = ::automodel::testing::missing_oracle(modules); !why.empty()) {                     \
      if (::automodel::testing::oracles_required()) FAIL() << why << " (oracles are required in CI)"; \
      GTEST_SKIP() << why;                                                                            \
    }                                                                                                 \
  } while (0)

// A fresh directory removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("automodel_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result{0, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline bool oracles_required() {
  auto on = [](const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::string(v) != "0" && std::string(v) != "false";
  };
  return on("CI") || on("AUTOMODEL_REQUIRE_ORACLES");
}

inline std::string missing_oracle(const std::string& modules) {
  // find_spec locates a package without importing it (importing torch costs seconds per test);
  // an oracle that is present but broken fails loudly in the test's own script.
  auto r = run_command("'" + python() + "' -c 'import importlib.util, sys; "
                       "missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]; "
                       "print(*missing); sys.exit(1 if missing else 0)' " + modules);
  if (r.exit_code == 0) return "";
  return "oracle missing: " + python() + " has no '" + modules + "' (scripts/setup.sh installs it): " + r.output;
}

// The message of the automodel::Error `f` throws, or "<no error>".
template <typename ErrorType>
std::string error_message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ErrorType& e) {
    return e.what();
  }
  return "<no error>";
}

// A GoogleTest parameter name from any string ("qwen2.5-7b" -> "qwen2_5_7b").
inline std::string param_name(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return s;
}

// Contents of a file, gunzipped when the name ends in .gz (fixtures are stored compressed).
inline std::string read_fixture(const std::filesystem::path& path) {
  std::string cmd = (path.extension() == ".gz" ? "gzip -dc '" : "cat '") + path.string() + "'";
  auto result = run_command(cmd);
  if (result.exit_code != 0) throw std::runtime_error("cannot read fixture " + path.string());
  return result.output;
}

}  // namespace automodel::testing
