// Post-processors: what Encode adds around the ids of the text when add_special_tokens is
// true, as the Rust library's post_processor does for a single sequence.
//
//   TemplateProcessing  the "single" template: special tokens ("SpecialToken", whose ids come
//                       from "special_tokens") around the sequence ("Sequence" "A")
//   ByteLevel           nothing (it only adjusts offsets)
//   Sequence            "processors", in order; at most one TemplateProcessing
//
// Any other type or option is a load error naming it. Thread-safety: immutable once loaded.
#ifndef LIGHTRL_TOKENIZER_POST_PROCESSORS_H_
#define LIGHTRL_TOKENIZER_POST_PROCESSORS_H_

#include <vector>

#include "core/status.h"
#include "core/token_id.h"
#include "tokenizer/json_node.h"

namespace lightrl::tokenizer {

// The special tokens a post-processor puts before and after the sequence.
struct SpecialTokenFrame {
  std::vector<TokenId> before;
  std::vector<TokenId> after;
};

// Loads the "post_processor" object (null: nothing is added).
StatusOr<SpecialTokenFrame> LoadPostProcessor(const JsonNode& node);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_POST_PROCESSORS_H_
