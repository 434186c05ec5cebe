// Process metrics: counters, gauges and histograms with labels, rendered in the Prometheus
// text exposition format (version 0.0.4).
//
// A MetricsRegistry owns every metric created through it; the returned pointers stay valid for
// the registry's lifetime. Asking again for the same name and labels returns the same object.
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*; counters end
// in "_total". Re-registering a name with another type, help text or bucket layout is a
// programming error and dies.
//
// Thread-safety: every method of every class here is safe to call concurrently. Updates are
// lock-free; registration and rendering take the registry's mutex.
#ifndef LIGHTRL_CORE_METRICS_H_
#define LIGHTRL_CORE_METRICS_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace lightrl {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  // Dies if `amount` is negative: counters only go up.
  void Increment(double amount = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `upper_bounds` must be strictly increasing; a +Inf bucket is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Cumulative count per bound (Prometheus "le" semantics), then the +Inf count last.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // One per bound, plus +Inf.
  std::atomic<double> sum_{0.0};
};

// Bucket bounds start, start*factor, ... (count of them).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter* GetCounter(const std::string& name, const std::string& help,
                      const MetricLabels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help,
                  const MetricLabels& labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& upper_bounds, const MetricLabels& labels = {});

  // Runs `collector` at the start of every Render(), e.g. to refresh gauges that mirror state
  // owned elsewhere. It runs on the rendering thread and must be thread-safe.
  void AddCollector(std::function<void()> collector);

  // The whole registry in the Prometheus text format.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> upper_bounds;  // Histograms only.
    std::map<MetricLabels, std::unique_ptr<Counter>> counters;
    std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
    std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(const std::string& name, Type type, const std::string& help,
                    const MetricLabels& labels, const std::vector<double>& bounds);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;         // Guarded by mu_; sorted for stable output.
  std::vector<std::function<void()>> collectors_;  // Guarded by mu_.
};

}  // namespace lightrl

#endif  // LIGHTRL_CORE_METRICS_H_
