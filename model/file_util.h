// Whole-file reads and atomic writes.
//
// WriteFileAtomically writes to a temporary file in the target's directory, fsyncs it,
// renames it over the target and fsyncs the directory: a reader sees the old file or the
// complete new one, never a torn one, also after a crash. Errors name the path.
// Thread-safety: reentrant; concurrent writers of the same path: the last rename wins.
#ifndef LIGHTRL_MODEL_FILE_UTIL_H_
#define LIGHTRL_MODEL_FILE_UTIL_H_

#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lightrl::model {

// The bytes of `path`. NotFound if it cannot be opened, DataLoss on a read error.
StatusOr<std::string> ReadFile(const std::string& path);

// Replaces `path` with the concatenation of `pieces`.
Status WriteFileAtomically(const std::string& path, std::span<const std::string_view> pieces);

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_FILE_UTIL_H_
