#include "sandbox/uid_lease.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace lightrl {

StatusOr<UidLease> UidLease::Acquire(const std::string& state_dir, uint32_t first_uid,
                                     uint32_t count) {
  if (mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InternalError("sandbox: cannot create state_dir '" + state_dir +
                         "': " + std::strerror(errno));
  }
  for (uint32_t uid = first_uid; uid - first_uid < count; ++uid) {
    std::string path = state_dir + "/uid-" + std::to_string(uid) + ".lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return InternalError("sandbox: cannot open uid lock '" + path + "': " + std::strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return UidLease(uid, fd);
    int err = errno;
    close(fd);
    if (err != EWOULDBLOCK) {
      return InternalError("sandbox: cannot lock '" + path + "': " + std::strerror(err));
    }
  }
  return ResourceExhaustedError("sandbox: all " + std::to_string(count) + " uids from " +
                                std::to_string(first_uid) + " are leased by running sandboxes");
}

UidLease::UidLease(UidLease&& other) noexcept
    : uid_(other.uid_), fd_(std::exchange(other.fd_, -1)) {}

UidLease& UidLease::operator=(UidLease&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    uid_ = other.uid_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UidLease::~UidLease() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace lightrl
