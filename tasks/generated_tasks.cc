#include "tasks/generated_tasks.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/logging.h"
#include "tasks/item_rng.h"
#include "tasks/reference.h"
#include "tasks/text.h"

namespace lightrl {
namespace {

// Redraws before giving up on an item: with eval_fraction <= 0.5 a draw lands in the
// wanted split with probability >= 0.5 for any reasonably large problem space.
constexpr int kMaxAttempts = 1000;

TaskItem MakeItem(std::string prompt, const Reference& reference, std::string solution) {
  return TaskItem{std::move(prompt), SerializeReference(reference), std::move(solution)};
}

class GeneratedTask : public Task {
 public:
  explicit GeneratedTask(const TaskConfig& config) : Task(config.name), config_(config) {}

  int64_t Size(Split split) const override {
    if (split == Split::kTrain) return kUnboundedSize;
    return config_.eval_fraction > 0 ? config_.eval_size : 0;
  }

  StatusOr<TaskItem> Item(Split split, int64_t index) const override {
    RETURN_IF_ERROR(CheckIndex(split, index));
    bool want_eval = split == Split::kEval;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      ItemRng rng = ItemRng::FromParts({config_.seed, static_cast<uint64_t>(config_.kind),
                                        want_eval ? 1u : 0u, static_cast<uint64_t>(index),
                                        static_cast<uint64_t>(attempt)});
      std::optional<TaskItem> item = Draw(rng);
      if (item && IsEvalPrompt(item->prompt, config_.eval_fraction) == want_eval) {
        return std::move(*item);
      }
    }
    return InternalError("task '" + name() + "': no " + std::string(SplitName(split)) +
                         " item found in " + std::to_string(kMaxAttempts) +
                         " draws; the problem space is too small for eval_fraction");
  }

 protected:
  // One random item, or nullopt when this draw does not give a usable item.
  virtual std::optional<TaskItem> Draw(ItemRng& rng) const = 0;

  const TaskConfig& config() const { return config_; }

 private:
  TaskConfig config_;
};

class ArithmeticTask : public GeneratedTask {
 public:
  using GeneratedTask::GeneratedTask;

 protected:
  std::optional<TaskItem> Draw(ItemRng& rng) const override {
    int64_t a = Operand(rng);
    int64_t b = Operand(rng);
    bool add = config().kind == TaskKind::kAddition;
    int64_t result = add ? a + b : a * b;
    std::string prompt = std::to_string(a) + (add ? "+" : "*") + std::to_string(b) + "=";
    Reference ref;
    ref.kind = VerifierKind::kExact;
    ref.answer = std::to_string(result);
    if (config().arithmetic.reverse_answer) {
      std::reverse(ref.answer.begin(), ref.answer.end());
      ref.compare_text = true;
    }
    return MakeItem(std::move(prompt), ref, ref.answer);
  }

 private:
  int64_t Operand(ItemRng& rng) const {
    const ArithmeticConfig& c = config().arithmetic;
    int digits = static_cast<int>(rng.Uniform(c.min_digits, c.max_digits));
    if (digits == 1) return rng.Uniform(0, 9);
    int64_t lo = 1;
    for (int i = 1; i < digits; ++i) lo *= 10;
    return rng.Uniform(lo, lo * 10 - 1);
  }
};

// A countdown sub-expression: its value, its text and the precedence of its top operator
// (3 for a number, 2 for * and /, 1 for + and -) to place parentheses only where needed.
struct Expr {
  int64_t value;
  std::string text;
  int precedence;
};

class CountdownTask : public GeneratedTask {
 public:
  using GeneratedTask::GeneratedTask;

 protected:
  std::optional<TaskItem> Draw(ItemRng& rng) const override {
    const CountdownConfig& c = config().countdown;
    int count = static_cast<int>(rng.Uniform(c.min_numbers, c.max_numbers));
    std::vector<int64_t> numbers;
    std::vector<Expr> pool;
    for (int i = 0; i < count; ++i) {
      numbers.push_back(rng.Uniform(1, c.max_number));
      pool.push_back(Expr{numbers.back(), std::to_string(numbers.back()), 3});
    }
    while (pool.size() > 1) {
      size_t i = static_cast<size_t>(rng.Uniform(0, static_cast<int64_t>(pool.size()) - 1));
      Expr a = pool[i];
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
      size_t j = static_cast<size_t>(rng.Uniform(0, static_cast<int64_t>(pool.size()) - 1));
      Expr b = pool[j];
      pool[j] = Combine(std::move(a), std::move(b), rng);
    }
    const Expr& result = pool.front();
    if (result.value < 1 || result.value > c.max_target) return std::nullopt;
    Reference ref;
    ref.kind = VerifierKind::kCountdown;
    ref.numbers = numbers;
    ref.target = result.value;
    std::string prompt = std::to_string(result.value) + " from " + JoinInts(numbers) + "=";
    return MakeItem(std::move(prompt), ref, result.text);
  }

 private:
  static constexpr int64_t kMaxProduct = 1000000;

  // a op b for an operator drawn at random among those that keep every value a positive
  // integer; '+' always qualifies.
  static Expr Combine(Expr a, Expr b, ItemRng& rng) {
    if (a.value < b.value) std::swap(a, b);
    std::string ops = "+-*/";
    for (size_t k = ops.size() - 1; k > 0; --k) {
      std::swap(ops[k], ops[static_cast<size_t>(rng.Uniform(0, static_cast<int64_t>(k)))]);
    }
    for (char op : ops) {
      switch (op) {
        case '-':
          if (a.value > b.value) return Join(a, b, op, a.value - b.value);
          break;
        case '*':
          if (a.value * b.value <= kMaxProduct) return Join(a, b, op, a.value * b.value);
          break;
        case '/':
          if (a.value % b.value == 0) return Join(a, b, op, a.value / b.value);
          break;
        default:
          return Join(a, b, op, a.value + b.value);
      }
    }
    return Join(a, b, '+', a.value + b.value);
  }

  static Expr Join(const Expr& a, const Expr& b, char op, int64_t value) {
    int precedence = (op == '+' || op == '-') ? 1 : 2;
    bool right_parens =
        b.precedence < precedence || (b.precedence == precedence && (op == '-' || op == '/'));
    std::string text = Wrap(a, a.precedence < precedence) + op + Wrap(b, right_parens);
    return Expr{value, std::move(text), precedence};
  }

  static std::string Wrap(const Expr& e, bool parens) {
    return parens ? "(" + e.text + ")" : e.text;
  }
};

class SortingTask : public GeneratedTask {
 public:
  using GeneratedTask::GeneratedTask;

 protected:
  std::optional<TaskItem> Draw(ItemRng& rng) const override {
    const SortingConfig& c = config().sorting;
    int64_t length = rng.Uniform(c.min_length, c.max_length);
    std::vector<int64_t> values;
    for (int64_t i = 0; i < length; ++i) values.push_back(rng.Uniform(0, c.max_value));
    Reference ref;
    ref.kind = VerifierKind::kSorting;
    ref.expected = values;
    std::sort(ref.expected.begin(), ref.expected.end());
    return MakeItem("sort " + JoinInts(values) + "=", ref, JoinInts(ref.expected));
  }
};

}  // namespace

std::unique_ptr<Task> MakeGeneratedTask(const TaskConfig& config) {
  switch (config.kind) {
    case TaskKind::kCountdown:
      return std::make_unique<CountdownTask>(config);
    case TaskKind::kSorting:
      return std::make_unique<SortingTask>(config);
    case TaskKind::kAddition:
    case TaskKind::kMultiplication:
      return std::make_unique<ArithmeticTask>(config);
    case TaskKind::kDataset:
      break;
  }
  LOG(FATAL) << "MakeGeneratedTask called for a dataset task '" << config.name << "'";
  return nullptr;
}

}  // namespace lightrl
