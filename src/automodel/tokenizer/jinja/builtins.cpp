#include "automodel/tokenizer/jinja/builtins.h"

#include <fmt/format.h>
#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/arithmetic.h"
#include "automodel/tokenizer/jinja/limits.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer::jinja {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error("[chat template] " + message); }

[[noreturn]] void undefined_error(const Value& v) {
  fail("UndefinedError: " + (v.s.empty() ? std::string("value is undefined") : v.s));
}

std::string undefined_hint_attr(const Value& obj, const std::string& name) {
  std::string type = obj.kind == Value::Kind::kNone ? "None" : obj.type_name() + " object";
  return fmt::format("'{}' has no attribute '{}'", type, name);
}

bool is_space_cp(char32_t c) { return is_whitespace(c) || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x1F; }

std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
  auto cps = decode_utf8(s);
  std::vector<char32_t> set;
  bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) set = decode_utf8(chars.str());
  auto strip_it = [&](char32_t c) { return whitespace ? is_space_cp(c) : std::find(set.begin(), set.end(), c) != set.end(); };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  std::string out;
  for (size_t k = b; k < e; ++k) append_utf8(out, cps[k]);
  return out;
}

std::vector<std::string> py_split(const std::string& s, const Value& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep.is_none() || sep.is_undefined()) {
    auto cps = decode_utf8(s);
    size_t k = 0;
    while (k < cps.size()) {
      while (k < cps.size() && is_space_cp(cps[k])) ++k;
      if (k >= cps.size()) break;
      std::string word;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        for (; k < cps.size(); ++k) append_utf8(word, cps[k]);
        // Python keeps trailing whitespace of the remainder only when not at the end; strip it.
        out.push_back(py_strip(word, Value::none(), false, true));
        break;
      }
      while (k < cps.size() && !is_space_cp(cps[k])) append_utf8(word, cps[k++]);
      check_list_size(out.size() + 1, "split");
      out.push_back(word);
    }
    return out;
  }
  std::string delim = sep.str();
  if (delim.empty()) fail("ValueError: empty separator");
  size_t start = 0;
  while (true) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) break;
    size_t p = find_text(s, delim, start);
    if (p == std::string::npos) break;
    check_list_size(out.size() + 2, "split");
    out.push_back(s.substr(start, p - start));
    start = p + delim.size();
  }
  out.push_back(s.substr(start));
  return out;
}

std::string py_case(const std::string& s, int mode) {  // 0 upper, 1 lower, 2 title, 3 capitalize
  std::string out;
  bool prev_cased = false;
  size_t index = 0;
  for (char32_t c : decode_utf8(s)) {
    char32_t r = c;
    if (mode == 0) r = static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
    else if (mode == 1) r = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    else if (mode == 2) {
      r = prev_cased ? static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)))
                     : static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
      prev_cased = is_alphabetic(c);
    } else {
      r = index == 0 ? static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)))
                     : static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    }
    append_utf8(out, r);
    ++index;
  }
  return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  auto grow = [&](size_t extra) { check_string_size(out.size() + extra, "replace"); };
  if (from.empty()) {  // Python inserts `to` between every character
    auto cps = decode_utf8(s);
    int64_t n = 0;
    for (size_t k = 0; k <= cps.size(); ++k) {
      if (count < 0 || n < count) {
        grow(to.size() + 4);
        out += to;
        ++n;
      }
      if (k < cps.size()) append_utf8(out, cps[k]);
    }
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    size_t p = find_text(s, from, start);
    if (p == std::string::npos) break;
    grow(p - start + to.size());
    out += s.substr(start, p - start) + to;
    start = p + from.size();
    ++n;
  }
  grow(s.size() - start);
  out += s.substr(start);
  charge_string(out.size());
  return out;
}

// str.format with "{}", "{0}", "{name}" and "{{"/"}}" escapes.
std::string py_format(const std::string& fmt_string, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t k = 0; k < fmt_string.size(); ++k) {
    char c = fmt_string[k];
    if (c == '{' && k + 1 < fmt_string.size() && fmt_string[k + 1] == '{') { out += '{'; ++k; continue; }
    if (c == '}' && k + 1 < fmt_string.size() && fmt_string[k + 1] == '}') { out += '}'; ++k; continue; }
    if (c != '{') { out += c; continue; }
    size_t close = fmt_string.find('}', k);
    if (close == std::string::npos) fail("ValueError: unmatched '{' in format string");
    std::string field = fmt_string.substr(k + 1, close - k - 1);
    Value v;
    if (field.empty()) v = args.get(auto_index++, "");
    else if (std::all_of(field.begin(), field.end(), ::isdigit))
      v = args.get(field.size() > 9 ? static_cast<size_t>(-1) : std::stoul(field), "");
    else v = args.get(static_cast<size_t>(-1), field);
    std::string text = v.str();
    check_string_size(out.size() + text.size(), "format");
    out += text;
    k = close;
  }
  return out;
}

Value method(const Value& self, std::function<Value(const Value&, CallArgs&)> body) {
  Value m = Value::function([self, body](CallArgs& args) { return body(self, args); });
  // A bound method holds its object: it nests like a container holding it.
  m.depth = self.depth + 1;
  m.holds_namespace = self.holds_namespace;
  if (m.depth > kMaxValueDepth) limit_error(fmt::format("RecursionError: lists and dicts nested deeper than {}", kMaxValueDepth));
  return m;
}

// ---- str methods --------------------------------------------------------------------------------

using StrMethod = Value (*)(const std::string& self, CallArgs& args);

Value str_split(const std::string& str, CallArgs& a) {
  ValueList parts;
  auto pieces = py_split(str, a.get(0, "sep", Value::none()), a.get(1, "maxsplit", Value::integer(-1)).i);
  charge_items(pieces.size(), str.size());
  for (auto& p : pieces) parts.push_back(Value::string(std::move(p)));
  return Value::make_list(std::move(parts));
}

// startswith / endswith: one affix or a list of them.
Value str_has_affix(const std::string& str, CallArgs& a, bool suffix) {
  Value arg = a.get(0, "prefix");
  std::vector<std::string> options;
  if (arg.is_list()) for (auto& o : *arg.list) options.push_back(o.str());
  else options.push_back(arg.str());
  for (const auto& o : options)
    if (suffix ? str.ends_with(o) : str.starts_with(o)) return Value::boolean(true);
  return Value::boolean(false);
}

Value str_join(const std::string& str, CallArgs& a) {
  std::string out;
  auto items = iterate(a.get(0, "iterable"));
  for (size_t k = 0; k < items.size(); ++k) {
    std::string text = items[k].str();
    check_string_size(out.size() + (k ? str.size() : 0) + text.size(), "join");
    out += (k ? str : "") + text;
  }
  charge_string(out.size());
  return Value::string(out);
}

// Index in code points, as Python counts.
Value str_find(const std::string& str, CallArgs& a) {
  size_t p = find_text(str, a.get(0, "sub").str());
  return Value::integer(p == std::string::npos ? -1 : static_cast<int64_t>(decode_utf8(str.substr(0, p)).size()));
}

Value str_count(const std::string& str, CallArgs& a) {
  std::string sub = a.get(0, "sub").str();
  int64_t n = 0;
  for (size_t p = find_text(str, sub); !sub.empty() && p != std::string::npos; p = find_text(str, sub, p + sub.size())) ++n;
  return Value::integer(n);
}

Value str_splitlines(const std::string& str, CallArgs&) {
  ValueList lines;
  auto pieces = py_split(str, Value::string("\n"), -1);
  charge_items(pieces.size(), str.size());
  for (auto& l : pieces) lines.push_back(Value::string(std::move(l)));
  if (!lines.empty() && lines.back().s.empty()) lines.pop_back();
  return Value::make_list(std::move(lines));
}

// isdigit / isalpha / isspace: false for "", like Python.
template <typename Pred>
Value all_code_points(const std::string& str, Pred pred) {
  auto cps = decode_utf8(str);
  return Value::boolean(!cps.empty() && std::all_of(cps.begin(), cps.end(), pred));
}

// The str methods templates may call: the one list of their names.
const std::unordered_map<std::string_view, StrMethod>& str_methods() {
  static const std::unordered_map<std::string_view, StrMethod> table = {
      {"capitalize", [](const std::string& s, CallArgs&) { return Value::string(py_case(s, 3)); }},
      {"count", str_count},
      {"endswith", [](const std::string& s, CallArgs& a) { return str_has_affix(s, a, true); }},
      {"find", str_find},
      {"format", [](const std::string& s, CallArgs& a) { return Value::string(py_format(s, a)); }},
      {"isalpha", [](const std::string& s, CallArgs&) { return all_code_points(s, is_alphabetic); }},
      {"isdigit", [](const std::string& s, CallArgs&) { return all_code_points(s, [](char32_t c) { return c >= '0' && c <= '9'; }); }},
      {"islower", [](const std::string& s, CallArgs&) { return Value::boolean(py_case(s, 1) == s && py_case(s, 0) != s); }},
      {"isspace", [](const std::string& s, CallArgs&) { return all_code_points(s, is_space_cp); }},
      {"isupper", [](const std::string& s, CallArgs&) { return Value::boolean(py_case(s, 0) == s && py_case(s, 1) != s); }},
      {"join", str_join},
      {"lower", [](const std::string& s, CallArgs&) { return Value::string(py_case(s, 1)); }},
      {"lstrip", [](const std::string& s, CallArgs& a) { return Value::string(py_strip(s, a.get(0, "chars", Value::none()), true, false)); }},
      {"replace",
       [](const std::string& s, CallArgs& a) {
         return Value::string(py_replace(s, a.get(0, "old").str(), a.get(1, "new").str(), a.get(2, "count", Value::integer(-1)).i));
       }},
      {"rsplit", str_split},
      {"rstrip", [](const std::string& s, CallArgs& a) { return Value::string(py_strip(s, a.get(0, "chars", Value::none()), false, true)); }},
      {"split", str_split},
      {"splitlines", str_splitlines},
      {"startswith", [](const std::string& s, CallArgs& a) { return str_has_affix(s, a, false); }},
      {"strip", [](const std::string& s, CallArgs& a) { return Value::string(py_strip(s, a.get(0, "chars", Value::none()), true, true)); }},
      {"title", [](const std::string& s, CallArgs&) { return Value::string(py_case(s, 2)); }},
      {"upper", [](const std::string& s, CallArgs&) { return Value::string(py_case(s, 0)); }},
  };
  return table;
}

Value string_method(const Value& self, const std::string& name) {
  auto it = str_methods().find(name);
  if (it == str_methods().end()) return Value::undefined(undefined_hint_attr(self, name));
  StrMethod body = it->second;
  return method(self, [body](const Value& s, CallArgs& a) { return body(s.s, a); });
}

const std::set<std::string> kMutators = {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear",
                                         "update", "setdefault", "popitem"};

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

size_t find_text(const std::string& haystack, const std::string& needle, size_t from) {
  if (from > haystack.size()) return std::string::npos;
  size_t n = haystack.size() - from, m = needle.size();
  // Short needles or small inputs: the library's search is fast and its worst case small.
  if (m <= 32 || n * m <= 100'000'000) {
    charge_steps(n >> 12);
    return haystack.find(needle, from);
  }
  // Knuth-Morris-Pratt: linear in both lengths whatever the input.
  charge_steps((n + m) >> 10);
  std::vector<size_t> fail(m, 0);
  for (size_t i = 1, k = 0; i < m; ++i) {
    while (k && needle[i] != needle[k]) k = fail[k - 1];
    if (needle[i] == needle[k]) ++k;
    fail[i] = k;
  }
  for (size_t i = from, k = 0; i < haystack.size(); ++i) {
    while (k && haystack[i] != needle[k]) k = fail[k - 1];
    if (haystack[i] == needle[k]) ++k;
    if (k == m) return i + 1 - m;
  }
  return std::string::npos;
}

Value length_of(const Value& v) {
  if (v.lazy) fail("TypeError: object of type 'generator' has no len()");
  switch (v.kind) {
    case Value::Kind::kString: return Value::integer(static_cast<int64_t>(decode_utf8(v.s).size()));
    case Value::Kind::kList: return Value::integer(static_cast<int64_t>(v.list->size()));
    case Value::Kind::kDict: case Value::Kind::kNamespace: return Value::integer(static_cast<int64_t>(v.dict->items.size()));
    case Value::Kind::kUndefined: return Value::integer(0);
    default: fail(fmt::format("TypeError: object of type '{}' has no len()", v.type_name()));
  }
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kList: {
      // The copy duplicates string items: charge them so repeated loops over big lists stop.
      uint64_t bytes = 0;
      for (const auto& x : *v.list) bytes += x.s.size();
      charge_items(v.list->size(), bytes);
      return *v.list;
    }
    case Value::Kind::kDict: {
      charge_items(v.dict->items.size());
      std::vector<Value> keys;
      for (auto& [k, _] : v.dict->items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      auto cps = decode_utf8(v.s);
      check_list_size(cps.size(), "iterating over a string");
      charge_items(cps.size(), v.s.size());
      std::vector<Value> chars;
      chars.reserve(cps.size());
      for (char32_t c : cps) chars.push_back(Value::string(encode_utf8(c)));
      return chars;
    }
    case Value::Kind::kUndefined: return {};
    default: fail(fmt::format("TypeError: '{}' object is not iterable", v.type_name()));
  }
}

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  if (kMutators.count(name) && (obj.is_list() || obj.kind == Value::Kind::kDict))
    fail(fmt::format("SecurityError: access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
  if (obj.is_string()) return string_method(obj, name);
  if (obj.kind == Value::Kind::kDict) {
    if (name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy") {
      return method(obj, [name](const Value& d, CallArgs& a) -> Value {
        if (name == "get") {
          const Value* v = d.dict->find(a.get(0, "key"));
          return v ? *v : a.get(1, "default", Value::none());
        }
        if (name == "copy") return Value::make_dict(*d.dict);
        ValueList out;
        for (auto& [k, v] : d.dict->items) {
          if (name == "items") out.push_back(Value::make_list({k, v}));
          else if (name == "keys") out.push_back(k);
          else out.push_back(v);
        }
        return Value::make_list(std::move(out));
      });
    }
    const Value* v = obj.dict->find(name);
    return v ? *v : Value::undefined(undefined_hint_attr(obj, name));
  }
  if (obj.kind == Value::Kind::kNamespace) {
    const Value* v = obj.dict->find(name);
    return v ? *v : Value::undefined(undefined_hint_attr(obj, name));
  }
  if (obj.is_list() && (name == "index" || name == "count")) {
    return method(obj, [name](const Value& l, CallArgs& a) -> Value {
      Value x = a.get(0, "value");
      int64_t n = 0;
      for (size_t k = 0; k < l.list->size(); ++k) {
        if (!values_equal((*l.list)[k], x)) continue;
        if (name == "index") return Value::integer(static_cast<int64_t>(k));
        ++n;
      }
      if (name == "index") fail(fmt::format("ValueError: {} is not in list", x.repr()));
      return Value::integer(n);
    });
  }
  return Value::undefined(undefined_hint_attr(obj, name));
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.lazy) fail("TypeError: 'generator' object is not subscriptable");
  if ((obj.is_list() || obj.is_string()) && (key.kind == Value::Kind::kInt || key.kind == Value::Kind::kBool)) {
    // jinja2's getitem turns Python's OverflowError for a huge index into undefined.
    if (key.big) return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), key.str()));
    int64_t idx = to_index(key);
    std::vector<char32_t> cps;
    if (obj.is_string()) cps = decode_utf8(obj.s);  // by code point, without a Value per character
    int64_t n = static_cast<int64_t>(obj.is_list() ? obj.list->size() : cps.size());
    if (idx < 0) idx += n;
    if (idx < 0 || idx >= n) return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), key.str()));
    if (obj.is_list()) return (*obj.list)[static_cast<size_t>(idx)];
    return Value::string(encode_utf8(cps[static_cast<size_t>(idx)]));
  }
  if (obj.is_mapping()) {
    if (const Value* v = obj.dict->find(key)) return *v;
  }
  if (key.is_string()) return get_attribute(obj, key.s);
  return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), key.repr()));
}

Value make_globals(std::time_t now) {
  ValueDict g;
  g.set("range", Value::function([](CallArgs& a) {
    int64_t start = 0, stop = 0, step = 1;
    for (const auto& p : a.positional)
      if (!p.is_int()) fail(fmt::format("TypeError: '{}' object cannot be interpreted as an integer", p.type_name()));
    if (a.positional.size() == 1) stop = to_index(a.positional[0]);
    else if (a.positional.size() >= 2) {
      start = to_index(a.positional[0]);
      stop = to_index(a.positional[1]);
      if (a.positional.size() > 2) step = to_index(a.positional[2]);
    }
    if (step == 0) fail("ValueError: range() arg 3 must not be zero");
    // jinja2's sandbox refuses ranges of more than MAX_RANGE items.
    __int128 span = static_cast<__int128>(stop) - start;  // exact: int64 differences overflow
    __int128 count = step > 0 ? (span + step - 1) / step : (span + step + 1) / step;
    if (count > kMaxRange)
      fail(fmt::format("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange));
    size_t items = count > 0 ? static_cast<size_t>(count) : 0;
    charge_items(items);
    ValueList out;
    out.reserve(items);
    for (size_t k = 0; k < items; ++k) out.push_back(Value::integer(start + static_cast<int64_t>(k) * step));
    return Value::make_list(std::move(out));
  }));
  g.set("namespace", Value::function([](CallArgs& a) {
    ValueDict d;
    for (auto& p : a.positional)
      if (p.is_mapping()) for (auto& [k, v] : p.dict->items) d.set(k, v);
    for (auto& [k, v] : a.keyword) d.set(k, v);
    return Value::make_namespace(std::move(d));
  }));
  g.set("dict", Value::function([](CallArgs& a) {
    ValueDict d;
    for (auto& p : a.positional)
      if (p.is_mapping()) for (auto& [k, v] : p.dict->items) d.set(k, v);
    for (auto& [k, v] : a.keyword) d.set(k, v);
    return Value::make_dict(std::move(d));
  }));
  g.set("raise_exception", Value::function([](CallArgs& a) -> Value {
    throw Error("[chat template] TemplateError: " + a.get(0, "message").str());
  }));
  g.set("strftime_now", Value::function([now](CallArgs& a) {
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[256];
    size_t n = std::strftime(buf, sizeof(buf), a.get(0, "format").str().c_str(), &tm);
    return Value::string(std::string(buf, n));
  }));
  return Value::make_dict(std::move(g));
}

}  // namespace automodel::tokenizer::jinja
