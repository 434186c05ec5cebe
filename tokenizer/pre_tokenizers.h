// Pre-tokenizers: split normalized text into the words the model encodes one at a time (and
// rewrite them, for ByteLevel and Metaspace), as the Rust library does.
//
//   ByteLevel        optional " " prefix ("add_prefix_space"), GPT-2's regex split when
//                    "use_regex", then each byte as its byte-level character
//   Split            a String or Regex "pattern", a "behavior", "invert"
//   Metaspace        " " becomes "replacement"; "prepend_scheme" always / never / first; split
//                    before each replacement when "split"
//   Digits           runs of numeric characters, or each one alone ("individual_digits")
//   Whitespace       runs of word characters and runs of other non-space characters
//   WhitespaceSplit  on White_Space, which is dropped
//   Punctuation      each punctuation character, with a "behavior"
//   Sequence         "pretokenizers", each applied to every piece of the one before
//
// Metaspace with prepend_scheme "first" prepends only to the piece at the very start of the
// original text; it is supported where that is known exactly: with no normalizer and as the
// first pre-tokenizer. Elsewhere, and for any other type or option, loading fails naming it.
// Thread-safety: immutable once loaded; PreTokenize may run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_PRE_TOKENIZERS_H_
#define LIGHTRL_TOKENIZER_PRE_TOKENIZERS_H_

#include <memory>
#include <string_view>

#include "core/status.h"
#include "tokenizer/function_ref.h"
#include "tokenizer/json_node.h"

namespace lightrl::tokenizer {

// Receives each piece (non-empty, valid UTF-8; only valid during the call) and whether it starts
// at offset 0 of the original text.
using PieceSink = FunctionRef<Status(std::string_view piece, bool at_origin)>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits `piece` (non-empty, valid UTF-8) and calls `sink` on each resulting piece, in order.
  // Returns the first error of a regex (Regex::FindAll) or of `sink`.
  virtual Status PreTokenize(std::string_view piece, bool at_origin, PieceSink sink) const = 0;
};

// Loads the pre-tokenizer described by `node` (an object with a "type"). `origin_known`: the
// pieces it receives come straight from the text (no normalizer, no pre-tokenizer before it),
// so Metaspace's prepend_scheme "first" can be honoured.
StatusOr<std::unique_ptr<PreTokenizer>> LoadPreTokenizer(const JsonNode& node, bool origin_known);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_PRE_TOKENIZERS_H_
