// GroupStateMachine, its training half: batches and the learner (see group_state_machine.h).
#include <algorithm>

#include "coordinator/group_state_machine.h"
#include "core/logging.h"

namespace lightrl {
namespace {

using S = GroupState;

}  // namespace

// --- Training ---

bool GroupStateMachine::IsStale(const Group& group) const {
  return static_cast<uint64_t>(group.OldestVersion()) + config_.max_staleness < learner_version_;
}

bool GroupStateMachine::BatchDue() {
  if (training_ != nullptr || in_doubt_ != nullptr) return false;
  if (!to_replay_.empty()) return true;
  if (!training_open_ || accounting_.steps >= config_.steps) return false;
  const size_t batch = static_cast<size_t>(config_.groups_per_batch);
  if (ready_.size() < batch) return false;
  size_t fresh = 0;
  while (fresh < batch && fresh < ready_.size()) {
    Group& group = *groups_.at(ready_[fresh]);
    if (!IsStale(group)) {
      ++fresh;
      continue;
    }
    if (config_.stale_policy == StalePolicy::kRegenerate) {
      group.samples.clear();
      group.min_version = MinVersion(static_cast<uint64_t>(config_.max_staleness));
      Transition(group, S::kToGenerate);
    } else {
      Drop(group, DropReason::kStale,
           "oldest token from version " + std::to_string(group.OldestVersion()) + ", learner at " +
               std::to_string(learner_version_));
    }
  }
  return fresh == batch;
}

const Batch& GroupStateMachine::StartBatch() {
  CHECK(training_ == nullptr && in_doubt_ == nullptr) << "one batch at the learner at a time";
  if (!to_replay_.empty()) {
    training_ = to_replay_.front();
    to_replay_.pop_front();
    return *training_;
  }
  const size_t size = static_cast<size_t>(config_.groups_per_batch);
  CHECK_GE(ready_.size(), size) << "StartBatch without BatchDue";
  auto batch = std::make_shared<Batch>();
  for (size_t i = 0; i < size; ++i) {
    std::shared_ptr<Group> group = groups_.at(ready_.front());
    Transition(*group, S::kTraining);
    batch->groups.push_back(std::move(group));
  }
  batch->resulting_version = learner_version_ + 1;
  batch->snapshot = SnapshotJson(SnapshotAfter(*batch));
  training_ = std::move(batch);
  return *training_;
}

CoordinatorSnapshot GroupStateMachine::SnapshotAfter(const Batch& batch) const {
  CoordinatorSnapshot snapshot;
  snapshot.next_group_id = next_group_id_;
  snapshot.cursors = cursors_;
  snapshot.created = accounting_.created;
  snapshot.trained = accounting_.trained + static_cast<int64_t>(batch.groups.size());
  snapshot.steps = accounting_.steps + 1;
  std::copy(std::begin(accounting_.dropped), std::end(accounting_.dropped),
            snapshot.dropped.begin());
  // Every open train group except the batch's (nothing else is training or in doubt), then
  // the restored prompts not drawn yet.
  for (const auto& [id, group] : groups_) {
    if (group->purpose == Purpose::kTrain && group->state != S::kTraining) {
      snapshot.open.push_back(group->prompt_ref);
    }
  }
  snapshot.open.insert(snapshot.open.end(), restored_prompts_.begin(), restored_prompts_.end());
  return snapshot;
}

AppliedBatch GroupStateMachine::BatchAcked(uint64_t version, uint64_t durable_version) {
  CHECK(training_ != nullptr && training_->resulting_version == version)
      << "an ack for a batch the learner does not hold (version " << version << ")";
  std::shared_ptr<Batch> batch = std::move(training_);
  return Apply(batch, durable_version);
}

void GroupStateMachine::BatchFailed(uint64_t version, const Status& status) {
  CHECK(training_ != nullptr && training_->resulting_version == version)
      << "a failure for a batch the learner does not hold (version " << version << ")";
  std::shared_ptr<Batch> batch = std::move(training_);
  if (Refused(status) && !batch->acknowledged) {
    for (const auto& group : batch->groups) {
      Drop(*group, DropReason::kInvalid, "the learner rejected the batch: " + status.ToString());
    }
    return;
  }
  // The learner may or may not have applied the batch (it can die after its checkpoint and
  // before its ack). Nothing more goes to the learner until its version tells.
  if (!batch->acknowledged) {
    for (const auto& group : batch->groups) Transition(*group, S::kInDoubt);
  }
  in_doubt_ = std::move(batch);
}

AppliedBatch GroupStateMachine::Apply(const std::shared_ptr<Batch>& batch,
                                      uint64_t durable_version) {
  acked_version_ = std::max(acked_version_, batch->resulting_version);
  learner_version_ = std::max(learner_version_, batch->resulting_version);
  AppliedBatch applied;
  applied.version = batch->resulting_version;
  if (!batch->acknowledged) {
    double reward_sum = 0;
    int samples = 0;
    for (const auto& group : batch->groups) {
      for (const ScoredSample& s : group->samples) {
        reward_sum += s.score.reward;
        ++samples;
      }
      Transition(*group, S::kTrained);
    }
    batch->acknowledged = true;
    ++accounting_.steps;
    acknowledged_.push_back(batch);
    applied.new_step = true;
    applied.reward_mean = samples > 0 ? reward_sum / samples : 0;
  }
  while (!acknowledged_.empty() && acknowledged_.front()->resulting_version <= durable_version) {
    acknowledged_.pop_front();
  }
  return applied;
}

bool GroupStateMachine::TrainingComplete() const {
  return accounting_.steps >= config_.steps && training_ == nullptr && in_doubt_ == nullptr &&
         to_replay_.empty();
}

// --- The learner ---

std::optional<AppliedBatch> GroupStateMachine::WeightsAnnounced(uint64_t version) {
  // The learner acks a batch before it has published that version: an announce may trail the
  // acknowledged version and must not lower it. Version 0 is a learner that started afresh
  // (one resumed from a checkpoint sets its version when it registers).
  learner_version_ = version == 0 ? 0 : std::max(learner_version_, version);
  return Reconcile(learner_version_, /*restarted=*/false);
}

std::optional<AppliedBatch> GroupStateMachine::LearnerJoined(uint64_t version) {
  std::optional<AppliedBatch> applied = Reconcile(version, /*restarted=*/true);
  if (version != 0) learner_version_ = version;
  return applied;
}

std::optional<AppliedBatch> GroupStateMachine::Reconcile(uint64_t version, bool restarted) {
  // Replays the learner already holds are not sent again.
  while (!to_replay_.empty() && to_replay_.front()->resulting_version <= version) {
    to_replay_.pop_front();
  }
  std::optional<AppliedBatch> applied;
  if (in_doubt_ != nullptr) {
    std::shared_ptr<Batch> batch = std::move(in_doubt_);
    if (version >= batch->resulting_version) {
      LOG(INFO) << "the learner applied the unacknowledged batch for version "
                << batch->resulting_version;
      applied = Apply(batch, restarted ? version : 0);
    } else if (!restarted) {
      in_doubt_ = std::move(batch);  // Still unknown: the learner may be applying it now.
    } else if (!batch->acknowledged) {
      for (auto it = batch->groups.rbegin(); it != batch->groups.rend(); ++it) {
        Transition(**it, S::kReady);  // To the front, so the batch keeps its order.
      }
    }
  }
  if (!restarted || version >= acked_version_) return applied;
  // The learner resumed from a checkpoint older than what it acknowledged: send it the
  // acknowledged batches since, in order.
  to_replay_.clear();
  for (const auto& batch : acknowledged_) {
    if (batch->resulting_version > version) to_replay_.push_back(batch);
  }
  LOG(WARNING) << "learner came back at version " << version << " after " << acked_version_
               << " was acknowledged: replaying " << to_replay_.size() << " batch(es)";
  if (to_replay_.empty() || to_replay_.front()->resulting_version != version + 1) {
    LOG(ERROR) << "the batches since version " << version
               << " are no longer held; training continues from the learner's version";
    to_replay_.clear();
    acked_version_ = version;
  }
  return applied;
}

}  // namespace lightrl
