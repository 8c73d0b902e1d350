#include "automodel/common/json_parse.h"

#include "automodel/common/error.h"

#include <limits>
#include <string>

namespace automodel {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is the useful part.
std::string short_message(const nlohmann::json::exception& e) {
  std::string_view text = e.what();
  if (auto close = text.find("] "); text.starts_with("[json.exception") && close != std::string_view::npos)
    text.remove_prefix(close + 2);
  return std::string(text);
}

// Python's json module writes float('inf') and float('nan') as the bare words Infinity and NaN
// (Nemotron-H's config.json has "time_step_limit": [0.0, Infinity]). Outside strings, strict JSON
// has no capital letters, so only a text with one there is rewritten: +-Infinity become marker
// strings that `restore_infinities` turns into +-infinity after parsing (nlohmann reads no JSON
// number as infinite), NaN becomes null (a field that needs a number then says so). Returns
// whether it rewrote `text` into `storage`.
constexpr std::string_view kInfinity = "\\u0000+inf", kMinusInfinity = "\\u0000-inf";  // as JSON escapes

bool spell_python_constants(std::string_view text, std::string& storage) {
  bool in_string = false, any = false;
  for (size_t i = 0; i < text.size() && !any; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else {
      any = c == 'I' || c == 'N';
    }
  }
  if (!any) return false;
  storage.clear();
  storage.reserve(text.size() + 32);
  in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      storage += c;
      if (c == '\\' && i + 1 < text.size()) storage += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    const auto rest = text.substr(i);
    if (rest.starts_with("Infinity") || rest.starts_with("-Infinity")) {
      const bool minus = c == '-';
      storage += '"';
      storage += minus ? kMinusInfinity : kInfinity;
      storage += '"';
      i += minus ? 8 : 7;
    } else if (rest.starts_with("NaN")) {
      storage += "null";
      i += 2;
    } else {
      storage += c;
      in_string = c == '"';
    }
  }
  return true;
}

template <typename Json>
void restore_infinities(Json& value) {
  static const std::string plus = std::string(1, '\0') + "+inf", minus = std::string(1, '\0') + "-inf";
  if (value.is_string()) {
    const auto& text = value.template get_ref<const std::string&>();
    if (text == plus) value = std::numeric_limits<double>::infinity();
    else if (text == minus) value = -std::numeric_limits<double>::infinity();
  } else if (value.is_structured()) {
    for (auto& item : value) restore_infinities(item);
  }
}

template <typename Json>
Json parse_python_json(std::string_view text, bool allow_exceptions) {
  std::string storage;
  const bool spelled = spell_python_constants(text, storage);
  auto value = Json::parse(spelled ? std::string_view(storage) : text, nullptr, allow_exceptions);
  if (spelled) restore_infinities(value);
  return value;
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
    return parse_python_json<nlohmann::json>(text, true);
  } catch (const nlohmann::json::exception& e) {
    AM_FAIL("[json] {}: not valid JSON ({})", label, short_message(e));
  }
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view label) {
  check_json_depth(text, label);
  try {
    return parse_python_json<nlohmann::ordered_json>(text, true);
  } catch (const nlohmann::json::exception& e) {
    AM_FAIL("[json] {}: not valid JSON ({})", label, short_message(e));
  }
}

nlohmann::json parse_json_or_discarded(std::string_view text, std::string_view label, size_t line) {
  check_json_depth(text, label, line);
  return parse_python_json<nlohmann::json>(text, /*allow_exceptions=*/false);
}

}  // namespace automodel
