#include "automodel/tokenizer/jinja/big_int.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace automodel::tokenizer::jinja {

BigInt::BigInt(int64_t v) {
  neg_ = v < 0;
  // Magnitude through unsigned arithmetic: -INT64_MIN is not representable as int64.
  uint64_t m = neg_ ? (~static_cast<uint64_t>(v) + 1) : static_cast<uint64_t>(v);
  while (m) {
    mag_.push_back(static_cast<uint32_t>(m));
    m >>= 32;
  }
}

BigInt BigInt::make(bool neg, Mag mag) {
  trim(mag);
  BigInt r;
  r.neg_ = neg && !mag.empty();
  r.mag_ = std::move(mag);
  return r;
}

void BigInt::trim(Mag& m) {
  while (!m.empty() && m.back() == 0) m.pop_back();
}

std::optional<BigInt> BigInt::parse_decimal(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  Mag mag;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (auto& limb : mag) {
      uint64_t x = static_cast<uint64_t>(limb) * 10 + carry;
      limb = static_cast<uint32_t>(x);
      carry = x >> 32;
    }
    if (carry) mag.push_back(static_cast<uint32_t>(carry));
  }
  return make(false, std::move(mag));
}

BigInt BigInt::from_double(double x) {
  int exp = 0;
  double frac = std::frexp(std::fabs(x), &exp);  // |x| = frac * 2^exp, frac in [0.5, 1)
  auto mantissa = static_cast<uint64_t>(std::ldexp(frac, 53));
  BigInt m(static_cast<int64_t>(mantissa));
  BigInt r = exp >= 53 ? m.shifted_left(static_cast<size_t>(exp - 53))
                       : BigInt(static_cast<int64_t>(mantissa >> std::min(63, 53 - exp)));
  return x < 0 ? -r : r;
}

size_t BigInt::bit_length() const {
  if (mag_.empty()) return 0;
  size_t top = 32 - static_cast<size_t>(__builtin_clz(mag_.back()));
  return (mag_.size() - 1) * 32 + top;
}

bool BigInt::fits_int64() const {
  if (bit_length() < 64) return true;
  // -2^63 is the one 64-bit magnitude that fits.
  return neg_ && bit_length() == 64 && mag_[1] == 0x80000000u && mag_[0] == 0;
}

int64_t BigInt::to_int64_saturated() const {
  if (!fits_int64()) return neg_ ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  uint64_t m = 0;
  for (size_t k = mag_.size(); k-- > 0;) m = (m << 32) | mag_[k];
  return neg_ ? static_cast<int64_t>(~m + 1) : static_cast<int64_t>(m);
}

double BigInt::to_double() const {
  size_t bits = bit_length();
  if (bits <= 64) {
    uint64_t m = 0;
    for (size_t k = mag_.size(); k-- > 0;) m = (m << 32) | mag_[k];
    double d = static_cast<double>(m);
    return neg_ ? -d : d;
  }
  if (bits > 1100) return neg_ ? -HUGE_VAL : HUGE_VAL;
  // Top 64 bits plus a sticky bit for anything below them: one correctly rounded conversion.
  size_t shift = bits - 64;
  uint64_t top = 0;
  for (size_t b = 0; b < 64; ++b) {
    size_t bit = shift + 63 - b;
    top = (top << 1) | ((mag_[bit / 32] >> (bit % 32)) & 1u);
  }
  bool sticky = false;
  for (size_t bit = 0; bit < shift && !sticky; ++bit) sticky = (mag_[bit / 32] >> (bit % 32)) & 1u;
  // Bit 0 is far below double precision: it only breaks ties when lower bits were dropped.
  if (sticky) top |= 1;
  double d = std::ldexp(static_cast<double>(top), static_cast<int>(shift));
  return neg_ ? -d : d;
}

std::string BigInt::to_string() const {
  if (mag_.empty()) return "0";
  Mag m = mag_;
  std::vector<uint32_t> chunks;  // base 10^9, little-endian
  while (!m.empty()) chunks.push_back(divmod_small(m, 1000000000u));
  std::string out = neg_ ? "-" : "";
  out += std::to_string(chunks.back());
  for (size_t k = chunks.size() - 1; k-- > 0;) {
    std::string part = std::to_string(chunks[k]);
    out += std::string(9 - part.size(), '0') + part;
  }
  return out;
}

int BigInt::compare_mag(const Mag& a, const Mag& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t k = a.size(); k-- > 0;)
    if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

BigInt::Mag BigInt::add_mag(const Mag& a, const Mag& b) {
  const Mag& big = a.size() >= b.size() ? a : b;
  const Mag& small = a.size() >= b.size() ? b : a;
  Mag out(big.size() + 1, 0);
  uint64_t carry = 0;
  for (size_t k = 0; k < big.size(); ++k) {
    uint64_t s = static_cast<uint64_t>(big[k]) + (k < small.size() ? small[k] : 0) + carry;
    out[k] = static_cast<uint32_t>(s);
    carry = s >> 32;
  }
  out[big.size()] = static_cast<uint32_t>(carry);
  trim(out);
  return out;
}

BigInt::Mag BigInt::sub_mag(const Mag& a, const Mag& b) {
  Mag out(a.size(), 0);
  int64_t borrow = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    int64_t d = static_cast<int64_t>(a[k]) - (k < b.size() ? b[k] : 0) - borrow;
    borrow = d < 0;
    out[k] = static_cast<uint32_t>(d + (borrow ? (int64_t{1} << 32) : 0));
  }
  trim(out);
  return out;
}

BigInt::Mag BigInt::mul_mag(const Mag& a, const Mag& b) {
  if (a.empty() || b.empty()) return {};
  Mag out(a.size() + b.size(), 0);
  for (size_t i = 0; i < a.size(); ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < b.size(); ++j) {
      uint64_t t = static_cast<uint64_t>(a[i]) * b[j] + out[i + j] + carry;
      out[i + j] = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
    out[i + b.size()] = static_cast<uint32_t>(carry);
  }
  trim(out);
  return out;
}

uint32_t BigInt::divmod_small(Mag& a, uint32_t d) {
  uint64_t rem = 0;
  for (size_t k = a.size(); k-- > 0;) {
    uint64_t cur = (rem << 32) | a[k];
    a[k] = static_cast<uint32_t>(cur / d);
    rem = cur % d;
  }
  trim(a);
  return static_cast<uint32_t>(rem);
}

// Knuth's algorithm D (TAOCP vol. 2, 4.3.1) on base-2^32 limbs.
void BigInt::divmod_mag(const Mag& a, const Mag& b, Mag& q, Mag& r) {
  if (compare_mag(a, b) < 0) {
    q.clear();
    r = a;
    return;
  }
  if (b.size() == 1) {
    q = a;
    uint32_t rem = divmod_small(q, b[0]);
    r = rem ? Mag{rem} : Mag{};
    return;
  }
  int s = __builtin_clz(b.back());  // normalise: the divisor's top bit set
  auto shl = [s](const Mag& x, size_t extra) {
    Mag out(x.size() + extra, 0);
    for (size_t k = 0; k < x.size(); ++k) {
      uint64_t v = static_cast<uint64_t>(x[k]) << s;
      out[k] |= static_cast<uint32_t>(v);
      if (k + 1 < out.size()) out[k + 1] |= static_cast<uint32_t>(v >> 32);
    }
    return out;
  };
  Mag v = shl(b, 0), u = shl(a, 1);
  size_t n = v.size(), m = a.size() - n;
  q.assign(m + 1, 0);
  const uint64_t base = uint64_t{1} << 32;
  for (size_t j = m + 1; j-- > 0;) {
    uint64_t num = (static_cast<uint64_t>(u[j + n]) << 32) | u[j + n - 1];
    uint64_t qhat = num / v[n - 1], rhat = num % v[n - 1];
    while (qhat >= base || qhat * v[n - 2] > ((rhat << 32) | u[j + n - 2])) {
      --qhat;
      rhat += v[n - 1];
      if (rhat >= base) break;
    }
    int64_t borrow = 0;
    uint64_t carry = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t p = qhat * v[i] + carry;
      carry = p >> 32;
      int64_t t = static_cast<int64_t>(u[i + j]) - static_cast<int64_t>(p & 0xffffffffu) - borrow;
      borrow = t < 0;
      u[i + j] = static_cast<uint32_t>(t + (borrow ? static_cast<int64_t>(base) : 0));
    }
    int64_t t = static_cast<int64_t>(u[j + n]) - static_cast<int64_t>(carry) - borrow;
    borrow = t < 0;
    u[j + n] = static_cast<uint32_t>(t + (borrow ? static_cast<int64_t>(base) : 0));
    if (borrow) {  // qhat was one too large: add the divisor back
      --qhat;
      uint64_t c = 0;
      for (size_t i = 0; i < n; ++i) {
        uint64_t sum = static_cast<uint64_t>(u[i + j]) + v[i] + c;
        u[i + j] = static_cast<uint32_t>(sum);
        c = sum >> 32;
      }
      u[j + n] = static_cast<uint32_t>(u[j + n] + c);
    }
    q[j] = static_cast<uint32_t>(qhat);
  }
  trim(q);
  // Remainder: the low n limbs of u, shifted back.
  r.assign(n, 0);
  for (size_t k = 0; k < n; ++k) {
    uint64_t lo = u[k] >> s;
    uint64_t hi = (s && k + 1 < u.size()) ? (static_cast<uint64_t>(u[k + 1]) << (32 - s)) & 0xffffffffu : 0;
    r[k] = static_cast<uint32_t>(lo | hi);
  }
  trim(r);
}

BigInt BigInt::operator-() const { return make(!neg_, mag_); }

BigInt operator+(const BigInt& a, const BigInt& b) {
  if (a.neg_ == b.neg_) return BigInt::make(a.neg_, BigInt::add_mag(a.mag_, b.mag_));
  int c = BigInt::compare_mag(a.mag_, b.mag_);
  if (c == 0) return BigInt();
  return c > 0 ? BigInt::make(a.neg_, BigInt::sub_mag(a.mag_, b.mag_)) : BigInt::make(b.neg_, BigInt::sub_mag(b.mag_, a.mag_));
}

BigInt operator-(const BigInt& a, const BigInt& b) { return a + (-b); }

BigInt operator*(const BigInt& a, const BigInt& b) { return BigInt::make(a.neg_ != b.neg_, BigInt::mul_mag(a.mag_, b.mag_)); }

BigInt BigInt::shifted_left(size_t bits) const {
  if (mag_.empty()) return *this;
  size_t limbs = bits / 32, s = bits % 32;
  Mag out(mag_.size() + limbs + 1, 0);
  for (size_t k = 0; k < mag_.size(); ++k) {
    uint64_t v = static_cast<uint64_t>(mag_[k]) << s;
    out[k + limbs] |= static_cast<uint32_t>(v);
    out[k + limbs + 1] |= static_cast<uint32_t>(v >> 32);
  }
  return make(neg_, std::move(out));
}

void BigInt::floor_divmod(const BigInt& a, const BigInt& b, BigInt& quotient, BigInt& remainder) {
  Mag q, r;
  divmod_mag(a.mag_, b.mag_, q, r);
  quotient = make(a.neg_ != b.neg_, std::move(q));
  remainder = make(a.neg_, std::move(r));
  // Truncation -> floor: when signs differ and there is a remainder, step the quotient down.
  if (!remainder.is_zero() && remainder.neg_ != b.neg_) {
    quotient = quotient - BigInt(1);
    remainder = remainder + b;
  }
}

double BigInt::true_divide(const BigInt& a, const BigInt& b) {
  if (a.bit_length() <= 53 && b.bit_length() <= 53) return a.to_double() / b.to_double();
  // Scale so the integer quotient has about 64 significant bits, then one rounding.
  long shift = 64 + static_cast<long>(b.bit_length()) - static_cast<long>(a.bit_length());
  Mag num = a.mag_, den = b.mag_;
  if (shift > 0) num = BigInt::make(false, num).shifted_left(static_cast<size_t>(shift)).mag_;
  else if (shift < 0) den = BigInt::make(false, den).shifted_left(static_cast<size_t>(-shift)).mag_;
  Mag q, r;
  divmod_mag(num, den, q, r);
  BigInt qi = make(false, std::move(q));
  if (!r.empty() && !qi.mag_.empty()) qi.mag_[0] |= 1u;  // sticky bit
  double d = std::ldexp(qi.to_double(), static_cast<int>(-shift));
  return a.neg_ != b.neg_ ? -d : d;
}

BigInt BigInt::pow(uint64_t exponent) const {
  BigInt result(1), base = *this;
  while (exponent) {
    if (exponent & 1) result = result * base;
    exponent >>= 1;
    if (exponent) base = base * base;
  }
  return result;
}

int compare(const BigInt& a, const BigInt& b) {
  if (a.neg_ != b.neg_) return a.neg_ ? -1 : 1;
  int c = BigInt::compare_mag(a.mag_, b.mag_);
  return a.neg_ ? -c : c;
}

}  // namespace automodel::tokenizer::jinja
