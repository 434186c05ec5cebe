#include "tasks/rational.h"

#include <cctype>
#include <cstdint>
#include <limits>

#include "tasks/text.h"

namespace lightrl {
namespace {

constexpr int kMaxDigits = 18;

__int128 Gcd(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

bool FitsInt64(__int128 v) {
  return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Digits with optional comma groups ("1,234"); returns the digits without commas, or
// nullopt when the grouping is malformed.
std::optional<std::string> StripThousands(std::string_view s) {
  if (s.find(',') == std::string_view::npos) return std::string(s);
  size_t first = s.find(',');
  if (first == 0 || first > 3) return std::nullopt;
  std::string digits(s.substr(0, first));
  for (size_t pos = first; pos < s.size(); pos += 4) {
    if (s[pos] != ',' || pos + 4 > s.size()) return std::nullopt;
    std::string_view group = s.substr(pos + 1, 3);
    if (!AllDigits(group) || (pos + 4 < s.size() && s[pos + 4] != ',')) return std::nullopt;
    digits.append(group);
  }
  return digits;
}

std::optional<__int128> ParseDigits(std::string_view digits) {
  if (digits.empty() || !AllDigits(digits)) return std::nullopt;
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  if (static_cast<int>(digits.size()) > kMaxDigits) return std::nullopt;
  __int128 value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

std::optional<Rational> ParseUnsigned(std::string_view s) {
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    std::optional<__int128> num = ParseDigits(s.substr(0, slash));
    std::optional<__int128> den = ParseDigits(s.substr(slash + 1));
    if (!num || !den) return std::nullopt;
    return Rational::Make(*num, *den);
  }
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  std::optional<std::string> whole_digits = StripThousands(whole);
  if (!whole_digits || !AllDigits(frac)) return std::nullopt;
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  std::string all = *whole_digits + std::string(frac);
  if (all.empty()) all = "0";
  std::optional<__int128> num = ParseDigits(all);
  if (!num) return std::nullopt;
  __int128 den = 1;
  for (size_t i = 0; i < frac.size(); ++i) den *= 10;
  return Rational::Make(*num, den);
}

}  // namespace

std::optional<Rational> Rational::Make(__int128 num, __int128 den) {
  if (den == 0) return std::nullopt;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  __int128 g = Gcd(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  if (!FitsInt64(num) || !FitsInt64(den)) return std::nullopt;
  return Rational{static_cast<int64_t>(num), static_cast<int64_t>(den)};
}

std::string Rational::ToString() const {
  std::string out = std::to_string(num);
  if (den != 1) out += "/" + std::to_string(den);
  return out;
}

std::optional<Rational> Add(const Rational& a, const Rational& b) {
  return Rational::Make(static_cast<__int128>(a.num) * b.den + static_cast<__int128>(b.num) * a.den,
                        static_cast<__int128>(a.den) * b.den);
}

std::optional<Rational> Subtract(const Rational& a, const Rational& b) {
  return Add(a, Rational{-b.num, b.den});
}

std::optional<Rational> Multiply(const Rational& a, const Rational& b) {
  return Rational::Make(static_cast<__int128>(a.num) * b.num, static_cast<__int128>(a.den) * b.den);
}

std::optional<Rational> Divide(const Rational& a, const Rational& b) {
  if (b.num == 0) return std::nullopt;
  return Rational::Make(static_cast<__int128>(a.num) * b.den, static_cast<__int128>(a.den) * b.num);
}

std::optional<Rational> ParseRational(std::string_view text) {
  std::string_view s = TrimSpaces(text);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  std::optional<Rational> value = ParseUnsigned(s);
  if (!value) return std::nullopt;
  if (negative) value->num = -value->num;
  return value;
}

}  // namespace lightrl
