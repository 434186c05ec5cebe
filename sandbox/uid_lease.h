// Machine-wide leasing of the unprivileged uids that sandbox slots run as.
//
// A slot's uid must not be shared with any other running sandbox slot (RLIMIT_NPROC and
// signals are per uid), including slots of other processes. A lease is an exclusive
// flock(2) on "<state_dir>/uid-<uid>.lock": held until the UidLease is destroyed or the
// process dies, so a crashed worker never leaks a uid.
#ifndef LIGHTRL_SANDBOX_UID_LEASE_H_
#define LIGHTRL_SANDBOX_UID_LEASE_H_

#include <cstdint>
#include <string>

#include "core/status.h"

namespace lightrl {

class UidLease {
 public:
  // The first uid in [first_uid, first_uid + count) not leased by anyone. Creates
  // `state_dir` (mode 0700) when missing. ResourceExhaustedError when every uid of the
  // range is leased; InternalError when the directory or a lock file cannot be created.
  static StatusOr<UidLease> Acquire(const std::string& state_dir, uint32_t first_uid,
                                    uint32_t count);

  UidLease(UidLease&& other) noexcept;
  UidLease& operator=(UidLease&& other) noexcept;
  UidLease(const UidLease&) = delete;
  UidLease& operator=(const UidLease&) = delete;
  ~UidLease();

  uint32_t uid() const { return uid_; }

 private:
  UidLease(uint32_t uid, int fd) : uid_(uid), fd_(fd) {}
  uint32_t uid_ = 0;
  int fd_ = -1;
};

}  // namespace lightrl

#endif  // LIGHTRL_SANDBOX_UID_LEASE_H_
