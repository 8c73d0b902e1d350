// Raw dataset rows from local files: JSON Lines, a JSON array (or {"data": [...]}) and CSV with
// a header (each optionally gzipped), Parquet and Arrow IPC (data/arrow_rows.h). Every row is a
// JSON object; errors name the file and line (or row).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace automodel::data {

struct Row {
  nlohmann::json value;
  size_t line;               // 1-based line (JSONL/CSV) or row index + 1 (a JSON document)
  bool in_document = false;  // `line` counts rows (JSON document, Parquet, Arrow), not lines
  // The file, when a split spans several (shards): `line` counts within it.
  std::shared_ptr<const std::string> file = nullptr;
  // "line 12", "row 12" or "train-00001-of-00002.parquet row 12", naming where a row came from.
  std::string position() const {
    return (file ? *file + " " : "") + (in_document ? "row " : "line ") + std::to_string(line);
  }
};

// `path`: a file (.jsonl, .json, .csv, optionally .gz; .parquet; .arrow) or a dataset folder, whose
// files for `split` are found as HF datasets names them (data/split_files.h). At most `limit`
// rows (Parquet and Arrow files stop reading there).
std::vector<Row> read_rows(const std::string& path, const std::string& split,
                           size_t limit = std::numeric_limits<size_t>::max());
std::vector<Row> parse_jsonl(const std::string& text, const std::string& label);
std::vector<Row> parse_json_rows(const std::string& text, const std::string& label);
std::vector<Row> parse_csv(const std::string& text, const std::string& label);

}  // namespace automodel::data
