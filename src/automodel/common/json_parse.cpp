#include "automodel/common/json_parse.h"

#include "automodel/common/error.h"

namespace automodel {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is the useful part.
std::string short_message(const nlohmann::json::exception& e) {
  std::string_view text = e.what();
  if (auto close = text.find("] "); text.starts_with("[json.exception") && close != std::string_view::npos)
    text.remove_prefix(close + 2);
  return std::string(text);
}

}  // namespace

void check_json_depth(std::string_view text, std::string_view label, size_t line_of_text, int limit) {
  int depth = 0, deepest = 0;
  size_t line = 1, first_line = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      else if (c == '\n') ++line;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '\n': ++line; break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        if (depth == limit + 1 && first_line == 0) first_line = line;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;  // unbalanced input is the parser's to report
        break;
      default: break;
    }
  }
  if (deepest <= limit) return;
  if (line_of_text > 0) first_line += line_of_text - 1;  // `text` is one line of a larger file
  AM_FAIL("[json] {}: nesting depth {} exceeds the limit of {} nested arrays/objects (first exceeded on line {})",
          label, deepest, limit, first_line);
}

nlohmann::json parse_json(std::string_view text, std::string_view label) {
  check_json_depth(text, label);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    AM_FAIL("[json] {}: not valid JSON ({})", label, short_message(e));
  }
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view label) {
  check_json_depth(text, label);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    AM_FAIL("[json] {}: not valid JSON ({})", label, short_message(e));
  }
}

nlohmann::json parse_json_or_discarded(std::string_view text, std::string_view label, size_t line) {
  check_json_depth(text, label, line);
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace automodel
