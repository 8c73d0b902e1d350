#include "automodel/config/overrides.h"

#include <cstdlib>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/string_util.h"
#include "automodel/config/yaml_json.h"

namespace automodel::config {

std::vector<Override> parse_override_args(const std::vector<std::string>& args) {
  std::vector<Override> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    AM_CHECK(arg.starts_with("--") && arg.size() > 2,
             "[config] expected an override like --section.key=value after the recipe, found '{}'", arg);
    auto body = arg.substr(2);
    auto eq = body.find('=');
    if (eq != std::string::npos) {
      out.push_back({body.substr(0, eq), body.substr(eq + 1)});
    } else {
      AM_CHECK(i + 1 < args.size(), "[config] override --{} has no value (use --{}=value or --{} value)", body, body,
               body);
      out.push_back({body, args[++i]});
    }
    AM_CHECK(!out.back().path.empty() && out.back().path.find("..") == std::string::npos &&
                 out.back().path.front() != '.' && out.back().path.back() != '.',
             "[config] override '{}': the key must be dotted names like step_scheduler.max_steps", arg);
  }
  return out;
}

void apply_override(nlohmann::json& tree, const Override& override_) {
  auto parts = split(override_.path, '.');
  AM_CHECK(parts.size() <= static_cast<size_t>(kMaxJsonDepth),
           "[config] override --{:.60}...: the key has {} dotted parts, expected at most {}", override_.path,
           parts.size(), kMaxJsonDepth);
  auto value = parse_yaml_value(override_.value, "--" + override_.path);
  nlohmann::json* node = &tree;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto& child = (*node)[parts[i]];
    if (child.is_null()) {
      if (value.is_null()) return;  // removing something that is not there
      child = nlohmann::json::object();
    }
    AM_CHECK(child.is_object(), "[config] override --{}: '{}' is a {}, not a section", override_.path,
             join(std::vector<std::string>(parts.begin(), parts.begin() + static_cast<long>(i) + 1), "."),
             child.type_name());
    node = &child;
  }
  if (value.is_null()) {
    node->erase(parts.back());
  } else {
    (*node)[parts.back()] = std::move(value);
  }
}

namespace {

std::string lookup(const std::string& reference, const std::string& where) {
  auto comma = reference.find(',');
  auto name = reference.substr(0, comma);
  if (const char* value = std::getenv(name.c_str())) return value;
  AM_CHECK(comma != std::string::npos,
           "[config] {}: environment variable {} is not set and has no default (write ${{{},default}})", where,
           name, name);
  return reference.substr(comma + 1);
}

void interpolate(nlohmann::json& node, const std::string& where) {
  if (node.is_object()) {
    for (auto& [key, child] : node.items()) interpolate(child, where.empty() ? key : where + "." + key);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) interpolate(node[i], fmt::format("{}[{}]", where, i));
  } else if (node.is_string()) {
    auto text = node.get<std::string>();
    if (text.find("${") == std::string::npos) return;
    std::string out;
    size_t pos = 0;
    bool whole = false;
    while (true) {
      auto open = text.find("${", pos);
      if (open == std::string::npos) break;
      auto close = text.find('}', open);
      AM_CHECK(close != std::string::npos, "[config] {}: unterminated ${{ in '{}'", where, text);
      whole = open == 0 && close == text.size() - 1;
      out += text.substr(pos, open - pos) + lookup(text.substr(open + 2, close - open - 2), where);
      pos = close + 1;
    }
    out += text.substr(pos);
    node = whole ? parse_plain_scalar(out) : nlohmann::json(out);
  }
}

}  // namespace

void interpolate_env(nlohmann::json& tree) {
  interpolate(tree, "");
}

}  // namespace automodel::config
