#include "automodel/tokenizer/jinja/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/big_int.h"
#include "automodel/tokenizer/jinja/limits.h"
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

namespace {
// Containers record their nesting so no template can build a structure deep enough to overflow
// the stack of the recursive walkers (repr, tojson, ==) or of the destructors.
template <typename Items, typename Each>
void record_nesting(Value& v, const Items& items, Each each) {
  if (items.size() > kMaxListItems)
    limit_error(fmt::format("MemoryError: a {} of {} items, more than the limit of {}", v.type_name(), items.size(), kMaxListItems));
  int depth = 0;
  bool ns = false;
  for (const auto& item : items)
    each(item, [&](const Value& x) {
      depth = std::max(depth, x.depth);
      ns = ns || x.holds_namespace;
    });
  if (depth + 1 > kMaxValueDepth)
    limit_error(fmt::format("RecursionError: lists and dicts nested deeper than {}", kMaxValueDepth));
  v.depth = depth + 1;
  v.holds_namespace = ns || v.kind == Value::Kind::kNamespace;
}
void record_list(Value& v) {
  record_nesting(v, *v.list, [](const Value& x, auto&& f) { f(x); });
}
void record_dict(Value& v) {
  record_nesting(v, v.dict->items, [](const auto& kv, auto&& f) {
    f(kv.first);
    f(kv.second);
  });
}
}  // namespace

Value Value::integer(const BigInt& x) {
  if (x.fits_int64()) return integer(x.to_int64_saturated());
  Value v = integer(x.to_int64_saturated());
  v.big = std::make_shared<const BigInt>(x);
  return v;
}

double Value::as_double() const {
  if (kind == Kind::kFloat) return f;
  if (kind == Kind::kBool) return b ? 1.0 : 0.0;
  if (!big) return static_cast<double>(i);
  double d = big->to_double();
  if (std::isinf(d)) limit_error("OverflowError: int too large to convert to float");
  return d;
}

BigInt Value::as_big() const {
  if (big) return *big;
  return BigInt(kind == Kind::kBool ? static_cast<int64_t>(b) : i);
}

Value Value::make_list(ValueList items) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::make_shared<ValueList>(std::move(items));
  record_list(v);
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
  record_dict(v);
  return v;
}
Value Value::make_namespace(ValueDict items) {
  Value v = make_dict(std::move(items));
  v.kind = Kind::kNamespace;
  v.holds_namespace = true;
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
    case Kind::kInt: return i != 0;  // a big int is never zero
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

namespace {
// Shared sub-lists make a small value print enormously ([L] * 1000): grow with checks.
void repr_into(const Value& v, std::string& out, int depth) {
  if (depth > 2 * kMaxValueDepth + 2) limit_error("RecursionError: maximum recursion depth exceeded while getting the repr");
  check_string_size(out.size(), "printing a list or dict");
  switch (v.kind) {
    case Value::Kind::kString: out += repr_string(v.s); return;
    case Value::Kind::kList:
      out += "[";
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += ", ";
        repr_into((*v.list)[k], out, depth + 1);
      }
      out += "]";
      return;
    case Value::Kind::kDict:
      out += "{";
      for (size_t k = 0; k < v.dict->items.size(); ++k) {
        if (k) out += ", ";
        repr_into(v.dict->items[k].first, out, depth + 1);
        out += ": ";
        repr_into(v.dict->items[k].second, out, depth + 1);
      }
      out += "}";
      return;
    default: break;
  }
  out += v.str();
}
}  // namespace

std::string Value::repr() const {
  if (kind != Kind::kList && kind != Kind::kDict) return kind == Kind::kString ? repr_string(s) : str();
  std::string out;
  repr_into(*this, out, 0);
  check_string_size(out.size(), "printing a list or dict");
  charge_string(out.size());
  return out;
}

std::string Value::str() const {
  switch (kind) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return b ? "True" : "False";
    case Kind::kInt: {
      if (!big) return std::to_string(i);
      // Python refuses to print ints of more than 4300 digits (sys.int_max_str_digits).
      std::string digits = big->to_string();
      size_t n = digits.size() - (big->negative() ? 1 : 0);
      if (n > static_cast<size_t>(kMaxIntLiteralDigits))
        limit_error(fmt::format("ValueError: Exceeds the limit ({} digits) for integer string conversion; use "
                                "sys.set_int_max_str_digits() to increase the limit",
                                kMaxIntLiteralDigits));
      return digits;
    }
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

namespace {
// Python compares int with float exactly (10 ** 30 != 1e30); 2 means unordered (NaN).
int compare_numbers(const Value& a, const Value& b) {
  auto small = [](const Value& v) { return v.kind == Value::Kind::kBool ? int64_t{v.b} : v.i; };
  if (a.is_int() && b.is_int()) {
    if (!a.big && !b.big) return small(a) < small(b) ? -1 : (small(a) > small(b) ? 1 : 0);
    return compare(a.as_big(), b.as_big());
  }
  if (!a.is_int() && !b.is_int()) {
    if (std::isnan(a.f) || std::isnan(b.f)) return 2;
    return a.f < b.f ? -1 : (a.f > b.f ? 1 : 0);
  }
  bool swapped = !a.is_int();
  const Value& n = swapped ? b : a;
  double f = swapped ? a.f : b.f;
  int c;
  if (std::isnan(f)) return 2;
  if (std::isinf(f)) {
    c = f > 0 ? -1 : 1;
  } else if (!n.big && small(n) > -(int64_t{1} << 53) && small(n) < (int64_t{1} << 53)) {
    auto d = static_cast<double>(small(n));  // exact
    c = d < f ? -1 : (d > f ? 1 : 0);
  } else {
    double whole = std::floor(f);
    c = compare(n.as_big(), BigInt::from_double(whole));
    if (c == 0 && f > whole) c = -1;
  }
  return swapped ? -c : c;
}
}  // namespace

bool values_equal(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kUndefined: case K::kNone: return true;
    case K::kString:
      charge_steps(std::min(a.s.size(), b.s.size()) >> 12);
      return a.s == b.s;
    case K::kList:
      if (a.list == b.list) return true;  // shared lists: as Python's identity check
      if (a.list->size() != b.list->size()) return false;
      charge_steps(a.list->size());
      for (size_t k = 0; k < a.list->size(); ++k)
        if (!values_equal((*a.list)[k], (*b.list)[k])) return false;
      return true;
    case K::kDict: case K::kNamespace:
      if (a.dict == b.dict) return true;
      if (a.dict->items.size() != b.dict->items.size()) return false;
      charge_steps(a.dict->items.size());
      for (const auto& [k, v] : a.dict->items) {
        const Value* o = b.dict->find(k);
        if (!o || !values_equal(v, *o)) return false;
      }
      return true;
    default: return a.fn == b.fn;
  }
}

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    int c = compare_numbers(a, b);
    return c == 2 ? 0 : c;  // NaN: neither < nor >, as Python's comparisons all answer False
  }
  if (a.is_string() && b.is_string()) return a.s.compare(b.s) < 0 ? -1 : (a.s == b.s ? 0 : 1);
  if (a.is_list() && b.is_list()) {
    for (size_t k = 0; k < std::min(a.list->size(), b.list->size()); ++k)
      if (int c = compare_values((*a.list)[k], (*b.list)[k])) return c;
    return a.list->size() < b.list->size() ? -1 : (a.list->size() > b.list->size() ? 1 : 0);
  }
  throw Error(fmt::format("[chat template] TypeError: '<' not supported between instances of '{}' and '{}'", a.type_name(),
                          b.type_name()));
}

Value from_json(const nlohmann::json& j, int depth) {
  if (depth >= kMaxValueDepth)
    limit_error(fmt::format("RecursionError: template variables nested deeper than {} levels", kMaxValueDepth));
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::integer(static_cast<int64_t>(u));
      return Value::integer(BigInt(static_cast<int64_t>(u >> 1)).shifted_left(1) + BigInt(static_cast<int64_t>(u & 1)));
    }
    case nlohmann::json::value_t::number_float: return Value::number(j.get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      for (const auto& e : j) items.push_back(from_json(e, depth + 1));
      return Value::make_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      ValueDict d;
      for (const auto& [k, v] : j.items()) d.items.emplace_back(Value::string(k), from_json(v, depth + 1));
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
  // Values nest at most about 2 * kMaxValueDepth (namespaces hold no namespaces); the output
  // grows by whole items, so checking before each keeps it within the string limit.
  if (depth > 2 * kMaxValueDepth + 2) limit_error("ValueError: Circular reference detected");
  if (indent >= 0) check_string_size(out.size() + static_cast<size_t>(indent) * static_cast<size_t>(depth + 1) + 1, "tojson");
  else if (out.size() > kMaxStringBytes) check_string_size(out.size(), "tojson");
  std::string nl = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ') : "";
  std::string nl_end = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent * depth), ' ') : "";
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case K::kUndefined: case K::kNone: out += "null"; return;
    case K::kBool: out += v.b ? "true" : "false"; return;
    case K::kInt: out += v.str(); return;
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
  check_string_size(out.size(), "tojson");
  charge_string(out.size());
  return out;
}

}  // namespace automodel::tokenizer::jinja
