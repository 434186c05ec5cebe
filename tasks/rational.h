// Exact rational numbers for answer comparison and countdown arithmetic.
//
// A Rational is always normalized: den > 0 and gcd(|num|, den) == 1, so two Rationals are
// equal exactly when their fields are. Arithmetic is checked: an operation whose result
// does not fit in int64 returns nullopt instead of wrapping.
#ifndef LIGHTRL_TASKS_RATIONAL_H_
#define LIGHTRL_TASKS_RATIONAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lightrl {

struct Rational {
  int64_t num = 0;
  int64_t den = 1;

  // num/den in lowest terms; nullopt when den == 0 or the reduced value overflows.
  static std::optional<Rational> Make(__int128 num, __int128 den);
  static Rational Integer(int64_t value) { return Rational{value, 1}; }

  bool is_integer() const { return den == 1; }
  // "7", "-3/4".
  std::string ToString() const;

  friend bool operator==(const Rational&, const Rational&) = default;
};

std::optional<Rational> Add(const Rational& a, const Rational& b);
std::optional<Rational> Subtract(const Rational& a, const Rational& b);
std::optional<Rational> Multiply(const Rational& a, const Rational& b);
// nullopt also for division by zero.
std::optional<Rational> Divide(const Rational& a, const Rational& b);

// Parses a plain number, surrounding whitespace allowed:
//   integer   "-42", "+7", "1,234,567" (comma groups of exactly three digits)
//   decimal   "0.25", "-.5", "3." (exact: 0.1 is 1/10)
//   fraction  "3/4", "-6/8"
// Anything else (letters, "1e5", "1/0", more than 18 significant digits) is nullopt.
std::optional<Rational> ParseRational(std::string_view text);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_RATIONAL_H_
