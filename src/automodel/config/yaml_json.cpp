#include "automodel/config/yaml_json.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::config {
namespace {

// Aliases are expanded into copies, so a 1 KB "alias bomb" (10 levels of 10 aliases) would grow
// to 10^10 values: the expansion is counted and bounded, as is the nesting.
class YamlToJson {
 public:
  explicit YamlToJson(const std::string& label) : label_(label) {}

  nlohmann::json convert(const YAML::Node& node, int depth = 1) {
    AM_CHECK(++values_ <= kMaxYamlValues,
             "[config] {}: the YAML expands to more than {} values (aliases are expanded into copies: an alias "
             "repeated inside aliases multiplies); expected a recipe of at most {} values",
             label_, kMaxYamlValues, kMaxYamlValues);
    AM_CHECK(depth <= kMaxJsonDepth, "[config] {} line {}: nesting depth exceeds the limit of {} levels", label_,
             node.Mark().line + 1, kMaxJsonDepth);
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
      case YAML::NodeType::Scalar:
        // yaml-cpp tags quoted scalars "!" and plain ones "?".
        return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : parse_plain_scalar(node.Scalar());
      case YAML::NodeType::Sequence: {
        auto out = nlohmann::json::array();
        for (const auto& item : node) out.push_back(convert(item, depth + 1));
        return out;
      }
      case YAML::NodeType::Map: {
        auto out = nlohmann::json::object();
        for (const auto& kv : node) {
          AM_CHECK(kv.first.IsScalar(), "[config] {} line {}: mapping keys must be plain names", label_,
                   kv.first.Mark().line + 1);
          out[kv.first.Scalar()] = convert(kv.second, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  const std::string& label_;
  size_t values_ = 0;
};

nlohmann::json to_json(const YAML::Node& node, const std::string& label) { return YamlToJson(label).convert(node); }

void emit(YAML::Emitter& out, const nlohmann::json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : value) emit(out, item);
    out << YAML::EndSeq;
  } else if (value.is_null()) {
    out << YAML::Null;
  } else if (value.is_string()) {
    auto text = value.get<std::string>();
    // Quote strings that would otherwise read back as another type.
    if (!parse_plain_scalar(text).is_string()) out << YAML::DoubleQuoted;
    out << text;
  } else {
    out << value.dump();
  }
}

}  // namespace

nlohmann::json parse_plain_scalar(const std::string& text) {
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kFloat(R"([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)");
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL" || text == "None" ||
      text == "none")
    return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  try {
    if (std::regex_match(text, kInt)) return std::stoll(text);
    if (std::regex_match(text, kFloat)) return std::stod(text);
  } catch (const std::out_of_range&) {
    return text;
  }
  if (text == ".inf" || text == "inf") return std::numeric_limits<double>::infinity();
  if (text == "-.inf" || text == "-inf") return -std::numeric_limits<double>::infinity();
  return text;
}

nlohmann::json parse_yaml(const std::string& text, const std::string& label) {
  // YAML is UTF-8 text; other bytes would only surface later, without a line (or not at all).
  if (const size_t bad = tokenizer::find_invalid_utf8(text); bad != std::string::npos) {
    const size_t line_start = text.rfind('\n', bad);  // the byte at `bad` is no newline
    const auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n') + 1;
    const size_t column = bad - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    AM_FAIL("[config] {} line {} column {}: not valid UTF-8 (byte 0x{:02x}); save the recipe as UTF-8", label, line,
            column, static_cast<unsigned char>(text[bad]));
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (its message would only say "bad file").
    AM_FAIL("[config] {} line {}: nesting depth exceeds the YAML parser's limit of {} levels", label, e.mark.line + 1,
            e.depth() - 1);
  } catch (const YAML::Exception& e) {
    AM_FAIL("[config] {} line {} column {}: invalid YAML: {}", label, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  auto tree = to_json(root, label);
  if (tree.is_null()) tree = nlohmann::json::object();
  AM_CHECK(tree.is_object(), "[config] {}: expected a mapping of sections at the top level, found {}", label,
           tree.type_name());
  return tree;
}

nlohmann::json parse_yaml_value(const std::string& text, const std::string& label) {
  if (text.empty() || (text.front() != '[' && text.front() != '{' && text.front() != '"' && text.front() != '\''))
    return parse_plain_scalar(text);
  try {
    return to_json(YAML::Load(text), label);
  } catch (const YAML::DeepRecursion& e) {
    AM_FAIL("[config] {}: nesting depth exceeds the YAML parser's limit of {} levels", label, e.depth() - 1);
  } catch (const YAML::Exception& e) {
    AM_FAIL("[config] {}: '{}' is not a valid YAML value: {}", label, text, e.msg);
  }
}

nlohmann::json load_yaml_file(const std::filesystem::path& path) {
  AM_CHECK(std::filesystem::is_regular_file(path), "[config] recipe {} does not exist (or is not a file)",
           path.string());
  return parse_yaml(read_file(path), path.string());
}

std::string to_yaml(const nlohmann::json& tree) {
  YAML::Emitter out;
  emit(out, tree);
  return std::string(out.c_str()) + "\n";
}

}  // namespace automodel::config
