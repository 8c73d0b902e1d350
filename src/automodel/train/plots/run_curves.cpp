#include "automodel/train/plots/run_curves.h"

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "automodel/common/error.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

using Columns = std::initializer_list<std::pair<const char*, std::vector<double>*>>;

// A number under `key`; null (how nlohmann writes nan/inf) reads as NaN so the line still counts.
double number_at(const nlohmann::json& row, const char* key, const std::string& where) {
  auto it = row.find(key);
  AM_CHECK(it != row.end(), "[plot] {}: expected key \"{}\", found keys {}", where, key, row.dump());
  if (it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  AM_CHECK(it->is_number(), "[plot] {}: expected a number under \"{}\", found {}", where, key, it->dump());
  return it->get<double>();
}

// Appends each line's values to the columns (the first is the x axis); returns the number of (non-blank) lines.
size_t read_jsonl(const fs::path& file, Columns columns) {
  std::ifstream in(file);
  AM_CHECK(in.good(), "[plot] cannot read {}", file.string());
  size_t rows = 0, line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", file.string(), line_no);
    auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    AM_CHECK(row.is_object(), "[plot] {}: expected one JSON object per line, found {:.80}", where, line);
    for (const auto& [key, column] : columns) column->push_back(number_at(row, key, where));
    // The first column is the x axis: it must be a real number.
    AM_CHECK(std::isfinite(columns.begin()->second->back()), "[plot] {}: expected a number under \"{}\", found null",
             where, columns.begin()->first);
    ++rows;
  }
  AM_CHECK(!in.bad(), "[plot] error reading {}", file.string());
  return rows;
}

}  // namespace

RunCurves read_run_curves(const fs::path& run_dir) {
  RunCurves c;
  const auto train_file = run_dir / "training.jsonl";
  AM_CHECK(fs::is_regular_file(train_file),
           "[plot] {} not found: expected the training.jsonl a run writes into its checkpoint.checkpoint_dir",
           train_file.string());
  const size_t steps = read_jsonl(train_file, {{"step", &c.step},
                                               {"loss", &c.loss},
                                               {"grad_norm", &c.grad_norm},
                                               {"lr", &c.lr},
                                               {"tps", &c.tps}});
  AM_CHECK(steps > 0, "[plot] {}:1: expected at least one step, found an empty file", train_file.string());
  // Runs without a validation dataset have no validation.jsonl: the loss panel then has one curve.
  const auto val_file = run_dir / "validation.jsonl";
  if (fs::exists(val_file)) read_jsonl(val_file, {{"step", &c.val_step}, {"val_loss", &c.val_loss}});
  return c;
}

}  // namespace automodel::train
