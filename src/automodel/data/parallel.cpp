#include "automodel/data/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "automodel/common/logging.h"

namespace automodel::data {

void parallel_chunks(size_t n, size_t chunk, const std::string& label, const std::string& unit,
                     const std::function<void(size_t begin, size_t end)>& work) {
  Progress progress(label, static_cast<double>(n), unit);
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  auto run = [&] {
    for (size_t begin; (begin = next.fetch_add(chunk)) < n;) {
      const size_t end = std::min(n, begin + chunk);
      work(begin, end);
      std::lock_guard lock(progress_mutex);
      progress.advance(static_cast<double>(end - begin));
    }
  };
  const unsigned threads = std::max(1u, std::min(std::thread::hardware_concurrency(), 64u));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
  progress.finish();
}

}  // namespace automodel::data
