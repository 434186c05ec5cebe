// Test data of the tokenizer tests and benchmark: the real tokenizer files that
// scripts/fetch-testdata caches, the synthetic tokenizers and the reference corpus and fixtures
// of tokenizer/testdata/ (see make_fixtures.js there for their formats).
#ifndef LIGHTRL_TOKENIZER_TESTDATA_TEST_UTIL_H_
#define LIGHTRL_TOKENIZER_TESTDATA_TEST_UTIL_H_

#include <string>
#include <vector>

#include "core/status.h"

namespace lightrl::tokenizer {

// The six real tokenizers, as named in the cache ("tokenizer-qwen3-3.7.2", ...).
const std::vector<std::string>& RealTokenizerNames();
// The synthetic tokenizers of tokenizer/testdata/synthetic/ (file names without ".json").
std::vector<std::string> SyntheticTokenizerNames();

// The cache folder: $LIGHTRL_TESTDATA, else ~/.cache/lightrl/testdata.
std::string TestdataCache();
// tokenizer/testdata/ in the source tree.
std::string SourceTestdata();

// The path of a real tokenizer's tokenizer.json; NotFound, naming scripts/fetch-testdata, when
// it is not in the cache.
StatusOr<std::string> RealTokenizerPath(const std::string& name);
// The tokenizer.json text of a real or synthetic tokenizer (a synthetic one built from its base
// as make_fixtures.js builds it); errors as RealTokenizerPath.
StatusOr<std::string> TokenizerJson(const std::string& name);

// The cases of corpus.txt, escapes resolved (bytes, possibly not UTF-8).
StatusOr<std::vector<std::string>> ReadCorpus();

// The whole contents of a file; NotFound when it cannot be read.
StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_TESTDATA_TEST_UTIL_H_
