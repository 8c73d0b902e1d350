// VLM fine-tuning rows: conversations with images (AutoModel's VLM dataset builders and
// LLaVA/ShareGPT-style files with <image> placeholders) rendered through the processor's chat
// template, each image placeholder expanded to the tokens its vision features fill, loss on the
// assistant content and its end-of-turn token only (AutoModel's current VLM collate), and every
// image decoded and preprocessed once, on all cores.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "automodel/config/recipe_config.h"
#include "automodel/data/dataset.h"
#include "automodel/data/loader.h"
#include "automodel/data/recipe_loader.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "automodel/vision/vlm_processor.h"

namespace automodel::data {

// An image a row refers to: a file (relative paths are read beside the data file) or its bytes.
struct ImageSource {
  std::filesystem::path path;
  std::string bytes;
  std::string key() const;  // equal for the same image, so repeats are preprocessed once
};

// One row as a conversation: messages whose content lists hold {"type": "image"} items, in the
// order of `images`.
struct VlmConversation {
  nlohmann::json messages;
  std::vector<ImageSource> images;
};

// The row's conversation, as the dataset kind reads it (throws InvalidSample). `base`: the folder
// relative image paths are resolved against.
VlmConversation vlm_conversation(const config::DatasetSection& section, const nlohmann::json& row,
                                 const std::filesystem::path& base);

// AutoModel's json2token (cord-v2 targets): {"k": v} -> "<s_k>" v "</s_k>" with keys in
// descending order, lists joined by "<sep/>", {"text_sequence": x} -> x.
std::string json_to_tokens(const nlohmann::json& value);

// The chat template a VLM's rows are rendered with: the processor's, else the tokenizer's ("" = none).
std::string vlm_chat_template(const vision::VlmProcessorConfig& processor, const tokenizer::LoadedTokenizer& tokenizer);

// Each `image_token` in `ids` becomes the tokens its image (`images`, in order) takes, as the
// processor expands it; `supervised` (when given) follows, image tokens out of the loss. An
// InvalidSample when the counts of image tokens and images differ.
void expand_image_tokens(std::vector<int32_t>& ids, std::vector<uint8_t>* supervised, int32_t image_token,
                         const std::vector<const vision::PixelValues*>& images,
                         const vision::VlmProcessorConfig& processor);

struct VlmDataset {
  TokenizedDataset tokens;                           // the samples and their statistics
  std::vector<std::vector<uint32_t>> sample_images;  // per sample, in the order of its image tokens
  std::shared_ptr<std::vector<vision::PixelValues>> images;
  size_t longer_than_seq_length = 0;  // dropped: seq_length cannot cut through image tokens
  double images_per_second = 0;
};

VlmDataset build_vlm_dataset(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tokenizer,
                             const vision::VlmProcessorConfig& processor);

// The dataset as batches (one conversation a row, never packed).
DataLoader make_vlm_loader(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tokenizer,
                           const vision::VlmProcessorConfig& processor, const LoaderOptions& options);

}  // namespace automodel::data
