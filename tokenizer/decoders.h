// Decoders: turn the tokens of a Decode call back into text, as the Rust library does. Each
// decoder maps the list of token strings to a new list; the results are joined at the end.
//
//   ByteLevel     each token's byte-level characters back to bytes (a token with another
//                 character stays as it is); the bytes as UTF-8, ill-formed parts as U+FFFD
//   Metaspace     "replacement" becomes " ", except that it is dropped from the first token
//                 unless "prepend_scheme" is "never"
//   ByteFallback  runs of "<0xXX>" tokens become their bytes (one U+FFFD per byte when
//                 they are not UTF-8)
//   Fuse          all tokens become one
//   Strip         up to "start" leading and "stop" trailing "content" characters off each token
//   Replace       every match of a String or Regex "pattern" becomes "content"
//   Sequence      "decoders", in order
//
// Any other type or option is a load error naming it. Thread-safety: immutable once loaded.
#ifndef LIGHTRL_TOKENIZER_DECODERS_H_
#define LIGHTRL_TOKENIZER_DECODERS_H_

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_node.h"

namespace lightrl::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites `tokens` (valid UTF-8 each) in place. Errors only from a regex that gives up.
  virtual Status DecodeChain(std::vector<std::string>& tokens) const = 0;
};

// Loads the decoder described by `node` (an object with a "type").
StatusOr<std::unique_ptr<Decoder>> LoadDecoder(const JsonNode& node);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_DECODERS_H_
