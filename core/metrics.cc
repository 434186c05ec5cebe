#include "core/metrics.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/logging.h"

namespace lightrl {
namespace {

bool ValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// {a="x",b="y"} with an optional extra label appended (for histogram "le").
std::string FormatLabels(const MetricLabels& labels, const std::string& extra_name = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name + "=\"" + EscapeLabelValue(value) + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name + "=\"" + extra_value + "\"";
  }
  out += '}';
  return out;
}

}  // namespace

void Counter::Increment(double amount) {
  CHECK(amount >= 0) << "counter increment must be non-negative, got " << amount;
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    CHECK(i == 0 || upper_bounds_[i] > upper_bounds_[i - 1]) << "bucket bounds must increase";
  }
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  CHECK(start > 0 && factor > 1 && count > 0);
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name, Type type,
                                                    const std::string& help,
                                                    const MetricLabels& labels,
                                                    const std::vector<double>& bounds) {
  CHECK(ValidName(name, true)) << "invalid metric name '" << name << "'";
  if (type == Type::kCounter) {
    CHECK(name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0)
        << "counter '" << name << "' must end in _total";
  }
  for (const auto& [label, value] : labels) {
    CHECK(ValidName(label, false) && label.rfind("__", 0) != 0 && label != "le")
        << "invalid label name '" << label << "' on " << name;
  }
  auto [it, inserted] = families_.try_emplace(name);
  Family& family = it->second;
  if (inserted) {
    family.type = type;
    family.help = help;
    family.upper_bounds = bounds;
  }
  CHECK(family.type == type && family.help == help && family.upper_bounds == bounds)
      << "metric '" << name << "' re-registered with a different type, help or buckets";
  return family;
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Type::kCounter, help, labels, {}).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Type::kGauge, help, labels, {}).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::vector<double>& upper_bounds,
                                         const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Type::kHistogram, help, labels, upper_bounds).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(upper_bounds);
  return slot.get();
}

void MetricsRegistry::AddCollector(std::function<void()> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  // Collectors update metrics through the registry, so they run without the lock held.
  for (const auto& collector : collectors) collector();

  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  for (const auto& [name, family] : families_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out << "# HELP " << name << ' ' << EscapeHelp(family.help) << '\n';
    out << "# TYPE " << name << ' ' << kTypeNames[static_cast<int>(family.type)] << '\n';
    for (const auto& [labels, counter] : family.counters) {
      out << name << FormatLabels(labels) << ' ' << FormatValue(counter->value()) << '\n';
    }
    for (const auto& [labels, gauge] : family.gauges) {
      out << name << FormatLabels(labels) << ' ' << FormatValue(gauge->value()) << '\n';
    }
    for (const auto& [labels, histogram] : family.histograms) {
      std::vector<uint64_t> counts = histogram->CumulativeCounts();
      const std::vector<double>& bounds = histogram->upper_bounds();
      for (size_t i = 0; i < bounds.size(); ++i) {
        out << name << "_bucket" << FormatLabels(labels, "le", FormatValue(bounds[i])) << ' '
            << counts[i] << '\n';
      }
      out << name << "_bucket" << FormatLabels(labels, "le", "+Inf") << ' ' << counts.back()
          << '\n';
      out << name << "_sum" << FormatLabels(labels) << ' ' << FormatValue(histogram->sum()) << '\n';
      out << name << "_count" << FormatLabels(labels) << ' ' << counts.back() << '\n';
    }
  }
  return out.str();
}

}  // namespace lightrl
