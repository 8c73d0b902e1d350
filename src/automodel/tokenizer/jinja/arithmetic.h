// Python's operators on template values: exact integers (64-bit fast path, BigInt beyond),
// floor division and modulo, ** with Python's int/float rules, sequence repetition and
// concatenation within the sandbox's size limits. Errors read as Python's exceptions.
#pragma once

#include <string>
#include <string_view>
#include <optional>

#include "automodel/tokenizer/jinja/value.h"

namespace automodel::tokenizer::jinja {

// op: + - * / // % **
Value binary_arithmetic(const std::string& op, const Value& a, const Value& b);
Value negate(const Value& v);
Value absolute(const Value& v);
// Python's int(x) for a float: truncation toward zero, exact for large values.
Value int_from_double(double x);
// Decimal digits (no sign, '_' removed); nullopt beyond Python's 4300-digit limit.
std::optional<Value> int_from_digits(std::string_view digits);
// An index-sized int (Python's OverflowError for one beyond 64 bits).
int64_t to_index(const Value& v);

}  // namespace automodel::tokenizer::jinja
