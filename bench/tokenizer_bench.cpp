// Encode throughput (MB/s of UTF-8 input) of a tokenizer.json on a JSONL file of strings, on 1
// thread and on all cores. bench/run_tokenizer.sh runs it next to the HF tokenizers library.
// Usage: tokenizer_bench TOKENIZER_JSON TEXTS_JSONL [THREADS...]
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "automodel/tokenizer/tokenizer.h"
#include "bench_util.h"

using namespace automodel;

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: tokenizer_bench TOKENIZER_JSON TEXTS_JSONL [THREADS...]\n");
    return 2;
  }
  auto tok = tokenizer::Tokenizer::from_file(argv[1]);
  std::vector<std::string> texts;
  std::ifstream in(argv[2]);
  std::string line;
  size_t bytes = 0;
  while (std::getline(in, line))
    if (!line.empty()) bytes += texts.emplace_back(nlohmann::json::parse(line).get<std::string>()).size();
  std::vector<int> threads;
  for (int i = 3; i < argc; ++i) threads.push_back(std::stoi(argv[i]));
  if (threads.empty()) threads = {1, static_cast<int>(std::thread::hardware_concurrency())};
  tok.encode_batch(texts, false, 1);  // warm-up
  for (int t : threads) {
    double best = 1e30;
    size_t ids = 0;
    for (int rep = 0; rep < 3; ++rep) {
      best = std::min(best, bench::seconds_of([&] {
        ids = 0;
        for (const auto& v : tok.encode_batch(texts, false, t)) ids += v.size();
      }));
    }
    fmt::print("automodel  threads={} {:.2f} MB/s ({} texts, {:.2f} MB, {} ids)\n", t, bytes / best / 1e6, texts.size(),
               bytes / 1e6, ids);
  }
  return 0;
}
