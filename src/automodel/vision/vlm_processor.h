// What a VLM's HF processor adds around its image processor: the chat template, the placeholder
// token the template writes for an image, and how many copies of it that placeholder becomes (one
// per row of vision features the model places there). Read as AutoProcessor reads a folder:
// processor_config.json (transformers 5 nests the image processor in it), preprocessor_config.json,
// chat_template.jinja / chat_template.json; what the processor files lack comes from config.json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "automodel/vision/image_processor.h"

namespace automodel::vision {

struct VlmProcessorConfig {
  std::string model_type;     // the VLM's ("llava")
  ImageProcessorConfig image;
  std::string image_token;    // what the chat template writes per image, e.g. "<image>"
  std::string chat_template;  // the processor's; "" = the tokenizer's
  // LLaVA: an image of H x W pixels becomes (H / patch_size) x (W / patch_size) + extra_tokens
  // tokens (num_additional_image_tokens, minus the class token "default" feature selection drops).
  int64_t patch_size = 0, extra_tokens = 0;
  // Qwen2-VL: an image of grid (t, h, w) patches becomes t x h x w / merge_size^2 tokens.
  int64_t merge_size = 0;
  // Textual expansions, applied to the rendered text before tokenization so that newlines merge
  // with their neighbours as transformers tokenizes them: every `placeholder` the template writes
  // becomes image_text(image) for its image in turn.
  // Gemma 3: placeholder <start_of_image>, a fixed `text_expansion` ("\n\n<start_of_image>" +
  // image_token x fixed_tokens + "<end_of_image>\n\n").
  std::string placeholder, text_expansion;
  int64_t fixed_tokens = 0;
  // Idefics3/SmolVLM: placeholder <image>; per tile "<fake_token_around_image><row_r_col_c>" +
  // image_token x tile_tokens (a newline after each row of tiles), then the whole image as
  // "\n<fake_token_around_image><global-img>" + image_token x tile_tokens + "<fake_token_around_image>".
  int64_t tile_tokens = 0;
  std::string fake_image_token, global_image_token;
  bool textual() const { return !placeholder.empty(); }
  std::string image_text(const PixelValues& pixels) const;
  // Text with its i-th placeholder expanded for images[i] (unchanged without a textual expansion;
  // a count that differs from the images' is an error); `shift` (when given) maps each offset of
  // `text` to its offset in the result.
  std::string expand_text(const std::string& text, const std::vector<const PixelValues*>& images,
                          std::vector<size_t>* shift = nullptr) const;
  // Tokens `pixels` (one preprocessed image) takes in the sequence.
  int64_t tokens_for(const PixelValues& pixels) const;
};

// `model_config`: the VLM's config.json (its model_type picks the rule; an unsupported one is an
// error naming the supported ones).
VlmProcessorConfig read_vlm_processor(const std::filesystem::path& processor_dir, const nlohmann::json& model_config,
                                      const std::string& model_label);

}  // namespace automodel::vision
