// Busy intervals of the workers of a run, for its time budget: how much of the wall time went
// to generating, scoring and training, and how much to none of them (orchestration overhead).
//
// Each worker appends JSON lines {"kind":"busy","worker":W,"activity":A,"start":S,"end":E} to
// its own file (S and E in Unix seconds, so files of processes on one machine compare).
// Intervals closer than kMergeGap are merged before they are written, so a busy worker writes
// one line per busy period, not one per unit of work.
#ifndef LIGHTRL_CORE_ACTIVITY_LOG_H_
#define LIGHTRL_CORE_ACTIVITY_LOG_H_

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace lightrl {

using WallClock = std::chrono::system_clock;

struct BusyInterval {
  double start = 0;  // Unix seconds.
  double end = 0;
};

// Thread-safe. Lines are written whole and flushed as each merged interval closes, so a
// killed worker leaves complete lines (at most a partial last one, which readers skip).
class ActivityLog {
 public:
  static constexpr std::chrono::microseconds kMergeGap{200};

  // An empty `path` disables the log: Record() does nothing. A file that cannot be opened is
  // reported once in the log and then ignored; the worker's real work never fails for it.
  ActivityLog(const std::string& path, std::string worker, std::string activity);
  ~ActivityLog();  // Writes the interval still open.
  ActivityLog(const ActivityLog&) = delete;
  ActivityLog& operator=(const ActivityLog&) = delete;

  void Record(WallClock::time_point start, WallClock::time_point end);

  // Records the interval from construction to destruction.
  class Scope {
   public:
    explicit Scope(ActivityLog& log) : log_(log), start_(WallClock::now()) {}
    ~Scope() { log_.Record(start_, WallClock::now()); }

   private:
    ActivityLog& log_;
    WallClock::time_point start_;
  };

 private:
  void WriteLocked(const BusyInterval& interval);

  std::mutex mu_;
  std::ofstream out_;
  std::string worker_;
  std::string activity_;
  bool open_ = false;
  BusyInterval pending_;
};

// The path a worker writes in `dir` ("" when dir is empty: logging off).
std::string ActivityLogPath(const std::string& dir, const std::string& worker);

// Reads every activity-*.jsonl of `dir`: intervals by activity name. A line that does not
// parse is skipped and counted in *skipped_lines (a killed worker's last line); a file that
// cannot be read is an error naming it.
StatusOr<std::map<std::string, std::vector<BusyInterval>>> ReadActivityLogs(const std::string& dir,
                                                                            int* skipped_lines);

// Seconds of [window.start, window.end] covered by at least one of `intervals`.
double CoveredSeconds(std::vector<BusyInterval> intervals, BusyInterval window);

// Where the wall time of `window` went, from the activity logs of `dir`.
struct TimeBudget {
  double wall_seconds = 0;
  std::map<std::string, double> busy_seconds;  // By activity: covered by any of its workers.
  double any_seconds = 0;                      // Covered by at least one activity.
  int skipped_lines = 0;
  // The share of wall time in which no worker generated, scored or trained.
  double overhead_share() const { return wall_seconds > 0 ? 1 - any_seconds / wall_seconds : 0; }
  // "312.4 s: generating 78.1%, scoring 2.0%, training 55.3%; none of them 3.8%".
  std::string ToString() const;
};
StatusOr<TimeBudget> MeasureTimeBudget(const std::string& dir, BusyInterval window);

}  // namespace lightrl

#endif  // LIGHTRL_CORE_ACTIVITY_LOG_H_
