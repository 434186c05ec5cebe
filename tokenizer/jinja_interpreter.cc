#include "tokenizer/jinja_interpreter.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "tokenizer/jinja_filters.h"
#include "tokenizer/jinja_format.h"
#include "tokenizer/jinja_methods.h"
#include "tokenizer/jinja_operators.h"

namespace lightrl::jinja {
namespace {

// Macro calls nested deeper than this are an error (a template recursing without end).
constexpr int kMaxCallDepth = 200;

struct Scope {
  std::shared_ptr<Scope> parent;
  std::map<std::string, Value, std::less<>> variables;
};
using ScopePtr = std::shared_ptr<Scope>;

ScopePtr Child(const ScopePtr& parent) {
  auto scope = std::make_shared<Scope>();
  scope->parent = parent;
  return scope;
}

class Interpreter;

// A macro, or a call block's body as its `caller`: a body rendered with parameters bound in a
// scope under the one it was defined in. That scope holds the macro, so the macro refers to it
// weakly (the interpreter keeps it alive for the render), and no cycle leaks.
class BodyCallable : public Callable {
 public:
  BodyCallable(std::string name, const std::vector<Parameter>& parameters, const Body& body,
               std::weak_ptr<Scope> closure, Interpreter& interpreter)
      : name_(std::move(name)),
        parameters_(parameters),
        body_(body),
        closure_(std::move(closure)),
        interpreter_(interpreter) {}

  StatusOr<Value> Call(CallArgs args) const override;
  std::string Name() const override { return name_; }

 private:
  std::string name_;
  const std::vector<Parameter>& parameters_;
  const Body& body_;
  std::weak_ptr<Scope> closure_;
  Interpreter& interpreter_;
};

class Interpreter {
 public:
  explicit Interpreter(std::string_view name) : name_(name) {
    for (auto& [key, value] : Globals()) globals_.emplace(std::move(key), std::move(value));
  }

  enum class Flow { kNormal, kBreak, kContinue };

  StatusOr<Flow> Exec(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const auto& node : body) {
      ASSIGN_OR_RETURN(Flow flow, ExecNode(*node, scope, out));
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  // Adds "name:line: " to an error that has no location yet.
  Status Locate(Status status, int line) const {
    if (status.ok() || status.message().starts_with(std::string(name_) + ":")) return status;
    return status.WithContext(std::string(name_) + ":" + std::to_string(line));
  }

  StatusOr<Value> Eval(const Expr& expr, const Scope& scope) {
    StatusOr<Value> value = EvalUnlocated(expr, scope);
    if (value.ok()) return value;
    return Locate(value.status(), expr.line);
  }

  // Enters a macro call; false when calls nest too deep.
  bool EnterCall() { return ++depth_ <= kMaxCallDepth; }
  void LeaveCall() { --depth_; }

 private:
  StatusOr<Flow> ExecNode(const Node& node, const ScopePtr& scope, std::string& out) {
    switch (node.kind) {
      case Node::Kind::kText:
        out += node.text;
        return Flow::kNormal;
      case Node::Kind::kOutput: {
        ASSIGN_OR_RETURN(Value value, Eval(*node.expr, *scope));
        out += ToStr(value);
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
        for (size_t i = 0; i < node.conditions.size(); ++i) {
          ASSIGN_OR_RETURN(Value condition, Eval(*node.conditions[i], *scope));
          if (condition.Truthy()) return Exec(node.bodies[i], scope, out);
        }
        return Exec(node.else_body, scope, out);
      case Node::Kind::kFor:
        return ExecFor(node, scope, out);
      case Node::Kind::kSet: {
        ASSIGN_OR_RETURN(Value value, Eval(*node.expr, *scope));
        if (node.text.empty()) return Assign(node, node.targets, std::move(value), *scope);
        Value target = Lookup(node.targets[0], *scope);
        if (target.kind() != Value::Kind::kNamespace) {
          return Locate(InvalidArgumentError("cannot assign attribute on non-namespace object"),
                        node.line);
        }
        target.as_namespace().attributes[node.text] = std::move(value);
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string text;
        RETURN_IF_ERROR(Exec(node.body, scope, text).status());
        scope->variables[node.targets[0]] = Value::String(std::move(text));
        return Flow::kNormal;
      }
      case Node::Kind::kMacro:
        closures_.push_back(scope);
        scope->variables[node.text] = Value::MakeCallable(std::make_shared<BodyCallable>(
            "macro '" + node.text + "'", node.parameters, node.body, scope, *this));
        return Flow::kNormal;
      case Node::Kind::kCallBlock: {
        const Expr& call = *node.expr;
        ASSIGN_OR_RETURN(Value callee, Eval(*call.object, *scope));
        ASSIGN_OR_RETURN(CallArgs args, EvalArguments(call.arguments, *scope));
        closures_.push_back(scope);
        args.keyword.emplace_back(
            "caller", Value::MakeCallable(std::make_shared<BodyCallable>("caller", node.parameters,
                                                                         node.body, scope, *this)));
        ASSIGN_OR_RETURN(Value result, Invoke(callee, std::move(args), call.line));
        out += ToStr(result);
        return Flow::kNormal;
      }
      case Node::Kind::kBreak:
        return Flow::kBreak;
      case Node::Kind::kContinue:
        return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  // Binds `targets` to `value` in `scope`, unpacking it when there are several.
  StatusOr<Flow> Assign(const Node& node, const std::vector<std::string>& targets, Value value,
                        Scope& scope) {
    if (targets.size() == 1) {
      scope.variables[targets[0]] = std::move(value);
      return Flow::kNormal;
    }
    StatusOr<std::vector<Value>> items = Iterate(value);
    if (!items.ok()) return Locate(items.status(), node.line);
    if (items->size() != targets.size()) {
      return Locate(InvalidArgumentError((items->size() > targets.size()
                                              ? "too many values to unpack (expected "
                                              : "not enough values to unpack (expected ") +
                                         std::to_string(targets.size()) + ")"),
                    node.line);
    }
    for (size_t i = 0; i < targets.size(); ++i) scope.variables[targets[i]] = (*items)[i];
    return Flow::kNormal;
  }

  StatusOr<Flow> ExecFor(const Node& node, const ScopePtr& scope, std::string& out) {
    ASSIGN_OR_RETURN(Value iterable, Eval(*node.expr, *scope));
    StatusOr<std::vector<Value>> all = Iterate(iterable);
    if (!all.ok()) return Locate(all.status(), node.line);
    std::vector<Value> items;
    for (Value& item : *all) {
      if (node.filter) {
        ScopePtr probe = Child(scope);
        RETURN_IF_ERROR(Assign(node, node.targets, item, *probe).status());
        ASSIGN_OR_RETURN(Value keep, Eval(*node.filter, *probe));
        if (!keep.Truthy()) continue;
      }
      items.push_back(std::move(item));
    }
    if (items.empty()) return Exec(node.else_body, Child(scope), out);
    const auto length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      ScopePtr iteration = Child(scope);
      std::vector<std::pair<std::string, Value>> loop = {
          {"index", Value::Int(i + 1)},
          {"index0", Value::Int(i)},
          {"revindex", Value::Int(length - i)},
          {"revindex0", Value::Int(length - i - 1)},
          {"first", Value::Bool(i == 0)},
          {"last", Value::Bool(i == length - 1)},
          {"length", Value::Int(length)},
          {"depth", Value::Int(1)},
          {"depth0", Value::Int(0)},
      };
      if (i > 0) loop.emplace_back("previtem", items[i - 1]);
      if (i < length - 1) loop.emplace_back("nextitem", items[i + 1]);
      iteration->variables["loop"] = Value::MakeDict(std::move(loop));
      RETURN_IF_ERROR(Assign(node, node.targets, items[i], *iteration).status());
      ASSIGN_OR_RETURN(Flow flow, Exec(node.body, iteration, out));
      if (flow == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  Value Lookup(std::string_view name, const Scope& scope) const {
    for (const Scope* s = &scope; s != nullptr; s = s->parent.get()) {
      if (auto found = s->variables.find(name); found != s->variables.end()) return found->second;
    }
    if (auto found = globals_.find(name); found != globals_.end()) return found->second;
    return Value::MakeUndefined("'" + std::string(name) + "' is undefined");
  }

  StatusOr<CallArgs> EvalArguments(const std::vector<Argument>& arguments, const Scope& scope) {
    CallArgs args;
    for (const Argument& argument : arguments) {
      ASSIGN_OR_RETURN(Value value, Eval(*argument.value, scope));
      if (argument.keyword.empty()) {
        args.positional.push_back(std::move(value));
      } else {
        args.keyword.emplace_back(argument.keyword, std::move(value));
      }
    }
    return args;
  }

  StatusOr<Value> Invoke(const Value& callee, CallArgs args, int line) {
    if (callee.is_undefined()) return Locate(InvalidArgumentError(callee.undefined_hint()), line);
    if (callee.kind() != Value::Kind::kCallable) {
      return Locate(InvalidArgumentError("'" + callee.TypeName() + "' object is not callable"),
                    line);
    }
    StatusOr<Value> result = callee.as_callable().Call(std::move(args));
    if (!result.ok()) return Locate(result.status(), line);
    return result;
  }

  StatusOr<Value> EvalUnlocated(const Expr& expr, const Scope& scope) {
    switch (expr.kind) {
      case Expr::Kind::kLiteral:
        return expr.value;
      case Expr::Kind::kName:
        return Lookup(expr.name, scope);
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        std::vector<Value> items;
        for (const auto& item : expr.items) {
          ASSIGN_OR_RETURN(Value value, Eval(*item, scope));
          items.push_back(std::move(value));
        }
        return Value::MakeList(std::move(items), expr.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        std::vector<std::pair<std::string, Value>> entries;
        for (size_t i = 0; i < expr.items.size(); i += 2) {
          ASSIGN_OR_RETURN(Value key, Eval(*expr.items[i], scope));
          ASSIGN_OR_RETURN(Value value, Eval(*expr.items[i + 1], scope));
          if (!key.is_string())
            return UnimplementedError("dict keys other than strings are not supported");
          auto found = std::find_if(entries.begin(), entries.end(), [&](const auto& entry) {
            return entry.first == key.as_string();
          });
          if (found != entries.end()) {
            found->second = std::move(value);
          } else {
            entries.emplace_back(key.as_string(), std::move(value));
          }
        }
        return Value::MakeDict(std::move(entries));
      }
      case Expr::Kind::kAttribute: {
        ASSIGN_OR_RETURN(Value object, Eval(*expr.object, scope));
        return GetAttribute(object, expr.name);
      }
      case Expr::Kind::kItem: {
        ASSIGN_OR_RETURN(Value object, Eval(*expr.object, scope));
        ASSIGN_OR_RETURN(Value key, Eval(*expr.items[0], scope));
        return GetItem(object, key);
      }
      case Expr::Kind::kSlice: {
        ASSIGN_OR_RETURN(Value object, Eval(*expr.object, scope));
        std::optional<Value> bounds[3];
        for (int i = 0; i < 3; ++i) {
          if (expr.items[i]) {
            ASSIGN_OR_RETURN(bounds[i], Eval(*expr.items[i], scope));
          }
        }
        return GetSlice(object, bounds[0], bounds[1], bounds[2]);
      }
      case Expr::Kind::kCall: {
        ASSIGN_OR_RETURN(Value callee, Eval(*expr.object, scope));
        ASSIGN_OR_RETURN(CallArgs args, EvalArguments(expr.arguments, scope));
        return Invoke(callee, std::move(args), expr.line);
      }
      case Expr::Kind::kFilter: {
        ASSIGN_OR_RETURN(Value object, Eval(*expr.object, scope));
        ASSIGN_OR_RETURN(CallArgs args, EvalArguments(expr.arguments, scope));
        return ApplyFilter(expr.name, object, args);
      }
      case Expr::Kind::kTest: {
        ASSIGN_OR_RETURN(Value object, Eval(*expr.object, scope));
        ASSIGN_OR_RETURN(CallArgs args, EvalArguments(expr.arguments, scope));
        ASSIGN_OR_RETURN(bool result, ApplyTest(expr.name, object, args));
        return Value::Bool(result != expr.negated);
      }
      case Expr::Kind::kNot: {
        ASSIGN_OR_RETURN(Value operand, Eval(*expr.object, scope));
        return Value::Bool(!operand.Truthy());
      }
      case Expr::Kind::kNegate:
      case Expr::Kind::kPlus: {
        ASSIGN_OR_RETURN(Value operand, Eval(*expr.object, scope));
        if (operand.is_undefined()) return InvalidArgumentError(operand.undefined_hint());
        if (!operand.is_number()) {
          return InvalidArgumentError(std::string("bad operand type for unary ") +
                                      (expr.kind == Expr::Kind::kNegate ? "-" : "+") + ": '" +
                                      operand.TypeName() + "'");
        }
        if (expr.kind == Expr::Kind::kPlus) return operand;
        if (operand.kind() == Value::Kind::kFloat) return Value::Float(-operand.as_float());
        return BinaryOperation("-", Value::Int(0), operand);
      }
      case Expr::Kind::kBinary: {
        ASSIGN_OR_RETURN(Value left, Eval(*expr.object, scope));
        if (expr.name == "and" && !left.Truthy()) return left;
        if (expr.name == "or" && left.Truthy()) return left;
        ASSIGN_OR_RETURN(Value right, Eval(*expr.items[0], scope));
        if (expr.name == "and" || expr.name == "or") return right;
        return BinaryOperation(expr.name, left, right);
      }
      case Expr::Kind::kCompare: {
        ASSIGN_OR_RETURN(Value left, Eval(*expr.object, scope));
        ASSIGN_OR_RETURN(Value right, Eval(*expr.items[0], scope));
        ASSIGN_OR_RETURN(bool result, Compare(expr.name, left, right));
        for (size_t i = 1; i < expr.items.size() && result; ++i) {
          left = std::move(right);
          ASSIGN_OR_RETURN(right, Eval(*expr.items[i]->items[0], scope));
          ASSIGN_OR_RETURN(result, Compare(expr.items[i]->name, left, right));
        }
        return Value::Bool(result);
      }
      case Expr::Kind::kCondition: {
        ASSIGN_OR_RETURN(Value condition, Eval(*expr.object, scope));
        if (condition.Truthy()) return Eval(*expr.items[0], scope);
        if (expr.items[1]) return Eval(*expr.items[1], scope);
        return Value::MakeUndefined(
            "the inline if-expression evaluated to false and no else "
            "section was defined");
      }
    }
    return InternalError("unknown expression");
  }

  static StatusOr<bool> Compare(std::string_view op, const Value& left, const Value& right) {
    if (op == "==") return Equal(left, right);
    if (op == "!=") return !Equal(left, right);
    if (op == "in") return Contains(right, left);
    if (op == "not in") {
      ASSIGN_OR_RETURN(bool contained, Contains(right, left));
      return !contained;
    }
    if (op == "<") return Less(left, right);
    if (op == ">") return Less(right, left);
    ASSIGN_OR_RETURN(bool less, op == "<=" ? Less(right, left) : Less(left, right));
    return !less;
  }

  std::string_view name_;
  std::map<std::string, Value, std::less<>> globals_;
  std::vector<ScopePtr> closures_;  // The scopes macros were defined in, alive for the render.
  int depth_ = 0;
};

StatusOr<Value> BodyCallable::Call(CallArgs args) const {
  ScopePtr scope = Child(closure_.lock());
  if (args.positional.size() > parameters_.size()) {
    return InvalidArgumentError(name_ + " takes " + std::to_string(parameters_.size()) +
                                " arguments but " + std::to_string(args.positional.size()) +
                                " were given");
  }
  std::vector<bool> given(parameters_.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    scope->variables[parameters_[i].name] = std::move(args.positional[i]);
    given[i] = true;
  }
  for (auto& [keyword, value] : args.keyword) {
    auto found = std::find_if(parameters_.begin(), parameters_.end(),
                              [&](const Parameter& p) { return p.name == keyword; });
    if (found == parameters_.end() && keyword != "caller") {
      return InvalidArgumentError(name_ + " got an unexpected keyword argument '" + keyword + "'");
    }
    if (found != parameters_.end()) given[found - parameters_.begin()] = true;
    scope->variables[keyword] = std::move(value);
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (given[i]) continue;
    if (parameters_[i].default_value) {
      ASSIGN_OR_RETURN(scope->variables[parameters_[i].name],
                       interpreter_.Eval(*parameters_[i].default_value, *scope));
    } else {
      scope->variables[parameters_[i].name] =
          Value::MakeUndefined("'" + parameters_[i].name + "' is undefined");
    }
  }
  if (!interpreter_.EnterCall()) {
    interpreter_.LeaveCall();
    return InvalidArgumentError("macro calls nested deeper than " + std::to_string(kMaxCallDepth));
  }
  std::string out;
  StatusOr<Interpreter::Flow> flow = interpreter_.Exec(body_, scope, out);
  interpreter_.LeaveCall();
  if (!flow.ok()) return flow.status();
  return Value::String(std::move(out));
}

}  // namespace

StatusOr<std::string> Render(const Body& body, const Value& context, std::string_view name) {
  Interpreter interpreter(name);
  auto scope = std::make_shared<Scope>();
  for (const auto& [key, value] : context.as_dict().entries) scope->variables[key] = value;
  std::string out;
  RETURN_IF_ERROR(interpreter.Exec(body, scope, out).status());
  return out;
}

}  // namespace lightrl::jinja
