// Dataset formats: turns one raw row into a tokenized Sample with loss targets. Chat rows go
// through the chat template with assistant-only masks; instruction-style rows (column-mapped,
// SQuAD, HellaSwag) supervise the answer only; text and mock rows supervise every token.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "automodel/config/recipe_config.h"
#include "automodel/data/sample.h"
#include "automodel/tokenizer/chat_template.h"
#include "automodel/tokenizer/tokenizer_config.h"

namespace automodel::data {

// A row that cannot become a sample (missing field, wrong type, empty assistant turn, too long).
class InvalidSample : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SampleFormatter {
 public:
  SampleFormatter(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tokenizer);
  ~SampleFormatter();
  // Throws InvalidSample with the reason.
  Sample format(const nlohmann::json& row) const;

 private:
  Sample format_chat(const nlohmann::json& row) const;
  Sample format_messages(const nlohmann::json& messages, const nlohmann::json& row) const;
  Sample format_prompt_completion(const std::string& prompt, const std::string& answer) const;
  Sample format_context_ending(const std::string& context, const std::string& ending) const;
  // Keeps the first (or, with truncation_side left, the last) `truncate_to_` tokens.
  void truncate(std::vector<int32_t>& ids, std::vector<uint8_t>& supervised) const;
  const config::DatasetSection& section_;
  const tokenizer::LoadedTokenizer& tokenizer_;
  std::unique_ptr<tokenizer::ChatTemplate> template_;  // null: plain prompt + answer
  size_t truncate_to_ = 0;  // 0: no truncation
};

// A row truncation left without a token in the loss: skipped and counted, not an error.
class NothingLeftToLearn : public InvalidSample {
 public:
  using InvalidSample::InvalidSample;
};

// ShareGPT {"from": "human", "value": ...} turns -> OpenAI {"role": "user", "content": ...}.
nlohmann::json sharegpt_to_messages(const nlohmann::json& conversations);

}  // namespace automodel::data
