// Normalizers: the first stage of encoding, rewriting each piece of text between added tokens
// (and the content of added tokens with "normalized": true) as the Rust library does.
//
//   NFC, NFD, NFKC, NFKD  Unicode normalization forms (utf8proc)
//   Lowercase             each character's full lowercase mapping (Rust's char::to_lowercase)
//   Replace               every match of a String or Regex pattern becomes "content"
//   Prepend               "prepend" goes before any non-empty text
//   Strip                 White_Space off the left ("strip_left") and/or right ("strip_right")
//   Sequence              "normalizers", in order
//
// Any other type is a load error naming it. Thread-safety: immutable once loaded; Normalize may
// run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_NORMALIZERS_H_
#define LIGHTRL_TOKENIZER_NORMALIZERS_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/json_node.h"

namespace lightrl::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Writes the normalized form of `text` (valid UTF-8) to `out`, replacing its contents; the
  // result is valid UTF-8. Errors only from a regex that gives up (Regex::FindAll).
  virtual Status Normalize(std::string_view text, std::string& out) const = 0;
};

// Loads the normalizer described by `node` (an object with a "type").
StatusOr<std::unique_ptr<Normalizer>> LoadNormalizer(const JsonNode& node);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_NORMALIZERS_H_
