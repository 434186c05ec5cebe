// Leveled logging to stderr and CHECK macros for broken invariants.
//
//   LOG(INFO) << "joined " << worker_id;
//   CHECK(ptr != nullptr) << "context";
//   CHECK_EQ(a, b);
//
// Every line carries the time, level, process tag (role and pid) and thread id:
//   I 2026-11-26T05:40:01.123Z rollout-3[4711:4712] actor.cc:88] message
// A line is written with a single write(2), so lines from different threads or
// processes sharing stderr never interleave mid-line.
//
// LOG(FATAL) and a failed CHECK print the line and abort the process.
// Thread-safety: every function here is safe to call from any thread.
#ifndef LIGHTRL_CORE_LOGGING_H_
#define LIGHTRL_CORE_LOGGING_H_

#include <sstream>
#include <string>
#include <string_view>

namespace lightrl {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

// Sets the process tag printed on every line (e.g. "coordinator", "rollout-2").
void SetLogTag(std::string_view tag);
// Lines below `level` are dropped. Default: kInfo.
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();
// Parses "debug", "info", "warning", "error"; returns false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();  // Writes the line; aborts for kFatal.
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Swallows the stream in the not-taken branch of LOG/CHECK.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace lightrl

#define LIGHTRL_LOG_LEVEL_DEBUG ::lightrl::LogLevel::kDebug
#define LIGHTRL_LOG_LEVEL_INFO ::lightrl::LogLevel::kInfo
#define LIGHTRL_LOG_LEVEL_WARNING ::lightrl::LogLevel::kWarning
#define LIGHTRL_LOG_LEVEL_ERROR ::lightrl::LogLevel::kError
#define LIGHTRL_LOG_LEVEL_FATAL ::lightrl::LogLevel::kFatal

#define LOG(severity)                                                                         \
  (LIGHTRL_LOG_LEVEL_##severity < ::lightrl::MinLogLevel())                                   \
      ? (void)0                                                                               \
      : ::lightrl::internal::LogVoidify() &                                                   \
            ::lightrl::internal::LogMessage(LIGHTRL_LOG_LEVEL_##severity, __FILE__, __LINE__) \
                .stream()

#define CHECK(condition)                                                                     \
  (condition)                                                                                \
      ? (void)0                                                                              \
      : ::lightrl::internal::LogVoidify() &                                                  \
            ::lightrl::internal::LogMessage(::lightrl::LogLevel::kFatal, __FILE__, __LINE__) \
                    .stream()                                                                \
                << "Check failed: " #condition " "

#define LIGHTRL_CHECK_OP_(a, b, op)                                                          \
  ((a)op(b))                                                                                 \
      ? (void)0                                                                              \
      : ::lightrl::internal::LogVoidify() &                                                  \
            ::lightrl::internal::LogMessage(::lightrl::LogLevel::kFatal, __FILE__, __LINE__) \
                    .stream()                                                                \
                << "Check failed: " #a " " #op " " #b " (" << (a) << " vs " << (b) << ") "

#define CHECK_EQ(a, b) LIGHTRL_CHECK_OP_(a, b, ==)
#define CHECK_NE(a, b) LIGHTRL_CHECK_OP_(a, b, !=)
#define CHECK_LT(a, b) LIGHTRL_CHECK_OP_(a, b, <)
#define CHECK_LE(a, b) LIGHTRL_CHECK_OP_(a, b, <=)
#define CHECK_GT(a, b) LIGHTRL_CHECK_OP_(a, b, >)
#define CHECK_GE(a, b) LIGHTRL_CHECK_OP_(a, b, >=)
// Dies with the status text if `expr` (a Status) is not OK.
#define CHECK_OK(expr)                                          \
  do {                                                          \
    ::lightrl::Status lightrl_check_status_ = (expr);           \
    CHECK(lightrl_check_status_.ok()) << lightrl_check_status_; \
  } while (false)

#endif  // LIGHTRL_CORE_LOGGING_H_
