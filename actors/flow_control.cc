#include "actors/flow_control.h"

#include <algorithm>

namespace lightrl {

void CreditLedger::Grant(const std::string& peer, uint32_t credits) {
  uint64_t total = static_cast<uint64_t>(credits_[peer]) + credits;
  credits_[peer] = static_cast<uint32_t>(std::min<uint64_t>(total, max_outstanding_));
}

bool CreditLedger::TryTake(const std::string& peer) {
  auto it = credits_.find(peer);
  if (it == credits_.end() || it->second == 0) return false;
  --it->second;
  return true;
}

uint32_t CreditLedger::Available(const std::string& peer) const {
  auto it = credits_.find(peer);
  return it == credits_.end() ? 0 : it->second;
}

void CreditLedger::Forget(const std::string& peer) { credits_.erase(peer); }

std::optional<std::string> CreditLedger::PickPeer() {
  if (credits_.empty()) return std::nullopt;
  // Start scanning just after the last pick so equal peers take turns.
  auto start = credits_.upper_bound(last_picked_);
  const std::string* best = nullptr;
  uint32_t best_credits = 0;
  for (size_t n = 0; n < credits_.size(); ++n, ++start) {
    if (start == credits_.end()) start = credits_.begin();
    if (start->second > best_credits) {
      best = &start->first;
      best_credits = start->second;
    }
  }
  if (best == nullptr) return std::nullopt;
  last_picked_ = *best;
  return *best;
}

uint64_t CreditLedger::total() const {
  uint64_t sum = 0;
  for (const auto& [peer, credits] : credits_) sum += credits;
  return sum;
}

}  // namespace lightrl
