// tokenizer.json "post_processor": adds special tokens around an encoded sequence
// (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace automodel::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Applied only when special tokens are requested.
  virtual void process(std::vector<int32_t>& ids) const = 0;
};

std::unique_ptr<PostProcessor> make_wrapping_post_processor(std::vector<int32_t> prefix, std::vector<int32_t> suffix);
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& spec, const std::string& where);

}  // namespace automodel::tokenizer
