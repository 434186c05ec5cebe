#include "model/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lightrl::model {
namespace {

Status Errno(const std::string& path, const char* what) {
  return InternalError(path + ": " + what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(path, "write");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return DataLossError(path + ": read error");
  return bytes.str();
}

Status WriteFileAtomically(const std::string& path, std::span<const std::string_view> pieces) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string temp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return Errno(temp, "create temporary file");
  Status status;
  for (std::string_view piece : pieces) {
    status = WriteAll(fd, piece, temp);
    if (!status.ok()) break;
  }
  if (status.ok() && ::fsync(fd) != 0) status = Errno(temp, "fsync");
  if (::close(fd) != 0 && status.ok()) status = Errno(temp, "close");
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) status = Errno(path, "rename");
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::Ok();
}

}  // namespace lightrl::model
