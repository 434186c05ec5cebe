#include "actors/time_source.h"

namespace lightrl {
namespace {

class SteadyTimeSource : public TimeSource {
 public:
  Clock::time_point Now() const override { return Clock::now(); }
  bool Automatic() const override { return true; }
};

}  // namespace

const TimeSource& SteadyTime() {
  static const SteadyTimeSource steady;
  return steady;
}

}  // namespace lightrl
