// Copies of a policy's weights taken between training steps, so that another thread can turn
// them into a host image (for the chunked weight transfer) while training goes on.
//
//   Capture(version), on the thread that drives the policy, between steps: copies the
//   weights (the flat FP32 image params() holds) into one of two slots, on the policy's GPU
//   for a GPU policy (a device-to-device copy enqueued on the policy's stream; it returns
//   without waiting for it) or in host memory for a CPU policy. It never waits for the
//   reader: it leaves the slot being read alone and replaces a capture still waiting to be
//   read.
//   ReadNewest(after, out), on one reader thread: waits until a version newer than `after`
//   has been captured, or Stop(); then copies the newest capture into out (bytes() bytes)
//   and returns its version and the CRC32C of the bytes, computed during the copy (on four
//   threads). A GPU slot comes down in chunks through two pinned staging buffers (one
//   downloads while the other is copied out). Versions captured while the reader was busy
//   are skipped; the newest one is always read.
//   Stop(): a waiting ReadNewest returns nullopt, as do later ones.
//
// Memory: two copies of the weights (on the GPU for a GPU policy), plus for a GPU policy two
// pinned staging buffers of staging_bytes.
// Errors: Create returns ResourceExhausted when the slots do not fit, InvalidArgument for a
// staging size of 0.
// Thread-safety: as described per call. The policy must outlive the snapshots, and the
// reader must have returned before they are destroyed.
#ifndef LIGHTRL_WEIGHTS_SNAPSHOTS_H_
#define LIGHTRL_WEIGHTS_SNAPSHOTS_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "core/status.h"
#include "model/policy.h"

namespace lightrl {

class WeightSnapshots {
 public:
  static constexpr size_t kDefaultStagingBytes = size_t{64} << 20;

  static StatusOr<std::unique_ptr<WeightSnapshots>> Create(
      model::Policy* policy, size_t staging_bytes = kDefaultStagingBytes);
  virtual ~WeightSnapshots() = default;

  struct Snapshot {
    uint64_t version;
    uint32_t checksum;    // CRC32C of the bytes written to `out`
    double copy_seconds;  // spent copying it out (not waiting for it)
  };

  size_t bytes() const { return bytes_; }
  void Capture(uint64_t version);
  std::optional<Snapshot> ReadNewest(uint64_t after, uint8_t* out);
  void Stop();

 protected:
  explicit WeightSnapshots(size_t bytes) : bytes_(bytes) {}
  // Copies the policy's weights into `slot` (0 or 1), on the policy's thread.
  virtual void CopyIn(int slot) = 0;
  // Copies `slot` into out and returns its CRC32C, on the reader's thread.
  virtual uint32_t CopyOut(int slot, uint8_t* out) = 0;

 private:
  struct Slot {
    bool ready = false;  // holds a capture not yet read
    uint64_t version = 0;
  };
  const size_t bytes_;
  std::mutex mu_;
  std::condition_variable captured_;
  Slot slots_[2];
  int reading_ = -1;  // the slot the reader is copying out, or -1
  bool stopping_ = false;
};

}  // namespace lightrl

#endif  // LIGHTRL_WEIGHTS_SNAPSHOTS_H_
