// Raw dataset rows from local files: JSON Lines, a JSON array (or {"data": [...]}) and CSV with
// a header (each optionally gzipped). Every row is a JSON object; errors name the file and line.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace automodel::data {

struct Row {
  nlohmann::json value;
  size_t line;               // 1-based line (JSONL/CSV) or row index + 1 (a JSON document)
  bool in_document = false;  // `line` counts rows of a JSON document, not lines of the file
  // "line 12" or "row 12", for messages naming where a row came from.
  std::string position() const { return (in_document ? "row " : "line ") + std::to_string(line); }
};

// `path`: a file, or a folder holding `<split>.{jsonl,json,csv}`; any of them may be gzipped.
std::vector<Row> read_rows(const std::string& path, const std::string& split);
std::vector<Row> parse_jsonl(const std::string& text, const std::string& label);
std::vector<Row> parse_json_rows(const std::string& text, const std::string& label);
std::vector<Row> parse_csv(const std::string& text, const std::string& label);

}  // namespace automodel::data
