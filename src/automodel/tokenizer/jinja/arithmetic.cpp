#include "automodel/tokenizer/jinja/arithmetic.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/big_int.h"
#include "automodel/tokenizer/jinja/builtins.h"
#include "automodel/tokenizer/jinja/limits.h"

namespace automodel::tokenizer::jinja {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error("[chat template] " + message); }

[[noreturn]] void too_big(const char* op) {
  fail(fmt::format("OverflowError: integer result of '{}' exceeds {} bits (the template sandbox's limit)", op, kMaxIntBits));
}

int64_t small_int(const Value& v) { return v.kind == Value::Kind::kBool ? v.b : v.i; }

// Work on big integers is charged by limb operations so huge arithmetic in a loop stops too.
void charge_big(const BigInt& a, const BigInt& b) { charge_steps((a.limbs() + 1) * (b.limbs() + 1) / 8); }

Value int_pow(const Value& a, const Value& b) {
  BigInt base = a.as_big();
  if (base.is_zero()) return Value::integer(b.big || b.i != 0 ? 0 : 1);
  if (compare(base, BigInt(1)) == 0) return Value::integer(1);
  if (compare(base, BigInt(-1)) == 0) return Value::integer(b.as_big().is_odd() ? -1 : 1);
  // |base| >= 2: the result has at least (bits(base) - 1) * exponent + 1 bits.
  if (b.big || static_cast<double>(base.bit_length() - 1) * static_cast<double>(b.i) > static_cast<double>(kMaxIntBits))
    too_big("**");
  auto e = static_cast<uint64_t>(b.i);
  if (!a.big) {  // 64-bit fast path
    int64_t r = 1, x = small_int(a);
    bool overflow = false;
    for (uint64_t k = e; k && !overflow; k >>= 1) {
      if (k & 1) overflow = __builtin_mul_overflow(r, x, &r);
      if (k > 1 && !overflow) overflow = __builtin_mul_overflow(x, x, &x);
    }
    if (!overflow) return Value::integer(r);
  }
  charge_steps(static_cast<uint64_t>(base.bit_length()) * e / 256);
  return Value::integer(base.pow(e));
}

Value float_pow(double x, double y) {
  if (x == 0 && y < 0) fail("ZeroDivisionError: 0.0 cannot be raised to a negative power");
  double r = std::pow(x, y);
  if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) fail("OverflowError: (34, 'Numerical result out of range')");
  return Value::number(r);
}

Value int_arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (!a.big && !b.big) {
    int64_t x = small_int(a), y = small_int(b), r = 0;
    if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value::integer(r);
    if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::integer(r);
    if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::integer(r);
    if ((op == "//" || op == "%") && y != 0 && !(x == std::numeric_limits<int64_t>::min() && y == -1)) {
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // truncation -> floor, remainder takes y's sign
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
  }
  BigInt x = a.as_big(), y = b.as_big();
  charge_big(x, y);
  if (op == "+" || op == "-") {
    if (std::max(x.bit_length(), y.bit_length()) + 1 > kMaxIntBits) too_big(op.c_str());
    return Value::integer(op == "+" ? x + y : x - y);
  }
  if (op == "*") {
    if (x.bit_length() + y.bit_length() > kMaxIntBits) too_big("*");
    return Value::integer(x * y);
  }
  if (op == "/") {
    if (y.is_zero()) fail("ZeroDivisionError: division by zero");
    if (!a.big && !b.big && x.bit_length() <= 53 && y.bit_length() <= 53)
      return Value::number(static_cast<double>(small_int(a)) / static_cast<double>(small_int(b)));
    double d = BigInt::true_divide(x, y);
    if (std::isinf(d)) fail("OverflowError: integer division result too large for a float");
    return Value::number(d);
  }
  if (op == "//" || op == "%") {
    if (y.is_zero()) fail(op == "//" ? "ZeroDivisionError: integer division or modulo by zero" : "ZeroDivisionError: integer modulo by zero");
    BigInt q, r;
    BigInt::floor_divmod(x, y, q, r);
    return Value::integer(op == "//" ? q : r);
  }
  // "**"
  if (y.negative()) return float_pow(a.as_double(), b.as_double());
  return int_pow(a, b);
}

Value repeat(const Value& seq, const Value& count) {
  int64_t n = count.big ? (count.big->negative() ? 0 : std::numeric_limits<int64_t>::max()) : small_int(count);
  if (n <= 0) return seq.is_string() ? Value::string("") : Value::make_list();
  if (seq.is_string()) {
    if (seq.s.empty()) return Value::string("");
    double bytes = static_cast<double>(seq.s.size()) * static_cast<double>(n);
    check_string_size(bytes > 1e18 ? SIZE_MAX : static_cast<size_t>(bytes), "string repetition");
    charge_string(static_cast<size_t>(bytes));
    std::string out;
    out.reserve(static_cast<size_t>(bytes));
    for (int64_t k = 0; k < n; ++k) out += seq.s;
    return Value::string(std::move(out));
  }
  if (seq.list->empty()) return Value::make_list();
  double items = static_cast<double>(seq.list->size()) * static_cast<double>(n);
  check_list_size(items > 1e18 ? SIZE_MAX : static_cast<size_t>(items), "list repetition");
  // Items are copied (strings too): charge their bytes so [big] * n is bounded as well.
  uint64_t bytes = 0;
  for (const auto& v : *seq.list) bytes += v.s.size();
  charge_items(static_cast<size_t>(items), bytes * static_cast<uint64_t>(n));
  ValueList out;
  out.reserve(static_cast<size_t>(items));
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return Value::make_list(std::move(out));
}

}  // namespace

Value binary_arithmetic(const std::string& op, const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_undefined()) fail("UndefinedError: " + (a.s.empty() ? "value is undefined" : a.s));
  if (b.is_undefined()) fail("UndefinedError: " + (b.s.empty() ? "value is undefined" : b.s));
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (!a.safe && !b.safe) {
        check_string_size(a.s.size() + b.s.size(), "'+'");
        charge_string(a.s.size() + b.s.size());
        return Value::string(a.s + b.s);
      }
      // Markup + str escapes the plain side (transformers' tojson returns a plain str).
      std::string left = a.safe ? a.s : html_escape(a.s), right = b.safe ? b.s : html_escape(b.s);
      check_string_size(left.size() + right.size(), "'+'");
      charge_string(left.size() + right.size());
      Value v = Value::string(left + right);
      v.safe = true;
      return v;
    }
    if (a.is_list() && b.is_list()) {
      check_list_size(a.list->size() + b.list->size(), "'+'");
      uint64_t bytes = 0;
      for (const auto* l : {a.list.get(), b.list.get()})
        for (const auto& v : *l) bytes += v.s.size();
      charge_items(a.list->size() + b.list->size(), bytes);
      ValueList out = *a.list;
      out.insert(out.end(), b.list->begin(), b.list->end());
      return Value::make_list(std::move(out));
    }
  }
  if (op == "%" && a.is_string()) {  // Python printf-style formatting, as the format filter
    CallArgs args;
    if (b.is_list()) args.positional = *b.list;
    else args.positional.push_back(b);
    return apply_filter("format", a, args);
  }
  if (op == "*") {
    const Value* seq = a.is_string() || a.is_list() ? &a : (b.is_string() || b.is_list() ? &b : nullptr);
    const Value* count = seq == &a ? &b : &a;
    if (seq && count->is_int()) return repeat(*seq, *count);
  }
  if (!a.is_number() || !b.is_number())
    fail(fmt::format("TypeError: unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name()));
  if (a.kind != K::kFloat && b.kind != K::kFloat) return int_arithmetic(op, a, b);
  double fa = a.as_double(), fb = b.as_double();
  if (op == "+") return Value::number(fa + fb);
  if (op == "-") return Value::number(fa - fb);
  if (op == "*") return Value::number(fa * fb);
  if (op == "/") {
    if (fb == 0) fail("ZeroDivisionError: float division by zero");
    return Value::number(fa / fb);
  }
  if (op == "//" || op == "%") {
    if (fb == 0) fail(op == "//" ? "ZeroDivisionError: float floor division by zero" : "ZeroDivisionError: float modulo");
    // CPython's float_divmod.
    double mod = std::fmod(fa, fb), div = (fa - mod) / fb;
    if (mod != 0) {
      if ((fb < 0) != (mod < 0)) {
        mod += fb;
        div -= 1.0;
      }
    } else {
      mod = std::copysign(0.0, fb);
    }
    double floordiv = std::copysign(0.0, fa / fb);
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
    }
    return Value::number(op == "//" ? floordiv : mod);
  }
  if (op == "**") return float_pow(fa, fb);
  fail("unknown operator " + op);
}

Value negate(const Value& v) {
  if (v.kind == Value::Kind::kInt || v.kind == Value::Kind::kBool) {
    int64_t x = small_int(v);
    if (!v.big && x != std::numeric_limits<int64_t>::min()) return Value::integer(-x);
    return Value::integer(-v.as_big());
  }
  if (v.kind == Value::Kind::kFloat) return Value::number(-v.f);
  fail(fmt::format("TypeError: bad operand type for unary -: '{}'", v.type_name()));
}

Value absolute(const Value& v) {
  if (v.is_int()) {
    int64_t x = small_int(v);
    if (!v.big && x != std::numeric_limits<int64_t>::min()) return Value::integer(x < 0 ? -x : x);
    BigInt b = v.as_big();
    return Value::integer(b.negative() ? -b : b);
  }
  if (v.kind == Value::Kind::kFloat) return Value::number(std::fabs(v.f));
  fail(fmt::format("TypeError: bad operand type for abs(): '{}'", v.type_name()));
}

Value int_from_double(double x) {
  if (std::isnan(x)) fail("ValueError: cannot convert float NaN to integer");
  if (std::isinf(x)) fail("OverflowError: cannot convert float infinity to integer");
  double t = std::trunc(x);
  if (t >= -9.2e18 && t <= 9.2e18) return Value::integer(static_cast<int64_t>(t));
  return Value::integer(BigInt::from_double(t));
}

std::optional<Value> int_from_digits(std::string_view digits) {
  size_t first = digits.find_first_not_of('0');
  if (first == std::string_view::npos) return Value::integer(0);
  if (digits.size() - first > static_cast<size_t>(kMaxIntLiteralDigits)) return std::nullopt;
  auto big = BigInt::parse_decimal(digits.substr(first));
  if (!big) return std::nullopt;
  return Value::integer(*big);
}

int64_t to_index(const Value& v) {
  if (v.big) fail("OverflowError: cannot fit 'int' into an index-sized integer");
  return small_int(v);
}

}  // namespace automodel::tokenizer::jinja
