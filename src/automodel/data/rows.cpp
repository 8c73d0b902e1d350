#include "automodel/data/rows.h"

#include <zlib.h>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/string_util.h"
#include "automodel/data/arrow_rows.h"
#include "automodel/data/split_files.h"

namespace fs = std::filesystem;

namespace automodel::data {
namespace {

// The file's text, gunzipped when it ends in .gz.
std::string read_text(const fs::path& file) {
  if (file.extension() != ".gz") return read_file(file);
  gzFile gz = ::gzopen(file.c_str(), "rb");
  AM_CHECK(gz != nullptr, "[data] cannot open {}", file.string());
  std::string text;
  char buffer[1 << 16];
  int n;
  while ((n = ::gzread(gz, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(n));
  int error = 0;
  const char* message = n < 0 ? ::gzerror(gz, &error) : nullptr;
  ::gzclose(gz);
  AM_CHECK(n == 0, "[data] {}: corrupt gzip data ({})", file.string(), message ? message : "read error");
  return text;
}

// Calls fn(line text, line number) for every non-blank line; stops when fn returns false.
template <typename Fn>
void for_each_line(const std::string& text, Fn&& fn) {
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    std::string_view body(text.data() + pos, end - pos);
    pos = end + 1;
    if (body.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!fn(body, line)) return;
  }
}

// Every non-blank line a JSON object, or nothing.
std::optional<std::vector<Row>> jsonl_objects(const std::string& text, const std::string& label) {
  std::vector<Row> rows;
  bool all_objects = true;
  for_each_line(text, [&](std::string_view body, size_t line) {
    auto value = parse_json_or_discarded(body, label, line);
    all_objects = value.is_object();
    if (all_objects) rows.push_back({std::move(value), line});
    return all_objects;
  });
  if (!all_objects || rows.empty()) return std::nullopt;
  return rows;
}

// As HF datasets reads a JSON document: an array of rows, {"data": [rows]} (SQuAD files), or
// columns ({"question": [...], "answer": [...]}, all of one length).
std::vector<Row> rows_of_document(nlohmann::json value, const std::string& label) {
  if (value.is_object() && value.contains("data") && value["data"].is_array()) value = std::move(value["data"]);
  std::vector<Row> rows;
  if (value.is_object() && !value.empty()) {
    size_t length = 0;
    bool columns = true;
    for (const auto& [_, column] : value.items()) {
      columns = columns && column.is_array() && (length == 0 || column.size() == length);
      if (columns) length = column.size();
    }
    AM_CHECK(columns, "[data] {}: expected a JSON array of rows, {{\"data\": [rows]}} or columns of equal length",
             label);
    for (size_t i = 0; i < length; ++i) {
      nlohmann::json row = nlohmann::json::object();
      for (const auto& [name, column] : value.items()) row[name] = column[i];
      rows.push_back({std::move(row), i + 1, true});
    }
    return rows;
  }
  AM_CHECK(value.is_array(), "[data] {}: expected a JSON array of rows (or {{\"data\": [...]}}), found {}", label,
           value.type_name());
  for (size_t i = 0; i < value.size(); ++i) rows.push_back({std::move(value[i]), i + 1, true});
  return rows;
}

}  // namespace

std::vector<Row> parse_jsonl(const std::string& text, const std::string& label) {
  std::vector<Row> rows;
  for_each_line(text, [&](std::string_view body, size_t line) {
    auto value = parse_json_or_discarded(body, label, line);
    AM_CHECK(!value.is_discarded(), "[data] {} line {}: not valid JSON", label, line);
    rows.push_back({std::move(value), line});
    return true;
  });
  return rows;
}

std::vector<Row> parse_json_rows(const std::string& text, const std::string& label) {
  auto value = parse_json_or_discarded(text, label);
  AM_CHECK(!value.is_discarded(), "[data] {}: not valid JSON", label);
  return rows_of_document(std::move(value), label);
}

namespace {

// RFC 4180 fields: quotes around fields, "" for a quote, newlines inside quotes.
std::vector<std::vector<std::string>> csv_records(const std::string& text, const std::string& label,
                                                  std::vector<size_t>& lines) {
  std::vector<std::vector<std::string>> records(1);
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1;
  lines.push_back(1);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      records.back().push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      records.back().push_back(std::move(field));
      field.clear();
      field_started = false;
      records.emplace_back();
      lines.push_back(++line);
    } else {
      field += c;
      field_started = true;
    }
  }
  AM_CHECK(!quoted, "[data] {} line {}: unterminated quoted field", label, line);
  if (field_started || !records.back().empty()) records.back().push_back(std::move(field));
  if (records.back().empty()) {
    records.pop_back();
    lines.pop_back();
  }
  return records;
}

}  // namespace

std::vector<Row> parse_csv(const std::string& text, const std::string& label) {
  std::vector<size_t> lines;
  auto records = csv_records(text, label, lines);
  AM_CHECK(!records.empty(), "[data] {}: empty CSV (a header row is required)", label);
  const auto& header = records[0];
  std::vector<Row> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() == 1 && records[r][0].empty()) continue;  // blank line
    AM_CHECK(records[r].size() == header.size(), "[data] {} line {}: expected {} fields (as the header), found {}",
             label, lines[r], header.size(), records[r].size());
    nlohmann::json row = nlohmann::json::object();
    for (size_t c = 0; c < header.size(); ++c) row[header[c]] = records[r][c];
    rows.push_back({std::move(row), lines[r]});
  }
  return rows;
}

namespace {

// One file's rows, by its extension.
std::vector<Row> read_file_rows(const fs::path& file, size_t limit) {
  auto ext = dataset_extension(file);
  if (ext == ".parquet") return read_parquet_rows(file, limit);
  if (ext == ".arrow") return read_arrow_ipc_rows(file, limit);
  AM_CHECK(!ext.empty(), "[data] {}: unsupported file type '{}'; supported: {}", file.string(),
           file.extension().string(), join(dataset_extensions(), ", "));
  auto text = read_text(file);
  std::vector<Row> rows;
  if (starts_with(ext, ".csv")) {
    rows = parse_csv(text, file.string());
  } else if (starts_with(ext, ".jsonl")) {
    rows = parse_jsonl(text, file.string());
  } else if (auto lines = jsonl_objects(text, file.string())) {  // .json as HF datasets: JSON Lines of objects,
    rows = std::move(*lines);
  } else {  // else one JSON document
    rows = parse_json_rows(text, file.string());
  }
  if (rows.size() > limit) rows.resize(limit);
  return rows;
}

}  // namespace

std::vector<Row> read_rows(const std::string& path, const std::string& split, size_t limit) {
  fs::path file = path;
  if (!fs::is_directory(file)) {
    AM_CHECK(fs::is_regular_file(file),
             "[data] dataset '{}' is not a local file or folder (hub dataset ids must be downloaded first: a "
             ".jsonl, .json, .csv, .parquet or .arrow file, or a folder of them)",
             path);
    return read_file_rows(file, limit);
  }
  auto files = split_files(file, split);
  if (files.size() == 1) return read_file_rows(files[0], limit);
  // Shards: rows keep their position within their own file.
  std::vector<Row> rows;
  for (const auto& shard : files) {
    if (rows.size() >= limit) break;
    auto name = std::make_shared<const std::string>(fs::relative(shard, file).string());
    for (auto& row : read_file_rows(shard, limit - rows.size())) {
      row.file = name;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace automodel::data
