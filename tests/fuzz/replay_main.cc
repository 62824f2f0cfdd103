// A main() for the fuzz targets when the compiler has no libFuzzer (the gcc builds CI runs):
// it takes libFuzzer's command line — corpus directories or files, -runs=N, -seed=N; other
// -flags are ignored — runs every corpus file through LLVMFuzzerTestOneInput, then N inputs
// made by simple seeded mutations of them (byte flips, inserts, erases, splices, truncations).
// No coverage guidance: it is the smoke test's replay, not a fuzzer; tests/fuzz/README.md says
// how to fuzz for real.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Optional in a target, as with libFuzzer.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

int Run(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Mutate(std::string input, const std::vector<std::string>& corpus,
                   std::mt19937_64& rng) {
  auto below = [&rng](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  const int edits = 1 + static_cast<int>(below(4));
  for (int e = 0; e < edits; ++e) {
    switch (below(6)) {
      case 0:  // flip a bit
        if (!input.empty()) input[below(input.size())] ^= static_cast<char>(1 << below(8));
        break;
      case 1:  // a random byte somewhere
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(below(input.size() + 1)),
                     static_cast<char>(below(256)));
        break;
      case 2:  // erase a run
        if (!input.empty()) {
          const size_t at = below(input.size());
          input.erase(at, 1 + below(std::min<size_t>(8, input.size() - at)));
        }
        break;
      case 3:  // an interesting byte
        if (!input.empty()) {
          static const char kBytes[] = {0,
                                        1,
                                        0x7f,
                                        static_cast<char>(0x80),
                                        static_cast<char>(0xff),
                                        static_cast<char>(0xc0)};
          input[below(input.size())] = kBytes[below(sizeof(kBytes))];
        }
        break;
      case 4:  // splice in part of another corpus input
        if (!corpus.empty()) {
          const std::string& other = corpus[below(corpus.size())];
          const size_t from = below(other.size());
          input.insert(below(input.size() + 1), other.substr(from, below(other.size() - from + 1)));
        }
        break;
      default:  // truncate
        input.resize(below(input.size() + 1));
        break;
    }
  }
  return input;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  long runs = 0;
  uint64_t seed = 1;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-runs=", 0) == 0) {
      runs = std::stol(arg.substr(6));
    } else if (arg.rfind("-seed=", 0) == 0) {
      seed = std::stoull(arg.substr(6));
    } else if (arg.rfind('-', 0) == 0) {
      continue;  // a libFuzzer flag that means nothing here
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else {
      files.emplace_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> corpus;
  for (const auto& file : files) {
    corpus.push_back(ReadFile(file));
    Run(corpus.back());
  }
  std::mt19937_64 rng(seed);
  for (long i = 0; i < runs; ++i) {
    const std::string base = corpus.empty() ? std::string() : corpus[rng() % corpus.size()];
    Run(Mutate(base, corpus, rng));
  }
  std::cout << "replayed " << corpus.size() << " corpus inputs and " << runs
            << " mutations of them, seed " << seed << "\n";
  return 0;
}
