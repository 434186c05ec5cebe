// FunctionRef<R(Args...)>: a non-owning reference to a callable, cheap to pass by value (two
// pointers). The callable must outlive every call through the reference: pass a lambda straight
// to a function that takes a FunctionRef, but name it before storing a FunctionRef to it.
#ifndef LIGHTRL_TOKENIZER_FUNCTION_REF_H_
#define LIGHTRL_TOKENIZER_FUNCTION_REF_H_

#include <memory>
#include <type_traits>
#include <utility>

namespace lightrl::tokenizer {

template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
      FunctionRef(F&& f)  // NOLINT(google-explicit-constructor)
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_FUNCTION_REF_H_
