#include "automodel/tokenizer/jinja/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer::jinja {

const Value* ValueDict::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.s == key) return &v;
  return nullptr;
}
Value* ValueDict::find(const std::string& key) {
  return const_cast<Value*>(static_cast<const ValueDict*>(this)->find(key));
}
const Value* ValueDict::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (values_equal(k, key)) return &v;
  return nullptr;
}
void ValueDict::set(const std::string& key, Value value) { set(Value::string(key), std::move(value)); }
void ValueDict::set(const Value& key, Value value) {
  for (auto& [k, v] : items)
    if (values_equal(k, key)) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

Value Value::make_list(ValueList items) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::make_shared<ValueList>(std::move(items));
  return v;
}
Value Value::generator(ValueList items) {
  Value v = make_list(std::move(items));
  v.lazy = true;
  return v;
}
Value Value::make_dict(ValueDict items) {
  Value v;
  v.kind = Kind::kDict;
  v.dict = std::make_shared<ValueDict>(std::move(items));
  return v;
}
Value Value::make_namespace(ValueDict items) {
  Value v = make_dict(std::move(items));
  v.kind = Kind::kNamespace;
  return v;
}
Value Value::function(Function f) {
  Value v;
  v.kind = Kind::kFunction;
  v.fn = std::make_shared<Function>(std::move(f));
  return v;
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::kUndefined: case Kind::kNone: return false;
    case Kind::kBool: return b;
    case Kind::kInt: return i != 0;
    case Kind::kFloat: return f != 0;
    case Kind::kString: return !s.empty();
    case Kind::kList: return lazy || !list->empty();  // a Python generator is always truthy
    case Kind::kDict: return !dict->items.empty();
    case Kind::kFunction: case Kind::kNamespace: return true;
  }
  return false;
}

std::string Value::type_name() const {
  switch (kind) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kFunction: return "function";
    case Kind::kNamespace: return "Namespace";
  }
  return "?";
}

std::string format_float(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  // Shortest round-trip digits (as Python's repr), then Python's choice of notation:
  // positional when -4 <= exponent < 16, else d.ddde+XX.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  auto e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent < -4 || exponent >= 16) {
    out = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "") + (exponent < 0 ? "e-" : "e+") +
          fmt::format("{:02d}", std::abs(exponent));
  } else if (exponent < 0) {
    out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    if (digits.size() <= static_cast<size_t>(exponent) + 1) digits.append(static_cast<size_t>(exponent) + 1 - digits.size(), '0');
    out = digits.substr(0, static_cast<size_t>(exponent) + 1);
    std::string frac = digits.substr(static_cast<size_t>(exponent) + 1);
    out += "." + (frac.empty() ? "0" : frac);
  }
  return (negative ? "-" : "") + out;
}

namespace {
std::string repr_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decode_utf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    else append_utf8(out, c);
  }
  return out + quote;
}
}  // namespace

std::string Value::repr() const {
  switch (kind) {
    case Kind::kString: return repr_string(s);
    case Kind::kList: {
      std::string out = "[";
      for (size_t k = 0; k < list->size(); ++k) out += (k ? ", " : "") + (*list)[k].repr();
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t k = 0; k < dict->items.size(); ++k)
        out += (k ? ", " : "") + dict->items[k].first.repr() + ": " + dict->items[k].second.repr();
      return out + "}";
    }
    default: return str();
  }
}

std::string Value::str() const {
  switch (kind) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return b ? "True" : "False";
    case Kind::kInt: return std::to_string(i);
    case Kind::kFloat: return format_float(f);
    case Kind::kString: return s;
    case Kind::kFunction: return "<function>";
    case Kind::kList:
      if (lazy) return "<generator object>";
      return repr();
    case Kind::kNamespace: return "<Namespace>";
    default: return repr();
  }
}

Value CallArgs::get(size_t index, const std::string& name, Value fallback) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return v;
  if (index < positional.size()) return positional[index];
  return fallback;
}

bool values_equal(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kUndefined: case K::kNone: return true;
    case K::kString: return a.s == b.s;
    case K::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k)
        if (!values_equal((*a.list)[k], (*b.list)[k])) return false;
      return true;
    case K::kDict: case K::kNamespace:
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, v] : a.dict->items) {
        const Value* o = b.dict->find(k);
        if (!o || !values_equal(v, *o)) return false;
      }
      return true;
    default: return a.fn == b.fn;
  }
}

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() < b.as_double() ? -1 : (a.as_double() > b.as_double() ? 1 : 0);
  if (a.is_string() && b.is_string()) return a.s.compare(b.s) < 0 ? -1 : (a.s == b.s ? 0 : 1);
  if (a.is_list() && b.is_list()) {
    for (size_t k = 0; k < std::min(a.list->size(), b.list->size()); ++k)
      if (int c = compare_values((*a.list)[k], (*b.list)[k])) return c;
    return a.list->size() < b.list->size() ? -1 : (a.list->size() > b.list->size() ? 1 : 0);
  }
  throw Error(fmt::format("[chat template] TypeError: '<' not supported between instances of '{}' and '{}'", a.type_name(),
                          b.type_name()));
}

Value from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return Value::integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_float: return Value::number(j.get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      for (const auto& e : j) items.push_back(from_json(e));
      return Value::make_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      ValueDict d;
      for (const auto& [k, v] : j.items()) d.items.emplace_back(Value::string(k), from_json(v));
      return Value::make_dict(std::move(d));
    }
    default: return Value::none();
  }
}

namespace {
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char32_t c : decode_utf8(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else append_utf8(out, c);
    }
  }
  return out + "\"";
}

void dump(const Value& v, int indent, bool sort_keys, int depth, std::string& out) {
  using K = Value::Kind;
  std::string nl = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ') : "";
  std::string nl_end = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent * depth), ' ') : "";
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case K::kUndefined: case K::kNone: out += "null"; return;
    case K::kBool: out += v.b ? "true" : "false"; return;
    case K::kInt: out += std::to_string(v.i); return;
    case K::kFloat: out += std::isfinite(v.f) ? format_float(v.f) : (std::isnan(v.f) ? "NaN" : (v.f > 0 ? "Infinity" : "-Infinity")); return;
    case K::kString: out += json_string(v.s); return;
    case K::kList:
      if (v.lazy) throw Error("[chat template] TypeError: Object of type generator is not JSON serializable");
      if (v.list->empty()) { out += "[]"; return; }
      out += "[";
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += item_sep;
        out += nl;
        dump((*v.list)[k], indent, sort_keys, depth + 1, out);
      }
      out += nl_end + "]";
      return;
    case K::kDict: case K::kNamespace: {
      if (v.dict->items.empty()) { out += "{}"; return; }
      auto items = v.dict->items;
      // json.dumps writes non-string keys as strings (True -> "true").
      auto key_text = [](const Value& k) { return k.kind == Value::Kind::kBool ? std::string(k.b ? "true" : "false") : k.str(); };
      if (sort_keys) std::stable_sort(items.begin(), items.end(), [&](auto& a, auto& b) { return key_text(a.first) < key_text(b.first); });
      out += "{";
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += item_sep;
        out += nl + json_string(key_text(items[k].first)) + ": ";
        dump(items[k].second, indent, sort_keys, depth + 1, out);
      }
      out += nl_end + "}";
      return;
    }
    case K::kFunction: throw Error("[chat template] TypeError: Object of type function is not JSON serializable");
  }
}
}  // namespace

std::string to_json(const Value& v, int indent, bool sort_keys) {
  std::string out;
  dump(v, indent, sort_keys, 0, out);
  return out;
}

}  // namespace automodel::tokenizer::jinja
