// jinja2's built-in filters and tests (the subset HF chat templates use, plus close relatives).
// Each lives in one name -> function table; the parser's "is this a known filter/test" checks
// and the `filter` / `test` tests read the same tables.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/arithmetic.h"
#include "automodel/tokenizer/jinja/big_int.h"
#include "automodel/tokenizer/jinja/builtins.h"
#include "automodel/tokenizer/jinja/limits.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer::jinja {
namespace {

using FilterFn = Value (*)(const Value& target, CallArgs& args);
using TestFn = bool (*)(const Value& target, CallArgs& args);

[[noreturn]] void fail(const std::string& message) { throw Error("[chat template] " + message); }

// "a.b.c" attribute paths as map/sort/selectattr use them.
Value lookup_path(const Value& v, const Value& path) {
  if (path.kind == Value::Kind::kInt) return get_item(v, path);
  Value cur = v;
  std::string p = path.str(), part;
  size_t start = 0;
  while (true) {
    size_t dot = p.find('.', start);
    part = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    // jinja2 turns an all-digit part into an int index; one beyond 18 digits stays a key.
    bool numeric = !part.empty() && part.size() <= 18 && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = numeric ? get_item(cur, Value::integer(std::stoll(part))) : get_item(cur, Value::string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// A width argument turned into a count of characters, bounded by the string limit.
size_t pad_width(const Value& width, const char* what) {
  if (!width.is_int()) fail(fmt::format("TypeError: {} width must be an integer, found {}", what, width.type_name()));
  if (width.big ? width.big->negative() : width.i < 0) return 0;
  size_t n = width.big ? SIZE_MAX : static_cast<size_t>(width.i);
  check_string_size(n, what);
  return n;
}

std::string indent_text(const std::string& s, const Value& width, bool first, bool blank) {
  std::string pad = width.is_string() ? width.s : std::string(width.is_undefined() ? 4 : pad_width(width, "indent"), ' ');
  std::string out;
  size_t start = 0;
  bool is_first = true;
  while (true) {
    size_t nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    bool add = is_first ? first : (blank || !line.empty());
    if (is_first && !first) add = false;
    bool padded = add && !(line.empty() && !blank && !is_first);
    check_string_size(out.size() + (padded ? pad.size() : 0) + line.size() + 1, "indent");
    out += (padded ? pad : "") + line;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    is_first = false;
  }
  return out;
}

Value sum_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return binary_arithmetic("+", a, b);
  fail(fmt::format("TypeError: unsupported operand type(s) for +: '{}' and '{}'", a.type_name(), b.type_name()));
}

std::vector<Value> select_items(const Value& target, CallArgs& args, bool attr, bool keep_if) {
  std::vector<Value> out;
  if (!target.truthy()) return out;  // jinja2: `if value:` before iterating (None selects nothing)
  size_t first_arg = attr ? 1 : 0;
  std::string attribute = attr ? args.get(0, "attribute").str() : "";
  std::string test = args.positional.size() > first_arg ? args.positional[first_arg].str() : "";
  CallArgs test_args;
  for (size_t k = first_arg + 1; k < args.positional.size(); ++k) test_args.positional.push_back(args.positional[k]);
  for (const auto& item : iterate(target)) {
    Value v = attr ? lookup_path(item, Value::string(attribute)) : item;
    bool pass = test.empty() ? v.truthy() : apply_test(test, v, test_args);
    if (pass == keep_if) out.push_back(item);
  }
  return out;
}

// Filters that are the str method of the same name, applied to str(target).
Value call_str_method(const Value& target, const char* name, CallArgs args = {}) {
  return (*get_attribute(Value::string(target.str()), name).fn)(args);
}

// Python's whitespace around int("...") / float("...").
std::string strip_py_space(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
  s.erase(s.find_last_not_of(" \t\n\r\f\v") + 1);
  return s;
}

// float(s) of already stripped text; strtod also reads hex floats, which Python refuses.
std::optional<double> parse_py_float(const std::string& s) {
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && s.find_first_of("xXpP") == std::string::npos) return d;
  return std::nullopt;
}

// int(s) like Python: optional sign, digits and '_' between them; nullopt when not of that form.
std::optional<Value> parse_py_int(const std::string& s) {
  bool neg = !s.empty() && s[0] == '-';
  std::string digits = !s.empty() && (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  bool ok = !digits.empty() && digit(digits.front()) && digit(digits.back());
  for (size_t k = 0; ok && k < digits.size(); ++k) ok = digit(digits[k]) || (digits[k] == '_' && digit(digits[k + 1]));
  if (!ok) return std::nullopt;
  digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
  auto v = int_from_digits(digits);
  if (!v) fail(fmt::format("ValueError: Exceeds the limit ({} digits) for integer string conversion", kMaxIntLiteralDigits));
  return neg ? negate(*v) : *v;
}

// ---- filters ------------------------------------------------------------------------------------

Value filter_safe(const Value& t, CallArgs&) {
  Value v = Value::string(t.str());
  v.safe = true;
  return v;
}

Value filter_escape(const Value& t, CallArgs&) {
  Value v = Value::string(t.safe ? t.s : html_escape(t.str()));
  v.safe = true;
  return v;
}

Value filter_tojson(const Value& t, CallArgs& a) {
  Value indent = a.get(0, "indent", Value::none());
  int width = -1;
  if (!indent.is_none()) {
    if (!indent.is_int()) fail(fmt::format("TypeError: tojson indent must be an integer, found {}", indent.type_name()));
    width = static_cast<int>(std::min<size_t>(pad_width(indent, "tojson indent"), kMaxStringBytes));
  }
  return Value::string(to_json(t, width, a.get(99, "sort_keys", Value::boolean(false)).truthy()));
}

Value filter_default(const Value& t, CallArgs& a) {
  bool boolean = a.get(1, "boolean", Value::boolean(false)).truthy();
  if (t.is_undefined() || (boolean && !t.truthy())) return a.get(0, "default_value", Value::string(""));
  return t;
}

Value first_or_last(const Value& t, bool last) {
  if (last && t.lazy) fail("TypeError: 'generator' object is not reversible");
  auto items = iterate(t);
  if (items.empty()) return Value::undefined(fmt::format("No {} item, sequence was empty.", last ? "last" : "first"));
  return last ? items.back() : items.front();
}

Value filter_join(const Value& t, CallArgs& a) {
  std::string sep = a.get(0, "d", Value::string("")).str(), out;
  Value attribute = a.get(1, "attribute", Value::none());
  auto items = iterate(t);
  for (size_t k = 0; k < items.size(); ++k) {
    std::string text = (attribute.is_none() ? items[k] : lookup_path(items[k], attribute)).str();
    check_string_size(out.size() + (k ? sep.size() : 0) + text.size(), "join");
    out += (k ? sep : "") + text;
  }
  charge_string(out.size());
  return Value::string(out);
}

Value filter_reverse(const Value& t, CallArgs&) {
  if (t.is_string()) {
    auto cps = decode_utf8(t.s);
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) append_utf8(out, *it);
    return Value::string(out);
  }
  auto items = iterate(t);
  std::reverse(items.begin(), items.end());
  return Value::generator(std::move(items));  // reversed(): an iterator
}

Value filter_unique(const Value& t, CallArgs&) {
  std::vector<Value> out;
  for (const auto& v : iterate(t)) {
    bool seen = false;
    // case_sensitive=False by default: strings compare lowercased.
    for (const auto& o : out) seen |= (v.is_string() && o.is_string()) ? to_lower(v.s) == to_lower(o.s) : values_equal(v, o);
    if (!seen) out.push_back(v);
  }
  return Value::generator(std::move(out));
}

Value filter_items(const Value& t, CallArgs&) {
  if (t.is_undefined()) return Value::make_list();
  if (!t.is_mapping()) fail(fmt::format("TypeError: items filter needs a mapping, found {}", t.type_name()));
  ValueList out;
  for (auto& [k, v] : t.dict->items) out.push_back(Value::make_list({k, v}));
  return Value::generator(std::move(out));
}

Value filter_dictsort(const Value& t, CallArgs& a) {
  if (!t.is_mapping()) fail("TypeError: dictsort needs a mapping");
  bool by_value = a.get(1, "by", Value::string("key")).str() == "value";
  bool reverse = a.get(2, "reverse", Value::boolean(false)).truthy();
  auto items = t.dict->items;
  std::stable_sort(items.begin(), items.end(), [&](auto& x, auto& y) {
    // case_sensitive=False: string keys compare lowercased.
    auto fold = [](const Value& v) { return v.is_string() ? Value::string(to_lower(v.s)) : v; };
    int c = by_value ? compare_values(fold(x.second), fold(y.second)) : compare_values(fold(x.first), fold(y.first));
    return reverse ? c > 0 : c < 0;
  });
  ValueList out;
  for (auto& [k, v] : items) out.push_back(Value::make_list({k, v}));
  return Value::make_list(std::move(out));
}

Value filter_sort(const Value& t, CallArgs& a) {
  auto items = iterate(t);
  bool reverse = a.get(0, "reverse", Value::boolean(false)).truthy();
  Value attribute = a.get(2, "attribute", Value::none());
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    Value kx = attribute.is_none() ? x : lookup_path(x, attribute), ky = attribute.is_none() ? y : lookup_path(y, attribute);
    int c = compare_values(kx, ky);
    return reverse ? c > 0 : c < 0;
  });
  return Value::make_list(std::move(items));
}

Value min_or_max(const Value& t, bool max) {
  auto items = iterate(t);
  if (items.empty()) return Value::undefined("min/max of an empty sequence");
  Value best = items[0];
  for (auto& v : items)
    if (max ? compare_values(v, best) > 0 : compare_values(v, best) < 0) best = v;
  return best;
}

Value filter_sum(const Value& t, CallArgs& a) {
  Value total = a.get(1, "start", Value::integer(0));
  Value attribute = a.get(0, "attribute", Value::none());
  for (auto& v : iterate(t)) total = sum_values(total, attribute.is_none() ? v : lookup_path(v, attribute));
  return total;
}

// map(attribute=...) or map("filter", args...).
Value filter_map(const Value& t, CallArgs& a) {
  ValueList out;
  if (!t.truthy()) return Value::generator({});  // jinja2 maps nothing over a falsy value
  Value attribute = a.get(static_cast<size_t>(-1), "attribute", Value::undefined());
  if (!attribute.is_undefined()) {
    Value fallback = a.get(static_cast<size_t>(-1), "default", Value::undefined());
    for (auto& v : iterate(t)) {
      Value x = lookup_path(v, attribute);
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return Value::generator(std::move(out));
  }
  std::string filter = a.get(0, "filter").str();
  if (!is_known_filter(filter)) fail(fmt::format("no filter named '{}'", filter));
  CallArgs rest;
  for (size_t k = 1; k < a.positional.size(); ++k) rest.positional.push_back(a.positional[k]);
  rest.keyword = a.keyword;
  for (auto& v : iterate(t)) out.push_back(apply_filter(filter, v, rest));
  return Value::generator(std::move(out));
}

// int(x) for numbers; for text Python's int(str), else jinja2's retry int(float(str)).
Value filter_int(const Value& t, CallArgs& a) {
  Value fallback = a.get(0, "default", Value::integer(0));
  if (t.kind == Value::Kind::kInt) return t;
  if (t.kind == Value::Kind::kBool) return Value::integer(t.b);
  if (t.kind == Value::Kind::kFloat) return int_from_double(t.f);
  if (t.is_string()) {
    std::string s = strip_py_space(t.s);
    if (auto v = parse_py_int(s)) return *v;
    if (auto d = parse_py_float(s)) return int_from_double(*d);
  }
  return fallback;
}

Value filter_float(const Value& t, CallArgs& a) {
  if (t.is_number()) return Value::number(t.as_double());
  if (t.is_string())
    if (auto d = parse_py_float(strip_py_space(t.s))) return Value::number(*d);
  return a.get(0, "default", Value::number(0.0));
}

Value filter_round(const Value& t, CallArgs& a) {
  int64_t precision = std::clamp<int64_t>(a.get(0, "precision", Value::integer(0)).i, -400, 400);
  std::string method = a.get(1, "method", Value::string("common")).str();
  double scale = std::pow(10.0, static_cast<double>(precision)), x = t.as_double() * scale;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
  return Value::number(r / scale);
}

Value filter_indent(const Value& t, CallArgs& a) {
  return Value::string(indent_text(t.str(), a.get(0, "width", Value::integer(4)), a.get(1, "first", Value::boolean(false)).truthy(),
                                   a.get(2, "blank", Value::boolean(false)).truthy()));
}

Value filter_center(const Value& t, CallArgs& a) {
  Value width_value = a.get(0, "width", Value::integer(80));
  std::string s = t.str();
  int64_t len = static_cast<int64_t>(decode_utf8(s).size());
  if (width_value.is_int() && !width_value.big && width_value.i <= len) return Value::string(s);
  auto width = static_cast<int64_t>(pad_width(width_value, "center"));
  if (len >= width) return Value::string(s);
  check_string_size(static_cast<size_t>(width - len) + s.size(), "center");
  charge_string(static_cast<size_t>(width - len) + s.size());
  int64_t total = width - len, left = total / 2 + (total & width & 1);
  return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
}

Value filter_batch(const Value& t, CallArgs& a) {
  int64_t size = a.get(0, "linecount").i;
  if (size <= 0) fail("ValueError: batch size must be positive");
  if (!a.get(1, "fill_with", Value::none()).is_none()) check_list_size(static_cast<size_t>(size), "batch fill_with");
  Value fill = a.get(1, "fill_with", Value::none());
  ValueList out, cur;
  for (auto& v : iterate(t)) {
    cur.push_back(v);
    if (static_cast<int64_t>(cur.size()) == size) {
      out.push_back(Value::make_list(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (!fill.is_none())
      while (static_cast<int64_t>(cur.size()) < size) cur.push_back(fill);
    out.push_back(Value::make_list(cur));
  }
  return Value::make_list(std::move(out));
}

// printf-style: "%s" / "%d" / "%r" with positional args.
Value filter_format(const Value& t, CallArgs& a) {
  std::string f = t.str(), out;
  size_t arg = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    if (f[k] == '%' && k + 1 < f.size()) {
      char spec = f[++k];
      if (spec == '%') out += '%';
      else if (spec == 's') out += a.get(arg++, "").str();
      else if (spec == 'd') {
        Value v = a.get(arg++, "");
        if (!v.is_number()) fail(fmt::format("TypeError: %d format: a real number is required, not {}", v.type_name()));
        out += (v.kind == Value::Kind::kFloat ? int_from_double(v.f) : Value::integer(v.as_big())).str();
      } else if (spec == 'r') out += a.get(arg++, "").repr();
      else fail(fmt::format("format: unsupported conversion '%{}'", spec));
    } else {
      out += f[k];
    }
    check_string_size(out.size(), "format");
  }
  charge_string(out.size());
  return Value::string(out);
}

// The one list of filter names: parse-time checks, map("name") and `is filter` all read it.
const std::unordered_map<std::string_view, FilterFn>& filters() {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"abs", [](const Value& t, CallArgs&) { return absolute(t); }},
      {"attr", [](const Value& t, CallArgs& a) { return get_attribute(t, a.get(0, "name").str()); }},
      {"batch", filter_batch},
      {"capitalize", [](const Value& t, CallArgs&) { return call_str_method(t, "capitalize"); }},
      {"center", filter_center},
      {"count", [](const Value& t, CallArgs&) { return length_of(t); }},
      {"d", filter_default},
      {"default", filter_default},
      {"dictsort", filter_dictsort},
      {"e", filter_escape},
      {"escape", filter_escape},
      {"first", [](const Value& t, CallArgs&) { return first_or_last(t, false); }},
      {"float", filter_float},
      {"format", filter_format},
      {"indent", filter_indent},
      {"int", filter_int},
      {"items", filter_items},
      {"join", filter_join},
      {"last", [](const Value& t, CallArgs&) { return first_or_last(t, true); }},
      {"length", [](const Value& t, CallArgs&) { return length_of(t); }},
      {"list", [](const Value& t, CallArgs&) { return Value::make_list(iterate(t)); }},
      {"lower", [](const Value& t, CallArgs&) { return call_str_method(t, "lower"); }},
      {"map", filter_map},
      {"max", [](const Value& t, CallArgs&) { return min_or_max(t, true); }},
      {"min", [](const Value& t, CallArgs&) { return min_or_max(t, false); }},
      {"reject", [](const Value& t, CallArgs& a) { return Value::generator(select_items(t, a, false, false)); }},
      {"rejectattr", [](const Value& t, CallArgs& a) { return Value::generator(select_items(t, a, true, false)); }},
      {"replace",
       [](const Value& t, CallArgs& a) {
         return call_str_method(t, "replace", {{a.get(0, "old"), a.get(1, "new"), a.get(2, "count", Value::integer(-1))}, {}});
       }},
      {"reverse", filter_reverse},
      {"round", filter_round},
      {"safe", filter_safe},
      {"select", [](const Value& t, CallArgs& a) { return Value::generator(select_items(t, a, false, true)); }},
      {"selectattr", [](const Value& t, CallArgs& a) { return Value::generator(select_items(t, a, true, true)); }},
      {"sort", filter_sort},
      {"string", [](const Value& t, CallArgs&) { return Value::string(t.str()); }},
      {"sum", filter_sum},
      {"title", [](const Value& t, CallArgs&) { return call_str_method(t, "title"); }},
      {"tojson", filter_tojson},
      {"trim", [](const Value& t, CallArgs& a) { return call_str_method(t, "strip", {{a.get(0, "chars", Value::none())}, {}}); }},
      {"unique", filter_unique},
      {"upper", [](const Value& t, CallArgs&) { return call_str_method(t, "upper"); }},
      {"wordcount", [](const Value& t, CallArgs&) { return length_of(call_str_method(t, "split")); }},
  };
  return table;
}

// ---- tests --------------------------------------------------------------------------------------

bool test_even_odd(const Value& v, bool odd_wanted, const char* name) {
  if (v.kind != Value::Kind::kInt) fail(fmt::format("TypeError: test '{}' needs an integer, found {}", name, v.type_name()));
  bool odd = v.big ? v.big->is_odd() : (v.i % 2 != 0);
  return odd == odd_wanted;
}

// value % num == 0, with Python's ZeroDivisionError for num == 0.
bool test_divisibleby(const Value& v, CallArgs& a) {
  Value r = binary_arithmetic("%", v, a.get(0, "num"));
  return r.is_number() && r.as_double() == 0;
}

bool test_upper(const Value& v, CallArgs&) {
  CallArgs none;
  return v.is_string() && (*get_attribute(v, "upper").fn)(none).s == v.s;
}

bool test_in(const Value& v, CallArgs& a) {
  Value other = a.get(0, "other");
  if (other.is_string()) return v.is_string() && find_text(other.s, v.s) != std::string::npos;
  if (other.is_mapping()) return other.dict->find(v) != nullptr;
  for (auto& x : iterate(other))
    if (values_equal(x, v)) return true;
  return false;
}

bool test_eq(const Value& v, CallArgs& a) { return values_equal(v, a.get(0, "other")); }
bool test_ne(const Value& v, CallArgs& a) { return !values_equal(v, a.get(0, "other")); }
bool test_lt(const Value& v, CallArgs& a) { return compare_values(v, a.get(0, "other")) < 0; }
bool test_le(const Value& v, CallArgs& a) { return compare_values(v, a.get(0, "other")) <= 0; }
bool test_gt(const Value& v, CallArgs& a) { return compare_values(v, a.get(0, "other")) > 0; }
bool test_ge(const Value& v, CallArgs& a) { return compare_values(v, a.get(0, "other")) >= 0; }

// The one list of test names (with the operator aliases jinja2 registers).
const std::unordered_map<std::string_view, TestFn>& tests() {
  using K = Value::Kind;
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"boolean", [](const Value& v, CallArgs&) { return v.kind == K::kBool; }},
      {"callable", [](const Value& v, CallArgs&) { return v.kind == K::kFunction; }},
      {"defined", [](const Value& v, CallArgs&) { return !v.is_undefined(); }},
      {"divisibleby", test_divisibleby},
      {"eq", test_eq},
      {"equalto", test_eq},
      {"==", test_eq},
      {"escaped", [](const Value&, CallArgs&) { return false; }},
      {"even", [](const Value& v, CallArgs&) { return test_even_odd(v, false, "even"); }},
      {"false", [](const Value& v, CallArgs&) { return v.kind == K::kBool && !v.b; }},
      {"filter", [](const Value& v, CallArgs&) { return is_known_filter(v.str()); }},
      {"float", [](const Value& v, CallArgs&) { return v.kind == K::kFloat; }},
      {"ge", test_ge},
      {">=", test_ge},
      {"gt", test_gt},
      {">", test_gt},
      {"in", test_in},
      {"integer", [](const Value& v, CallArgs&) { return v.kind == K::kInt; }},
      {"iterable", [](const Value& v, CallArgs&) { return v.is_list() || v.kind == K::kDict || v.is_string(); }},
      {"le", test_le},
      {"<=", test_le},
      {"lower", [](const Value& v, CallArgs&) { return v.is_string() && to_lower(v.s) == v.s; }},
      {"lt", test_lt},
      {"<", test_lt},
      {"mapping", [](const Value& v, CallArgs&) { return v.kind == K::kDict; }},
      {"ne", test_ne},
      {"!=", test_ne},
      {"none", [](const Value& v, CallArgs&) { return v.is_none(); }},
      {"number", [](const Value& v, CallArgs&) { return v.kind == K::kInt || v.kind == K::kFloat; }},
      {"odd", [](const Value& v, CallArgs&) { return test_even_odd(v, true, "odd"); }},
      {"sameas",
       [](const Value& v, CallArgs& a) {
         Value other = a.get(0, "other");
         return v.kind == other.kind && (v.kind == K::kNone || values_equal(v, other));
       }},
      {"sequence", [](const Value& v, CallArgs&) { return v.is_list() || v.kind == K::kDict || v.is_string(); }},
      {"string", [](const Value& v, CallArgs&) { return v.is_string(); }},
      {"test", [](const Value& v, CallArgs&) { return is_known_test(v.str()); }},
      {"true", [](const Value& v, CallArgs&) { return v.kind == K::kBool && v.b; }},
      {"undefined", [](const Value& v, CallArgs&) { return v.is_undefined(); }},
      {"upper", test_upper},
  };
  return table;
}

}  // namespace

bool is_known_filter(const std::string& name) { return filters().count(name) != 0; }
bool is_known_test(const std::string& name) { return tests().count(name) != 0; }

Value apply_filter(const std::string& name, const Value& target, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail(fmt::format("no filter named '{}'", name));
  return it->second(target, args);
}

bool apply_test(const std::string& name, const Value& target, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail(fmt::format("no test named '{}'", name));
  return it->second(target, args);
}

}  // namespace automodel::tokenizer::jinja
