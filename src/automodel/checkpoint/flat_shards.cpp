#include "automodel/checkpoint/flat_shards.h"

#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <algorithm>

#include "automodel/common/error.h"
#include "automodel/common/torch_util.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {

FlatShardFiles::FlatShardFiles(const fs::path& dir, const std::string& stem, int64_t saved_world) {
  AM_CHECK(saved_world >= 1, "[checkpoint] {}: saved by {} processes?", dir.string(), saved_world);
  for (int64_t r = 0; r < saved_world; ++r) {
    auto path = dir / (saved_world == 1 ? stem + ".safetensors" : fmt::format("{}_rank{}.safetensors", stem, r));
    AM_CHECK(fs::is_regular_file(path), "[checkpoint] {} is missing: the checkpoint was saved by {} process(es) and "
             "each wrote one", path.string(), saved_world);
    paths_.push_back(path);
    files_.push_back(hf::SafetensorsCheckpoint::open(path));
  }
}

at::Tensor FlatShardFiles::slice(const std::string& name, int64_t numel, int64_t world, int64_t rank) const {
  const int64_t saved = saved_world(), saved_chunk = flat_chunk(numel, saved), chunk = flat_chunk(numel, world);
  auto out = at::zeros({chunk}, at::kFloat);
  const int64_t begin = rank * chunk, end = std::min(begin + chunk, numel);  // past numel: padding
  for (int64_t s = begin / std::max<int64_t>(saved_chunk, 1); s < saved && s * saved_chunk < end; ++s) {
    AM_CHECK(files_[s].contains(name), "[checkpoint] {} has no '{}' (saved with another model or peft setting?)",
             paths_[s].string(), name);
    auto view = files_[s].get(name);
    auto part = tensor_from_view(view, at::kFloat, c10::kCPU).reshape({-1});
    const int64_t expected = saved == 1 ? numel : saved_chunk;
    AM_CHECK(part.numel() == expected, "[checkpoint] {}: '{}' has {} elements, expected {} (saved with another "
             "model?)", paths_[s].string(), name, part.numel(), expected);
    const int64_t from = std::max(begin, s * saved_chunk), to = std::min(end, (s + 1) * saved_chunk);
    out.narrow(0, from - begin, to - from).copy_(part.narrow(0, from - s * saved_chunk, to - from));
  }
  return out;
}

at::Tensor FlatShardFiles::whole(const std::string& name) const {
  return tensor_from_view(files_.front().get(name), at::kFloat, c10::kCPU);
}

}  // namespace automodel::checkpoint
