#include "rollout/generation_loop.h"

#include <deque>
#include <map>

#include "core/logging.h"

namespace lightrl {

// A group taken from the queue, and what its samples have produced so far.
struct GenerationLoop::Group {
  uint64_t request = 0;
  GroupJob job;
  std::vector<Sample> out;
  int finished = 0;
  std::chrono::steady_clock::time_point started;
};

GenerationLoop::GenerationLoop(model::Generator* generator, WeightPuller* weights,
                               WeightSwitch mode, HandoffQueue<Work<GroupJob>>* jobs, Done done,
                               std::function<void()> on_first_weights, MetricsRegistry* metrics)
    : generator_(generator),
      weights_(weights),
      mode_(mode),
      jobs_(jobs),
      done_(std::move(done)),
      on_first_weights_(std::move(on_first_weights)),
      generated_(
          metrics->GetCounter("lightrl_rollout_generated_tokens_total", "Tokens generated.")),
      active_(metrics->GetGauge("lightrl_rollout_active_sequences",
                                "Sequences in the decoding batch.")),
      queued_(metrics->GetGauge("lightrl_rollout_queued_groups",
                                "Groups received and not yet decoding.")) {}

void GenerationLoop::MaybeSwitchWeights(bool idle) {
  if (!weights_->HasPending()) return;
  const uint64_t before = weights_->version();
  if (!idle && before != 0 && mode_ == WeightSwitch::kRequestBoundary) return;
  Status applied = weights_->Apply();
  if (!applied.ok()) {
    LOG(ERROR) << applied;
    return;
  }
  if (before == 0) on_first_weights_();
}

void GenerationLoop::Run(ActivityLog& activity) {
  model::Generator& generator = *generator_;
  std::deque<std::unique_ptr<Group>> waiting;           // Received, not yet in the generator.
  std::map<uint64_t, std::pair<Group*, int>> requests;  // Generator id -> (group, sample).
  std::map<Group*, std::unique_ptr<Group>> running;
  uint64_t next_request_id = 1;

  auto finish = [&](Group* group, StatusOr<std::vector<Sample>> samples) {
    std::unique_ptr<Group> owned = std::move(running[group]);
    running.erase(group);
    done_(owned->request, owned->job.group_id, std::move(samples),
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                owned->started));
  };

  while (!stopping_.load()) {
    MaybeSwitchWeights(generator.active() == 0 && generator.queued() == 0);
    while (std::optional<Work<GroupJob>> work = jobs_->TryPop()) {
      auto group = std::make_unique<Group>();
      group->request = work->request;
      group->job = std::move(work->job);
      group->out.resize(static_cast<size_t>(group->job.samples));
      waiting.push_back(std::move(group));
    }
    const bool hold_for_switch = mode_ == WeightSwitch::kRequestBoundary && weights_->HasPending();
    while (!waiting.empty() && !hold_for_switch && weights_->version() != 0 &&
           waiting.front()->job.min_version <= weights_->version()) {
      std::unique_ptr<Group> group = std::move(waiting.front());
      waiting.pop_front();
      group->started = std::chrono::steady_clock::now();
      Group* raw = group.get();
      running[raw] = std::move(group);
      Status added;
      for (int s = 0; s < raw->job.samples && added.ok(); ++s) {
        model::GenerationRequest request;
        request.id = next_request_id++;
        request.prompt = raw->job.prompt;
        request.params = raw->job.params;
        request.params.seed = raw->job.params.seed + static_cast<uint64_t>(s);
        requests[request.id] = {raw, s};
        added = generator.Add(std::move(request));
      }
      if (!added.ok()) {
        // The whole group is refused; samples already queued finish and are discarded.
        LOG(WARNING) << "group " << raw->job.group_id << " refused: " << added;
        for (auto& [id, target] : requests) {
          if (target.first == raw) target.first = nullptr;
        }
        finish(raw, added);
      }
    }
    queued_->Set(static_cast<double>(waiting.size()));

    if (generator.active() > 0 || generator.queued() > 0) {
      StatusOr<std::vector<model::StepOutput>> step = [&] {
        ActivityLog::Scope busy(activity);
        return generator.Step();
      }();
      CHECK_OK(step.status());
      active_->Set(generator.active());
      const uint32_t version = static_cast<uint32_t>(weights_->version());
      generated_->Increment(static_cast<double>(step->size()));
      for (const model::StepOutput& out : *step) {
        auto it = requests.find(out.id);
        CHECK(it != requests.end());
        auto [group, sample] = it->second;
        if (out.finish != FinishReason::kNone) requests.erase(it);
        if (group == nullptr) continue;  // Its group was refused.
        Sample& s = group->out[sample];
        s.tokens.push_back(out.token);
        s.logprobs.push_back(out.logprob);
        s.versions.push_back(version);
        if (out.finish == FinishReason::kNone) continue;
        s.finish = out.finish;
        if (++group->finished == group->job.samples) finish(group, std::move(group->out));
      }
      continue;
    }
    active_->Set(0);
    // Nothing to decode: wait for work, or for weights (the first ones, or a version that
    // waiting groups ask for). Both arrive with a Wake.
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock,
               [&] { return weights_->HasPending() || stopping_.load() || jobs_->size() > 0; });
  }
}

void GenerationLoop::Wake() {
  // Taking the mutex orders this wake-up after the generation thread's check of its
  // condition, so it cannot be lost between the check and the wait.
  { std::lock_guard<std::mutex> lock(mu_); }
  wake_.notify_all();
}

void GenerationLoop::Stop() {
  stopping_ = true;
  Wake();
}

}  // namespace lightrl
