// Data preparation on every core (tokenizing rows, preprocessing images) with one progress line.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace automodel::data {

// Runs work(begin, end) over [0, n) in chunks of `chunk` items, on every core (at most 64
// threads), advancing a progress line "`label` ... `unit`" as chunks finish.
void parallel_chunks(size_t n, size_t chunk, const std::string& label, const std::string& unit,
                     const std::function<void(size_t begin, size_t end)>& work);

}  // namespace automodel::data
