// Error types and the AM_CHECK macro: every failure names the file/field, what was expected and
// what was found. Library code throws; only main() turns errors into exit codes.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace automodel {

// Any failure the user can act on (bad file, bad flag, unsupported feature).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A requested feature exists in HF but is not implemented here: never silently ignored.
class NotSupportedError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_error(const std::string& message);

}  // namespace automodel

// AM_CHECK(cond, "[area] what, expected {}, found {}", a, b)
#define AM_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) ::automodel::throw_error(fmt::format(__VA_ARGS__)); \
  } while (0)
#define AM_FAIL(...) ::automodel::throw_error(fmt::format(__VA_ARGS__))
