// The VLM data path against transformers' AutoProcessor, for a LLaVA (fixed-size images, <image>
// expanded to a fixed count), a Qwen2-VL (smart-resized patch rows, <|image_pad|> expanded per
// grid), a Gemma 3 (a textual expansion) and an Idefics3 and a SmolVLM (tiles with row/col markers
// and the whole image, expanded in the text): each conversation of the LLaVA demo rows (<image> placeholders, two images in a row,
// images shared by rows) rendered, tokenized and expanded by build_vlm_dataset must give exactly the
// input_ids, pixel_values and image_grid_thw that processor.apply_chat_template(conversation,
// tokenize=True) gives (tests/oracles/hf_vlm_processor.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>

#include "automodel/common/atomic_file.h"
#include "automodel/data/vlm_dataset.h"
#include "automodel/hf/safetensors.h"
#include "oracle/tiny_vlm.h"

namespace automodel {
namespace {

template <typename T>
std::vector<T> values_of(const hf::SafetensorsCheckpoint& file, const std::string& name) {
  auto view = file.get(name);
  std::vector<T> out((view.entry->end - view.entry->begin) / sizeof(T));
  std::memcpy(out.data(), view.data, out.size() * sizeof(T));
  return out;
}

class VlmProcessorOracle : public ::testing::TestWithParam<std::string> {};

TEST_P(VlmProcessorOracle, IdsPixelsAndGridsEqualAutoProcessorApplyChatTemplate) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  const auto model = testing::tiny_vlm_dir(GetParam());
  testing::TempDir tmp;
  auto r = testing::run_command("'" + testing::python() + "' '" + testing::oracle_script("hf_vlm_processor.py").string() +
                                "' '" + model.string() + "' '" + testing::vlm_demo_rows().string() + "' '" +
                                (tmp / "hf.safetensors").string() + "' 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = hf::SafetensorsCheckpoint::open(tmp / "hf.safetensors");

  config::DatasetSection section;
  section.kind = config::Component::kVlmConversationDataset;
  section.label = "dataset";
  section.path = testing::vlm_demo_rows().string();
  auto tokenizer = tokenizer::load_tokenizer(model);
  auto config = nlohmann::json::parse(read_file(model / "config.json"));
  auto processor = vision::read_vlm_processor(model, config, "config.json");
  auto dataset = data::build_vlm_dataset(section, tokenizer, processor);
  ASSERT_EQ(dataset.tokens.samples.size(), 6u);
  EXPECT_EQ(dataset.images->size(), 3u);  // three photos, each preprocessed once
  const auto rows = nlohmann::json::parse(read_file(testing::vlm_demo_rows()));
  const auto image_token = *tokenizer.tokenizer.token_to_id(processor.image_token);
  for (size_t i = 0; i < dataset.tokens.samples.size(); ++i) {
    // The loss mask (transformers has none to compare): every reply in full, no user text and no
    // image token.
    std::vector<int32_t> supervised;
    for (auto t : dataset.tokens.samples[i].targets)
      if (t != data::kIgnore) supervised.push_back(t);
    EXPECT_EQ(std::count(supervised.begin(), supervised.end(), image_token), 0) << "row " << i;
    const auto learned = tokenizer.tokenizer.decode(supervised);
    for (const auto& m : rows[i]["messages"]) {
      auto text = m["content"].get<std::string>();
      if (m["role"] == "assistant") {
        EXPECT_NE(learned.find(text), std::string::npos) << "row " << i << ": " << learned;
      } else {  // a user turn's text is never supervised
        for (size_t p; (p = text.find("<image>")) != std::string::npos;) text.erase(p, 7);
        EXPECT_EQ(learned.find(text), std::string::npos) << "row " << i << ": " << learned;
      }
    }
    auto want_ids = values_of<int64_t>(expected, "input_ids." + std::to_string(i));
    std::vector<int64_t> ids(dataset.tokens.samples[i].ids.begin(), dataset.tokens.samples[i].ids.end());
    EXPECT_EQ(ids, want_ids) << "row " << i;
    auto want_pixels = values_of<float>(expected, "pixel_values." + std::to_string(i));
    std::vector<float> pixels;
    for (auto image : dataset.sample_images[i]) {
      const auto& v = (*dataset.images)[image].values;
      pixels.insert(pixels.end(), v.begin(), v.end());
    }
    ASSERT_EQ(pixels.size(), want_pixels.size()) << "row " << i;
    EXPECT_EQ(std::memcmp(pixels.data(), want_pixels.data(), pixels.size() * sizeof(float)), 0) << "row " << i;
    const auto grid_name = "image_grid_thw." + std::to_string(i);
    if (!expected.contains(grid_name)) continue;
    std::vector<int64_t> grids;
    for (auto image : dataset.sample_images[i]) {
      const auto& g = (*dataset.images)[image].grid_thw;
      grids.insert(grids.end(), g.begin(), g.end());
    }
    EXPECT_EQ(grids, values_of<int64_t>(expected, grid_name)) << "row " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, VlmProcessorOracle, ::testing::Values("llava", "qwen2_vl", "gemma3", "idefics3", "smolvlm"));

}  // namespace
}  // namespace automodel
