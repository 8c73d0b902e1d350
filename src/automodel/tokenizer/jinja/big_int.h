// Arbitrary-precision signed integers for the template interpreter, so integer arithmetic is
// Python's (exact past 64 bits). Small and plain (schoolbook): templates' sizes are bounded by
// the sandbox limits (see limits.h), so asymptotically fast algorithms buy nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace automodel::tokenizer::jinja {

class BigInt {
 public:
  BigInt() = default;
  explicit BigInt(int64_t v);
  // Decimal digits only (no sign, no '_'); nullopt when empty or not digits.
  static std::optional<BigInt> parse_decimal(std::string_view digits);
  // Exact value of an integral, finite double.
  static BigInt from_double(double integral);

  bool is_zero() const { return mag_.empty(); }
  bool negative() const { return neg_; }
  bool is_odd() const { return !mag_.empty() && (mag_[0] & 1u); }
  size_t bit_length() const;
  size_t limbs() const { return mag_.size(); }
  bool fits_int64() const;
  int64_t to_int64_saturated() const;
  // Nearest double (round half to even); +-inf when out of range.
  double to_double() const;
  std::string to_string() const;

  BigInt operator-() const;
  friend BigInt operator+(const BigInt& a, const BigInt& b);
  friend BigInt operator-(const BigInt& a, const BigInt& b);
  friend BigInt operator*(const BigInt& a, const BigInt& b);
  BigInt shifted_left(size_t bits) const;
  // Python's floor division and modulo (remainder takes the divisor's sign); b must be non-zero.
  static void floor_divmod(const BigInt& a, const BigInt& b, BigInt& quotient, BigInt& remainder);
  // a / b correctly rounded to a double as Python's int true division (+-inf when too large).
  static double true_divide(const BigInt& a, const BigInt& b);
  BigInt pow(uint64_t exponent) const;
  friend int compare(const BigInt& a, const BigInt& b);

 private:
  using Mag = std::vector<uint32_t>;  // little-endian base-2^32 limbs, no leading zero limbs
  static void trim(Mag& m);
  static int compare_mag(const Mag& a, const Mag& b);
  static Mag add_mag(const Mag& a, const Mag& b);
  static Mag sub_mag(const Mag& a, const Mag& b);  // requires |a| >= |b|
  static Mag mul_mag(const Mag& a, const Mag& b);
  static void divmod_mag(const Mag& a, const Mag& b, Mag& q, Mag& r);  // truncating
  static uint32_t divmod_small(Mag& a, uint32_t d);  // a /= d in place, returns the remainder
  static BigInt make(bool neg, Mag mag);

  bool neg_ = false;
  Mag mag_;
};

}  // namespace automodel::tokenizer::jinja
