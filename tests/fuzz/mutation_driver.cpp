// Runs a libFuzzer-style target without libFuzzer (GCC has none): the seed corpus first, then
// deterministic random mutations of it (bit flips, byte edits, insertions, deletions, splices,
// JSON tokens). Usage: <binary> CORPUS_DIR [ITERATIONS]; SERAPH_FUZZ_ITERATIONS overrides.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  static const std::vector<std::string> kTokens{"[", "]", "{", "}", ",", ":", "\"", "null", "true", "-1", "1e39",
                                                "NaN", "\\u0000", "\xff", "[[[[", "\"shape\"", "\"data\"", "0", "-0",
                                                "18446744073709551616", "\"BYTES\"", "\"BOOL\"", "\"FP16\""};
  auto pick = [&rng](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng() % 256);
        break;
      case 2:
        s.insert(pick(s.size() + 1), kTokens[pick(kTokens.size())]);
        break;
      case 3:
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
        }
        break;
      case 4: {
        const std::string& other = corpus[pick(corpus.size())];
        size_t from = pick(other.size() + 1);
        s.insert(pick(s.size() + 1), other.substr(from, pick(64)));
        break;
      }
      case 5:
        if (!s.empty()) {
          size_t at = pick(s.size()), len = 1 + pick(std::min<size_t>(32, s.size() - at));
          s.insert(at, s.substr(at, len));
        }
        break;
    }
  }
  return s.size() > 65536 ? s.substr(0, 65536) : s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR [ITERATIONS]\n";
    return 2;
  }
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    corpus.push_back(content.str());
  }
  if (corpus.empty()) {
    std::cerr << "empty corpus\n";
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 100000;
  if (const char* env = std::getenv("SERAPH_FUZZ_ITERATIONS")) iterations = std::atol(env);
  for (const auto& seed : corpus) run(seed);
  std::mt19937_64 rng(20261123);
  for (long i = 0; i < iterations; ++i) {
    std::string input = mutate(corpus[rng() % corpus.size()], corpus, rng);
    run(input);
    if (rng() % 8 == 0) corpus.push_back(std::move(input));  // let mutations build on each other
    if (corpus.size() > 4096) corpus.resize(256);
  }
  std::cout << "fuzzed " << iterations << " mutated inputs from " << argv[1] << " without a crash\n";
  return 0;
}
