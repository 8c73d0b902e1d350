// The Arrow readers in a build configured without pyarrow (AUTOMODEL_ARROW=OFF, or no pyarrow in
// AUTOMODEL_PYTHON's environment): every call says how to get them.
#include "automodel/data/arrow_rows.h"

#include "automodel/common/error.h"

namespace automodel::data {
namespace {

[[noreturn]] void no_arrow(const std::filesystem::path& file) {
  AM_FAIL("[data] {}: this build reads no Parquet or Arrow files (configured without pyarrow); reconfigure with "
          "-DAUTOMODEL_PYTHON=<a python with pyarrow> (scripts/setup.sh installs it), or convert the file to .jsonl",
          file.string());
}

}  // namespace

bool arrow_support() { return false; }
std::vector<Row> read_parquet_rows(const std::filesystem::path& file, size_t) { no_arrow(file); }
std::vector<Row> read_arrow_ipc_rows(const std::filesystem::path& file, size_t) { no_arrow(file); }

}  // namespace automodel::data
