#include "tasks/rule_verifiers.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "tasks/countdown_expression.h"
#include "tasks/rational.h"
#include "tasks/text.h"

namespace lightrl {
namespace {

Verification Correct() { return Verification{1.0, Verdict::kCorrect, "correct"}; }

Verification Wrong(std::string details) {
  return Verification{0.0, Verdict::kIncorrect, std::move(details)};
}

Verification FormatError(std::string details) {
  return Verification{0.0, Verdict::kFormatError, std::move(details)};
}

std::string CollapseSpaces(std::string_view s) {
  std::string out;
  bool in_space = false;
  for (char c : TrimSpaces(s)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

// Short, printable excerpt of model output for details lines.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  if (s.size() > kMax) out += "...";
  return out;
}

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  for (size_t pos = s->find(from); pos != std::string::npos; pos = s->find(from, pos)) {
    s->replace(pos, from.size(), to);
    pos += to.size();
  }
}

std::string NormalizeMath(std::string_view text) {
  std::string s;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c)) && c != '$') s.push_back(c);
  }
  for (std::string_view noise :
       {"\\left", "\\right", "\\displaystyle", "\\!", "\\,", "\\;", "\\:"}) {
    ReplaceAll(&s, noise, "");
  }
  ReplaceAll(&s, "\\dfrac", "\\frac");
  ReplaceAll(&s, "\\tfrac", "\\frac");
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// The content of a {...} group starting at text[pos] == '{', and the index after it.
std::optional<std::pair<std::string, size_t>> BraceGroup(std::string_view text, size_t pos) {
  if (pos >= text.size() || text[pos] != '{') return std::nullopt;
  int depth = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) {
      return std::make_pair(std::string(text.substr(pos + 1, i - pos - 1)), i + 1);
    }
  }
  return std::nullopt;
}

// A normalized math answer as a number: plain numbers or [-]\frac{a}{b}.
std::optional<Rational> MathValue(std::string_view s) {
  if (std::optional<Rational> plain = ParseRational(s)) return plain;
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  constexpr std::string_view kFrac = "\\frac";
  if (s.substr(0, kFrac.size()) != kFrac) return std::nullopt;
  auto num = BraceGroup(s, kFrac.size());
  if (!num) return std::nullopt;
  auto den = BraceGroup(s, num->second);
  if (!den || den->second != s.size()) return std::nullopt;
  std::optional<Rational> a = ParseRational(num->first);
  std::optional<Rational> b = ParseRational(den->first);
  if (!a || !b) return std::nullopt;
  std::optional<Rational> value = Divide(*a, *b);
  if (value && negative) value->num = -value->num;
  return value;
}

std::vector<int64_t> Sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

std::optional<std::string> ExtractLastBoxed(std::string_view text) {
  constexpr std::string_view kBoxed = "\\boxed";
  size_t pos = text.rfind(kBoxed);
  while (pos != std::string_view::npos) {
    size_t open = pos + kBoxed.size();
    while (open < text.size() && text[open] == ' ') ++open;
    if (auto group = BraceGroup(text, open)) return group->first;
    if (pos == 0) break;
    pos = text.rfind(kBoxed, pos - 1);
  }
  return std::nullopt;
}

Verification VerifyExact(std::string_view answer, std::string_view completion, bool compare_text) {
  std::string_view got = TrimSpaces(completion);
  if (got.empty()) return FormatError("empty answer");
  std::optional<Rational> want = compare_text ? std::nullopt : ParseRational(answer);
  if (want) {
    std::optional<Rational> value = ParseRational(got);
    if (!value) return FormatError("not a number: '" + Excerpt(got) + "'");
    if (*value == *want) return Correct();
    return Wrong("expected " + want->ToString() + ", got " + value->ToString());
  }
  if (CollapseSpaces(got) == CollapseSpaces(answer)) return Correct();
  return Wrong("expected '" + Excerpt(CollapseSpaces(answer)) + "', got '" + Excerpt(got) + "'");
}

Verification VerifyMath(std::string_view answer, std::string_view completion) {
  std::optional<std::string> boxed = ExtractLastBoxed(completion);
  if (!boxed) return FormatError("no \\boxed{} answer");
  std::optional<std::string> answer_boxed = ExtractLastBoxed(answer);
  std::string want = NormalizeMath(answer_boxed ? *answer_boxed : answer);
  std::string got = NormalizeMath(*boxed);
  if (got.empty()) return FormatError("empty \\boxed{} answer");
  std::optional<Rational> want_value = MathValue(want);
  std::optional<Rational> got_value = MathValue(got);
  if (want_value && got_value) {
    if (*want_value == *got_value) return Correct();
    return Wrong("expected " + want_value->ToString() + ", got " + got_value->ToString());
  }
  if (want == got) return Correct();
  return Wrong("expected '" + Excerpt(want) + "', got '" + Excerpt(got) + "'");
}

Verification VerifyCountdown(const std::vector<int64_t>& numbers, int64_t target,
                             std::string_view completion) {
  std::string_view expr = TrimSpaces(completion);
  StatusOr<CountdownEvaluation> eval = EvaluateCountdownExpression(expr);
  if (!eval.ok()) return FormatError("not an expression: " + std::string(eval.status().message()));
  if (Sorted(eval->numbers) != Sorted(numbers)) {
    return Wrong("uses [" + JoinInts(eval->numbers) + "], must use each of [" + JoinInts(numbers) +
                 "] exactly once");
  }
  if (!eval->value) return Wrong("cannot be evaluated: " + eval->error);
  if (*eval->value != Rational::Integer(target)) {
    return Wrong("evaluates to " + eval->value->ToString() + ", target " + std::to_string(target));
  }
  return Correct();
}

Verification VerifySorting(const std::vector<int64_t>& expected, std::string_view completion) {
  std::vector<int64_t> got;
  std::string_view rest = completion;
  while (true) {
    size_t begin = rest.find_first_not_of(" ,\t\r\n");
    if (begin == std::string_view::npos) break;
    rest.remove_prefix(begin);
    std::string_view token = rest.substr(0, rest.find_first_of(" ,\t\r\n"));
    rest.remove_prefix(token.size());
    std::optional<Rational> value = ParseRational(token);
    if (!value || token.find_first_of("./") != std::string_view::npos) {
      return FormatError("not a list of integers: '" + Excerpt(completion) + "'");
    }
    got.push_back(value->num);
  }
  if (got.empty()) return FormatError("empty answer");
  if (got == expected) return Correct();
  return Wrong("expected [" + JoinInts(expected) + "], got [" + JoinInts(got) + "]");
}

StatusOr<Verification> VerifyByRule(const Reference& reference, std::string_view completion) {
  switch (reference.kind) {
    case VerifierKind::kExact:
      return VerifyExact(reference.answer, completion, reference.compare_text);
    case VerifierKind::kMath:
      return VerifyMath(reference.answer, completion);
    case VerifierKind::kCountdown:
      return VerifyCountdown(reference.numbers, reference.target, completion);
    case VerifierKind::kSorting:
      return VerifySorting(reference.expected, completion);
    case VerifierKind::kCode:
      break;
  }
  return FailedPreconditionError("a code reference needs the sandbox, not a rule verifier");
}

}  // namespace lightrl
