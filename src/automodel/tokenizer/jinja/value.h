// Values of the Jinja interpreter with Python semantics (what jinja2 renders for str(), repr(),
// truthiness, comparison), and conversion from/to JSON.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace automodel::tokenizer::jinja {

class BigInt;
struct Value;
struct CallArgs;
using ValueList = std::vector<Value>;
// Insertion-ordered dict; keys are values (templates use str and int keys).
struct ValueDict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  const Value* find(const Value& key) const;
  void set(const std::string& key, Value value);
  void set(const Value& key, Value value);
};
using Function = std::function<Value(CallArgs&)>;

struct Value {
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction, kNamespace };
  Kind kind = Kind::kUndefined;
  bool safe = false;  // str marked safe (jinja2 Markup): `+` escapes plain strings joined to it
  bool lazy = false;  // list produced by a jinja2 generator filter (map, select, ...): no len/tojson/[]
  bool b = false;
  int64_t i = 0;                      // int value; saturated at INT64_MIN/MAX when `big` is set
  std::shared_ptr<const BigInt> big;  // an int beyond 64 bits (Python ints are unbounded)
  int depth = 0;                      // nesting of lists/dicts (bounded by the sandbox)
  bool holds_namespace = false;       // a namespace, or a container with one inside
  double f = 0;
  std::string s;                      // string, or the name of an undefined value
  std::shared_ptr<ValueList> list;    // shared: lists alias like Python's
  std::shared_ptr<ValueDict> dict;    // dict and namespace
  std::shared_ptr<Function> fn;

  static Value undefined(std::string name = "") { Value v; v.s = std::move(name); return v; }
  static Value none() { Value v; v.kind = Kind::kNone; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::kBool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = Kind::kInt; v.i = x; return v; }
  static Value integer(const BigInt& x);  // plain int64 when it fits
  static Value number(double x) { Value v; v.kind = Kind::kFloat; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::kString; v.s = std::move(x); return v; }
  static Value make_list(ValueList items = {});
  static Value generator(ValueList items);
  static Value make_dict(ValueDict items = {});
  static Value make_namespace(ValueDict items = {});
  static Value function(Function f);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_mapping() const { return kind == Kind::kDict || kind == Kind::kNamespace; }
  bool is_int() const { return kind == Kind::kInt || kind == Kind::kBool; }
  // Python's float(x): an int beyond the double range is an OverflowError.
  double as_double() const;
  BigInt as_big() const;  // int or bool

  bool truthy() const;
  std::string str() const;   // Python str()
  std::string repr() const;  // Python repr()
  std::string type_name() const;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // Positional `index` or keyword `name`, else `fallback`.
  Value get(size_t index, const std::string& name, Value fallback = Value()) const;
};

bool values_equal(const Value& a, const Value& b);
// <0, 0, >0 like Python ordering (ints exactly); error for unorderable types.
int compare_values(const Value& a, const Value& b);
// Nesting beyond kMaxValueDepth is an error.
Value from_json(const nlohmann::json& j, int depth = 0);
// json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys) as Python writes it.
std::string to_json(const Value& v, int indent = -1, bool sort_keys = false);
// Python's float repr: shortest round-trip, always with a '.' or exponent.
std::string format_float(double x);

}  // namespace automodel::tokenizer::jinja
