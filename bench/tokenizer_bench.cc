// lightrl-bench-tokenizer: encode throughput of HfTokenizer against the Rust `tokenizers`
// library on the same text in the same run.
//
//   lightrl-bench-tokenizer [--tokenizers=NAME,...] [--megabytes=4] [--repeats=5] [--warmup=2]
//                           [--node=node] [--peer=bench/tokenizer_peer.js]
// Exits 1 if any result is wrong (ids that differ from the peer's) or the peer cannot run.
//
// Text: the cases of tokenizer/testdata/corpus.txt (ill-formed UTF-8 repaired to U+FFFD, so
// both sides read the same valid text), each case one document, the list repeated until it
// holds --megabytes MB (10^6 bytes). A timed run encodes every document without special tokens
// on one thread; MB/s is the text's bytes over the median of --repeats runs after --warmup
// untimed ones. The peer (tokenizer_peer.js, run as a subprocess with RAYON_NUM_THREADS=1 and
// TOKENIZERS_PARALLELISM=false) times one serial encodeBatch of the same documents the same way
// and reports its CPU time per wall time, which shows it used one thread. Wrong: documents
// whose ids differ from the peer's. Both sides cache the encodings of words, as the Rust
// library always does, and the repeated text makes those caches hit: the figures are for
// text whose words recur.
#include <gflags/gflags.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/testdata_test_util.h"
#include "tokenizer/unicode.h"

DEFINE_string(tokenizers, "", "Comma-separated tokenizer names (default: the six real ones).");
DEFINE_double(megabytes, 4, "Size of the benchmark text in MB (10^6 bytes).");
DEFINE_int32(repeats, 5, "Timed runs (the median is reported).");
DEFINE_int32(warmup, 2, "Untimed runs before the timed ones (at least 1).");
DEFINE_string(node, "node", "The Node.js binary that runs the peer.");
DEFINE_string(peer, LIGHTRL_BENCH_TOKENIZER_PEER, "The peer script.");

namespace lightrl::tokenizer {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream stream(text);
  for (std::string name; std::getline(stream, name, ',');) {
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

struct PeerResult {
  double seconds = -1;
  double cpu_per_wall = -1;
  std::vector<std::vector<TokenId>> ids;
};

// Runs the peer on the documents written to `documents_path`.
PeerResult RunPeer(const std::string& json_path, const std::string& documents_path) {
  PeerResult result;
  const std::string ids_path = documents_path + ".ids";
  const std::string command = "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false " + FLAGS_node +
                              " " + FLAGS_peer + " " + json_path + " " + documents_path + " " +
                              ids_path + " " + std::to_string(std::max(1, FLAGS_warmup)) + " " +
                              std::to_string(FLAGS_repeats);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::sscanf(line, "peer seconds=%lf cpu_per_wall=%lf", &result.seconds, &result.cpu_per_wall);
  }
  if (pclose(pipe) != 0) result.seconds = -1;
  auto bytes = ReadFile(ids_path);
  std::remove(ids_path.c_str());
  if (!bytes.ok()) return result;
  for (size_t pos = 0; pos + 4 <= bytes->size();) {
    uint32_t count;
    std::memcpy(&count, bytes->data() + pos, 4);
    std::vector<TokenId> ids(count);
    std::memcpy(ids.data(), bytes->data() + pos + 4, 4 * size_t{count});
    result.ids.push_back(std::move(ids));
    pos += 4 + 4 * size_t{count};
  }
  return result;
}

// Benchmarks one tokenizer; returns its number of wrong documents (-1: it could not run).
int BenchOne(const std::string& name, const std::vector<std::string>& documents, size_t bytes,
             const std::string& documents_path) {
  auto path = RealTokenizerPath(name);
  if (!path.ok()) {
    std::printf("%-28s %s\n", name.c_str(), std::string(path.status().message()).c_str());
    return -1;
  }
  auto tokenizer = HfTokenizer::FromFile(*path);
  if (!tokenizer.ok()) {
    std::printf("%-28s %s\n", name.c_str(), tokenizer.status().ToString().c_str());
    return -1;
  }
  std::vector<std::vector<TokenId>> ids(documents.size());
  const auto run = [&] {
    for (size_t i = 0; i < documents.size(); ++i) {
      auto encoded = (*tokenizer)->Encode(documents[i], /*add_special_tokens=*/false);
      ids[i] = encoded.ok() ? std::move(encoded).value() : std::vector<TokenId>{-1};
    }
  };
  for (int i = 0; i < std::max(1, FLAGS_warmup); ++i) run();
  std::vector<double> seconds;
  for (int i = 0; i < FLAGS_repeats; ++i) {
    const auto start = Clock::now();
    run();
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const double mine = static_cast<double>(bytes) / Median(seconds) / 1e6;
  const PeerResult peer = RunPeer(*path, documents_path);
  if (peer.seconds <= 0 || peer.ids.size() != documents.size()) {
    std::printf("%-28s %12.1f %12s  (the peer did not run: %s %s)\n", name.c_str(), mine, "-",
                FLAGS_node.c_str(), FLAGS_peer.c_str());
    return -1;
  }
  int wrong = 0;
  for (size_t i = 0; i < documents.size(); ++i) wrong += ids[i] != peer.ids[i];
  const double theirs = static_cast<double>(bytes) / peer.seconds / 1e6;
  std::printf("%-28s %12.1f %12.1f %8.2fx %8d %14.2f\n", name.c_str(), mine, theirs, mine / theirs,
              wrong, peer.cpu_per_wall);
  return wrong;
}

int Main() {
  auto corpus = ReadCorpus();
  if (!corpus.ok()) {
    std::fprintf(stderr, "%s\n", corpus.status().ToString().c_str());
    return 1;
  }
  std::vector<std::string> documents;
  size_t bytes = 0;
  while (bytes < FLAGS_megabytes * 1e6) {
    for (const std::string& text : *corpus) {
      documents.push_back(ToValidUtf8(text));
      bytes += documents.back().size();
    }
  }
  const std::string documents_path = "/tmp/lightrl-bench-tokenizer-" + std::to_string(getpid());
  {
    std::ofstream out(documents_path, std::ios::binary);
    out << nlohmann::json(documents).dump();
  }
  std::printf("encode throughput, one thread, %s\n", CpuModel().c_str());
  std::printf("text: the %zu corpus cases as documents, repeated: %zu documents, %.2f MB\n",
              corpus->size(), documents.size(), static_cast<double>(bytes) / 1e6);
  std::printf("%-28s %12s %12s %9s %8s %14s\n", "tokenizer", "lightrl MB/s", "peer MB/s", "ratio",
              "wrong", "peer cpu/wall");
  std::vector<std::string> names = SplitNames(FLAGS_tokenizers);
  if (names.empty()) names = RealTokenizerNames();
  int failures = 0;
  for (const std::string& name : names) {
    failures += BenchOne(name, documents, bytes, documents_path) != 0;
  }
  std::remove(documents_path.c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lightrl::tokenizer

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return lightrl::tokenizer::Main();
}
