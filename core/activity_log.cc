#include "core/activity_log.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/logging.h"

namespace lightrl {
namespace {

double UnixSeconds(WallClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

constexpr char kPrefix[] = "activity-";
constexpr char kSuffix[] = ".jsonl";

}  // namespace

ActivityLog::ActivityLog(const std::string& path, std::string worker, std::string activity)
    : worker_(std::move(worker)), activity_(std::move(activity)) {
  if (path.empty()) return;
  out_.open(path, std::ios::app);
  if (!out_) LOG(WARNING) << "activity log " << path << " cannot be opened; not recording";
}

ActivityLog::~ActivityLog() {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_) WriteLocked(pending_);
}

void ActivityLog::Record(WallClock::time_point start, WallClock::time_point end) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!out_.is_open() || !out_) return;
  const double s = UnixSeconds(start), e = UnixSeconds(end);
  const double gap = std::chrono::duration<double>(kMergeGap).count();
  if (open_ && s <= pending_.end + gap && e >= pending_.start - gap) {
    pending_.start = std::min(pending_.start, s);
    pending_.end = std::max(pending_.end, e);
    return;
  }
  if (open_) WriteLocked(pending_);
  pending_ = {s, e};
  open_ = true;
}

void ActivityLog::WriteLocked(const BusyInterval& interval) {
  out_ << nlohmann::json({{"kind", "busy"},
                          {"worker", worker_},
                          {"activity", activity_},
                          {"start", interval.start},
                          {"end", interval.end}})
              .dump()
       << std::endl;
}

std::string ActivityLogPath(const std::string& dir, const std::string& worker) {
  if (dir.empty()) return "";
  return (std::filesystem::path(dir) / (kPrefix + worker + kSuffix)).string();
}

StatusOr<std::map<std::string, std::vector<BusyInterval>>> ReadActivityLogs(const std::string& dir,
                                                                            int* skipped_lines) {
  std::map<std::string, std::vector<BusyInterval>> out;
  *skipped_lines = 0;
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  if (error) return NotFoundError(dir + ": " + error.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    std::ifstream in(entry.path());
    if (!in) return NotFoundError(entry.path().string() + ": cannot open");
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("start") || !j.contains("end") ||
          !j["start"].is_number() || !j["end"].is_number() || !j.contains("activity") ||
          !j["activity"].is_string()) {
        ++*skipped_lines;
        continue;
      }
      out[j["activity"].get<std::string>()].push_back(
          {j["start"].get<double>(), j["end"].get<double>()});
    }
  }
  return out;
}

double CoveredSeconds(std::vector<BusyInterval> intervals, BusyInterval window) {
  for (BusyInterval& i : intervals) {
    i.start = std::max(i.start, window.start);
    i.end = std::min(i.end, window.end);
  }
  std::erase_if(intervals, [](const BusyInterval& i) { return i.end <= i.start; });
  std::sort(intervals.begin(), intervals.end(),
            [](const BusyInterval& a, const BusyInterval& b) { return a.start < b.start; });
  double covered = 0;
  std::optional<BusyInterval> run;  // The union's current connected piece.
  for (const BusyInterval& i : intervals) {
    if (run && i.start <= run->end) {
      run->end = std::max(run->end, i.end);
      continue;
    }
    if (run) covered += run->end - run->start;
    run = i;
  }
  if (run) covered += run->end - run->start;
  return covered;
}

std::string TimeBudget::ToString() const {
  auto percent = [this](double seconds) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.1f%%",
                  wall_seconds > 0 ? 100 * seconds / wall_seconds : 0.0);
    return std::string(buffer);
  };
  char head[64];
  std::snprintf(head, sizeof(head), "%.1f s:", wall_seconds);
  std::string out = head;
  const char* separator = " ";
  for (const auto& [activity, seconds] : busy_seconds) {
    out += separator + activity + " " + percent(seconds);
    separator = ", ";
  }
  return out + "; none of them " + percent(wall_seconds - any_seconds);
}

StatusOr<TimeBudget> MeasureTimeBudget(const std::string& dir, BusyInterval window) {
  TimeBudget budget;
  ASSIGN_OR_RETURN(auto logs, ReadActivityLogs(dir, &budget.skipped_lines));
  budget.wall_seconds = std::max(0.0, window.end - window.start);
  std::vector<BusyInterval> all;
  for (const auto& [activity, intervals] : logs) {
    budget.busy_seconds[activity] = CoveredSeconds(intervals, window);
    all.insert(all.end(), intervals.begin(), intervals.end());
  }
  budget.any_seconds = CoveredSeconds(std::move(all), window);
  return budget;
}

}  // namespace lightrl
