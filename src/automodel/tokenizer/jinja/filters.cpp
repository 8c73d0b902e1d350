// jinja2's built-in filters and tests (the subset HF chat templates use, plus close relatives).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/arithmetic.h"
#include "automodel/tokenizer/jinja/big_int.h"
#include "automodel/tokenizer/jinja/builtins.h"
#include "automodel/tokenizer/jinja/limits.h"
#include "automodel/tokenizer/jinja/parser.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer::jinja {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error("[chat template] " + message); }

const std::set<std::string> kFilters = {
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
    "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum", "title",
    "tojson", "trim", "unique", "upper", "wordcount"};
const std::set<std::string> kTests = {"boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even",
                                      "false", "filter", "float", "ge", "gt", "in", "integer", "iterable", "le", "lower",
                                      "lt", "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string",
                                      "test", "true", "undefined", "upper", "==", "!=", "<", ">", "<=", ">="};

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

}  // namespace

bool is_known_filter(const std::string& name) { return kFilters.count(name) != 0; }
bool is_known_test(const std::string& name) { return kTests.count(name) != 0; }

Value apply_filter(const std::string& name, const Value& t, CallArgs& a) {
  if (name == "safe") {
    Value v = Value::string(t.str());
    v.safe = true;
    return v;
  }
  if (name == "string") return Value::string(t.str());
  if (name == "e" || name == "escape") {
    Value v = Value::string(t.safe ? t.s : html_escape(t.str()));
    v.safe = true;
    return v;
  }
  if (name == "trim") {
    CallArgs strip_args{{a.get(0, "chars", Value::none())}, {}};
    return (*get_attribute(Value::string(t.str()), "strip").fn)(strip_args);
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    CallArgs none;
    return (*get_attribute(Value::string(t.str()), name).fn)(none);
  }
  if (name == "replace") {
    CallArgs args{{a.get(0, "old"), a.get(1, "new"), a.get(2, "count", Value::integer(-1))}, {}};
    return (*get_attribute(Value::string(t.str()), "replace").fn)(args);
  }
  if (name == "length" || name == "count") return length_of(t);
  if (name == "wordcount") {
    CallArgs none;
    return length_of((*get_attribute(Value::string(t.str()), "split").fn)(none));
  }
  if (name == "tojson") {
    Value indent = a.get(0, "indent", Value::none());
    int width = -1;
    if (!indent.is_none()) {
      if (!indent.is_int()) fail(fmt::format("TypeError: tojson indent must be an integer, found {}", indent.type_name()));
      width = static_cast<int>(std::min<size_t>(pad_width(indent, "tojson indent"), kMaxStringBytes));
    }
    return Value::string(to_json(t, width, a.get(99, "sort_keys", Value::boolean(false)).truthy()));
  }
  if (name == "default" || name == "d") {
    bool boolean = a.get(1, "boolean", Value::boolean(false)).truthy();
    if (t.is_undefined() || (boolean && !t.truthy())) return a.get(0, "default_value", Value::string(""));
    return t;
  }
  if (name == "first" || name == "last") {
    if (name == "last" && t.lazy) fail("TypeError: 'generator' object is not reversible");
    auto items = iterate(t);
    if (items.empty()) return Value::undefined(fmt::format("No {} item, sequence was empty.", name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
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
  if (name == "list") return Value::make_list(iterate(t));
  if (name == "reverse") {
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
  if (name == "unique") {
    std::vector<Value> out;
    for (const auto& v : iterate(t)) {
      bool seen = false;
      // case_sensitive=False by default: strings compare lowercased.
      for (const auto& o : out) seen |= (v.is_string() && o.is_string()) ? to_lower(v.s) == to_lower(o.s) : values_equal(v, o);
      if (!seen) out.push_back(v);
    }
    return Value::generator(std::move(out));
  }
  if (name == "items") {
    if (t.is_undefined()) return Value::make_list();
    if (!t.is_mapping()) fail(fmt::format("TypeError: items filter needs a mapping, found {}", t.type_name()));
    ValueList out;
    for (auto& [k, v] : t.dict->items) out.push_back(Value::make_list({k, v}));
    return Value::generator(std::move(out));
  }
  if (name == "dictsort") {
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
  if (name == "sort") {
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
  if (name == "min" || name == "max") {
    auto items = iterate(t);
    if (items.empty()) return Value::undefined("min/max of an empty sequence");
    Value best = items[0];
    for (auto& v : items)
      if (name == "min" ? compare_values(v, best) < 0 : compare_values(v, best) > 0) best = v;
    return best;
  }
  if (name == "sum") {
    Value total = a.get(1, "start", Value::integer(0));
    Value attribute = a.get(0, "attribute", Value::none());
    for (auto& v : iterate(t)) total = sum_values(total, attribute.is_none() ? v : lookup_path(v, attribute));
    return total;
  }
  if (name == "map") {
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
  if (name == "select" || name == "reject") return Value::generator(select_items(t, a, false, name == "select"));
  if (name == "selectattr" || name == "rejectattr") return Value::generator(select_items(t, a, true, name == "selectattr"));
  if (name == "attr") return get_attribute(t, a.get(0, "name").str());
  if (name == "int") {
    Value fallback = a.get(0, "default", Value::integer(0));
    if (t.kind == Value::Kind::kInt) return t;
    if (t.kind == Value::Kind::kBool) return Value::integer(t.b);
    if (t.kind == Value::Kind::kFloat) return int_from_double(t.f);
    if (t.is_string()) {
      // int(str) like Python: optional sign, digits and '_' between them, surrounding spaces;
      // else jinja2 retries int(float(str)).
      std::string s = t.s;
      s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
      s.erase(s.find_last_not_of(" \t\n\r\f\v") + 1);
      bool neg = !s.empty() && s[0] == '-';
      std::string digits = !s.empty() && (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
      bool ok = !digits.empty() && std::isdigit(static_cast<unsigned char>(digits.front())) &&
                std::isdigit(static_cast<unsigned char>(digits.back()));
      for (size_t k = 0; ok && k < digits.size(); ++k)
        ok = std::isdigit(static_cast<unsigned char>(digits[k])) || (digits[k] == '_' && std::isdigit(static_cast<unsigned char>(digits[k + 1])));
      if (ok) {
        digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
        auto v = int_from_digits(digits);
        if (!v) fail(fmt::format("ValueError: Exceeds the limit ({} digits) for integer string conversion", kMaxIntLiteralDigits));
        return neg ? negate(*v) : *v;
      }
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size() && s.find_first_of("xXpP") == std::string::npos) return int_from_double(d);
    }
    return fallback;
  }
  if (name == "float") {
    if (t.is_number()) return Value::number(t.as_double());
    if (t.is_string()) {
      std::string s = t.s;
      s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
      s.erase(s.find_last_not_of(" \t\n\r\f\v") + 1);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size() && s.find_first_of("xXpP") == std::string::npos) return Value::number(d);
    }
    return a.get(0, "default", Value::number(0.0));
  }
  if (name == "abs") return absolute(t);
  if (name == "round") {
    int64_t precision = std::clamp<int64_t>(a.get(0, "precision", Value::integer(0)).i, -400, 400);
    std::string method = a.get(1, "method", Value::string("common")).str();
    double scale = std::pow(10.0, static_cast<double>(precision)), x = t.as_double() * scale;
    double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
    return Value::number(r / scale);
  }
  if (name == "indent") {
    return Value::string(indent_text(t.str(), a.get(0, "width", Value::integer(4)), a.get(1, "first", Value::boolean(false)).truthy(),
                                     a.get(2, "blank", Value::boolean(false)).truthy()));
  }
  if (name == "center") {
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
  if (name == "batch") {
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
  if (name == "format") {
    // printf-style: "%s"/"%d" with positional args
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
  fail(fmt::format("no filter named '{}'", name));
}

bool apply_test(const std::string& name, const Value& v, CallArgs& a) {
  using K = Value::Kind;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.kind == K::kInt || v.kind == K::kFloat;
  if (name == "integer") return v.kind == K::kInt;
  if (name == "float") return v.kind == K::kFloat;
  if (name == "boolean") return v.kind == K::kBool;
  if (name == "true") return v.kind == K::kBool && v.b;
  if (name == "false") return v.kind == K::kBool && !v.b;
  if (name == "mapping") return v.kind == K::kDict;
  if (name == "iterable") return v.is_list() || v.kind == K::kDict || v.is_string();
  if (name == "sequence") return v.is_list() || v.kind == K::kDict || v.is_string();
  if (name == "callable") return v.kind == K::kFunction;
  if (name == "even" || name == "odd") {
    if (v.kind != K::kInt) fail(fmt::format("TypeError: test '{}' needs an integer, found {}", name, v.type_name()));
    bool odd = v.big ? v.big->is_odd() : (v.i % 2 != 0);
    return odd == (name == "odd");
  }
  if (name == "divisibleby") {
    // value % num == 0, with Python's ZeroDivisionError for num == 0.
    Value r = binary_arithmetic("%", v, a.get(0, "num"));
    return r.is_number() && r.as_double() == 0;
  }
  if (name == "lower") return v.is_string() && to_lower(v.s) == v.s;
  if (name == "upper") {
    CallArgs none;
    return v.is_string() && (*get_attribute(v, "upper").fn)(none).s == v.s;
  }
  Value other = a.get(0, "other");
  if (name == "eq" || name == "equalto" || name == "==") return values_equal(v, other);
  if (name == "ne" || name == "!=") return !values_equal(v, other);
  if (name == "sameas") return v.kind == other.kind && (v.kind == K::kNone || values_equal(v, other));
  if (name == "lt" || name == "<") return compare_values(v, other) < 0;
  if (name == "le" || name == "<=") return compare_values(v, other) <= 0;
  if (name == "gt" || name == ">") return compare_values(v, other) > 0;
  if (name == "ge" || name == ">=") return compare_values(v, other) >= 0;
  if (name == "in") {
    if (other.is_string()) return v.is_string() && find_text(other.s, v.s) != std::string::npos;
    if (other.is_mapping()) return other.dict->find(v) != nullptr;
    for (auto& x : iterate(other))
      if (values_equal(x, v)) return true;
    return false;
  }
  if (name == "filter") return is_known_filter(v.str());
  if (name == "test") return is_known_test(v.str());
  if (name == "escaped") return false;
  fail(fmt::format("no test named '{}'", name));
}

}  // namespace automodel::tokenizer::jinja
