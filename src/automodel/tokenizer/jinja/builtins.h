// jinja2's built-in filters, tests, globals and the Python methods templates call on strings,
// dicts and lists — with the immutable sandbox transformers uses (no list/dict mutation).
#pragma once

#include <ctime>
#include <functional>
#include <string>

#include "automodel/tokenizer/jinja/value.h"

namespace automodel::tokenizer::jinja {

// Filters and tests by name (one table each in filters.cpp); an unknown name is an error.
Value apply_filter(const std::string& name, const Value& target, CallArgs& args);
bool apply_test(const std::string& name, const Value& target, CallArgs& args);
// Whether the tables hold `name`: the parser rejects unknown names up front, like jinja2.
bool is_known_filter(const std::string& name);
bool is_known_test(const std::string& name);
// obj.name: a bound method, a dict item, or undefined.
Value get_attribute(const Value& obj, const std::string& name);
// obj[key] (jinja2 getitem: item first, then attribute).
Value get_item(const Value& obj, const Value& key);
// range, namespace, dict, raise_exception, strftime_now(fmt).
Value make_globals(std::time_t now);
std::string html_escape(const std::string& s);  // markupsafe.escape
Value length_of(const Value& v);  // len(), error for unsized values
std::vector<Value> iterate(const Value& v);  // for-loop items (dict -> keys, str -> characters)
// haystack.find(needle, from) in linear time (std::string::find is quadratic on hostile input).
size_t find_text(const std::string& haystack, const std::string& needle, size_t from = 0);

}  // namespace automodel::tokenizer::jinja
