#include "automodel/data/formats.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/tokenizer/assistant_mask.h"

namespace automodel::data {
namespace {

using config::Component;

const nlohmann::json& field(const nlohmann::json& row, const std::string& name) {
  if (!row.is_object()) throw InvalidSample(fmt::format("expected a JSON object, found {}", row.type_name()));
  auto it = row.find(name);
  if (it == row.end() || it->is_null()) throw InvalidSample(fmt::format("missing field '{}'", name));
  return *it;
}

std::string text_field(const nlohmann::json& row, const std::string& name) {
  const auto& v = field(row, name);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  throw InvalidSample(fmt::format("field '{}' must be a string, found {}", name, v.type_name()));
}

// The column holding `role` (context, question, answer): as column_mapping says (AutoModel reads
// only mapped columns); without a mapping, the column named as the role.
std::optional<std::string> column_of(const config::DatasetSection& s, const std::string& role) {
  if (s.column_mapping.empty()) return role;
  auto it = s.column_mapping.find(role);
  if (it == s.column_mapping.end()) return std::nullopt;
  return it->second;
}

// The row's text for `role`, or nothing when no column is mapped to it or the row lacks it.
std::optional<std::string> mapped_text(const config::DatasetSection& s, const nlohmann::json& row,
                                       const std::string& role) {
  auto column = column_of(s, role);
  if (!column || !row.is_object() || !row.contains(*column) || row[*column].is_null()) return std::nullopt;
  return text_field(row, *column);
}

std::string strip(const std::string& text) {
  auto first = text.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\n\r\f\v") - first + 1);
}

std::string template_source(const config::DatasetSection& s, const tokenizer::LoadedTokenizer& tok) {
  if (!s.chat_template.empty()) {
    // A path to a .jinja file, or the template itself.
    if (s.chat_template.find("{%") == std::string::npos && s.chat_template.find("{{") == std::string::npos &&
        std::filesystem::is_regular_file(s.chat_template))
      return read_file(s.chat_template);
    return s.chat_template;
  }
  return tok.config.chat_templates.count("default") ? tok.chat_template() : "";
}

// Whether rows go through a chat template, as AutoModel decides per dataset class: chat always;
// SQuAD whenever the tokenizer (or the recipe) has one; column-mapped only with
// use_hf_chat_template (or a recipe's chat_template); HellaSwag only with a recipe's.
bool uses_template(const config::DatasetSection& s) {
  switch (s.kind) {
    case Component::kChatDataset:
    case Component::kSquadDataset:
      return true;
    case Component::kColumnMappedDataset:
      return s.use_hf_chat_template || !s.chat_template.empty();
    case Component::kHellaSwagDataset:
      return !s.chat_template.empty();
    default:
      return false;
  }
}

}  // namespace

nlohmann::json sharegpt_to_messages(const nlohmann::json& conversations) {
  static const std::map<std::string, std::string> kRoles = {
      {"human", "user"}, {"user", "user"},   {"gpt", "assistant"},       {"assistant", "assistant"},
      {"system", "system"}, {"tool", "tool"}, {"observation", "tool"}, {"function_call", "assistant"}};
  auto messages = nlohmann::json::array();
  for (const auto& turn : conversations) {
    if (!turn.is_object() || !turn.contains("from") || !turn.contains("value"))
      throw InvalidSample("ShareGPT turns need 'from' and 'value'");
    auto from = turn["from"].is_string() ? turn["from"].get<std::string>() : "";
    auto it = kRoles.find(from);
    if (it == kRoles.end()) throw InvalidSample(fmt::format("unknown ShareGPT role '{}'", from));
    messages.push_back({{"role", it->second}, {"content", turn["value"]}});
  }
  return messages;
}

SampleFormatter::SampleFormatter(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tokenizer)
    : section_(section), tokenizer_(tokenizer) {
  // As HF tokenizers: truncation to max_length, which AutoModel passes as seq_length; without
  // one, the tokenizer's model_max_length.
  if (section.truncation)
    truncate_to_ = static_cast<size_t>(section.seq_length > 0 ? section.seq_length
                                                              : tokenizer.config.model_max_length.value_or(0));
  if (!uses_template(section)) return;
  auto source = template_source(section, tokenizer);
  AM_CHECK(!source.empty() || section.kind != Component::kChatDataset,
           "[data] {}: chat rows need a chat template: the tokenizer has none; set {}.chat_template", section.label,
           section.label);
  if (!source.empty()) template_ = std::make_unique<tokenizer::ChatTemplate>(source, section.label + ".chat_template");
}

SampleFormatter::~SampleFormatter() = default;

void SampleFormatter::truncate(std::vector<int32_t>& ids, std::vector<uint8_t>& supervised) const {
  if (truncate_to_ == 0 || ids.size() <= truncate_to_) return;
  auto cut = [&](auto& v) {
    if (tokenizer_.config.truncate_left) v.erase(v.begin(), v.end() - static_cast<long>(truncate_to_));
    else v.resize(truncate_to_);
  };
  cut(ids);
  cut(supervised);
}

Sample SampleFormatter::format_chat(const nlohmann::json& row) const {
  nlohmann::json messages;
  if (row.is_object() && row.contains("messages")) {
    messages = row["messages"];
  } else if (row.is_object() && row.contains("conversations")) {
    messages = sharegpt_to_messages(row["conversations"]);
  } else {
    throw InvalidSample("missing field 'messages' (OpenAI) or 'conversations' (ShareGPT)");
  }
  return format_messages(messages, row);
}

Sample SampleFormatter::format_messages(const nlohmann::json& messages, const nlohmann::json& row) const {
  if (!messages.is_array() || messages.empty()) throw InvalidSample("'messages' must be a non-empty list");
  bool has_assistant = false;
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw InvalidSample("every message needs a string 'role'");
    if (m["role"] == "assistant") {
      bool has_calls = m.contains("tool_calls") && !m["tool_calls"].empty();
      bool empty = !m.contains("content") || m["content"].is_null() ||
                   (m["content"].is_string() && m["content"].get<std::string>().empty());
      if (empty && !has_calls) throw InvalidSample("an assistant turn is empty");
      has_assistant = true;
    }
  }
  if (!has_assistant && section_.answer_only_loss_mask) throw InvalidSample("no assistant turn to learn from");
  // Tools as AutoModel reads them: a list, or a JSON string of one; an empty list is none.
  nlohmann::json tools = row.is_object() && row.contains("tools") ? row["tools"] : nlohmann::json();
  if (tools.is_string()) {
    tools = parse_json_or_discarded(tools.get<std::string>(), "the row's 'tools' string");
    if (tools.is_discarded()) throw InvalidSample("'tools' is a string but not valid JSON");
  }
  if (!tools.is_null() && !tools.is_array())
    throw InvalidSample(fmt::format("'tools' must be a list (or a JSON string of one), found {}", tools.type_name()));
  if (tools.is_array() && tools.empty()) tools = nullptr;
  auto context = tokenizer::chat_template_context(tokenizer_.config, messages, tools, false);
  tokenizer::MaskedConversation rendered;
  try {
    rendered = tokenizer::render_with_assistant_masks(*template_, tokenizer_.tokenizer, context,
                                                      tokenizer::AssistantMaskRule::kWholeTurn);
  } catch (const Error& e) {
    throw InvalidSample(e.what());
  }
  if (!section_.answer_only_loss_mask) rendered.supervised.assign(rendered.ids.size(), 1);
  truncate(rendered.ids, rendered.supervised);
  return make_sample(std::move(rendered.ids), rendered.supervised);
}

// AutoModel's prompt-completion rule (format_prompt_completion): prompt + answer tokenized as one
// text with the tokenizer's special tokens (truncated as HF truncates), supervised after the
// number of tokens of the prompt alone. AutoModel adds one for a BOS only when the tokenizer
// object exposes add_bos_token, which transformers 5 tokenizers do not: so with a BOS the
// prompt's last token is in the loss too, and no EOS is added unless the tokenizer adds one.
Sample SampleFormatter::format_prompt_completion(const std::string& prompt, const std::string& answer) const {
  if (answer.empty()) throw InvalidSample("the answer is empty");
  const auto full = prompt + answer;
  auto ids = truncate_to_ ? tokenizer_.tokenizer.encode_truncated(full, true, truncate_to_, tokenizer_.config.truncate_left)
                          : tokenizer_.tokenizer.encode(full, true);
  size_t prompt_tokens = section_.answer_only_loss_mask ? tokenizer_.tokenizer.encode(prompt, false).size() : 0;
  std::vector<uint8_t> supervised(ids.size(), 1);
  std::fill(supervised.begin(), supervised.begin() + static_cast<long>(std::min(prompt_tokens, ids.size())), 0);
  return make_sample(std::move(ids), supervised);
}

// HellaSwag: the context and the ending tokenized apart (an ending starts a new word), the
// ending and an EOS supervised.
Sample SampleFormatter::format_context_ending(const std::string& context, const std::string& ending) const {
  if (ending.empty()) throw InvalidSample("the ending is empty");
  if (template_) {
    nlohmann::json row = {{"messages", {{{"role", "user"}, {"content", context}}, {{"role", "assistant"}, {"content", ending}}}}};
    return format_chat(row);
  }
  auto ids = tokenizer_.tokenizer.encode(context, /*add_special_tokens=*/true);
  auto ending_text = ending.front() == ' ' || ending.front() == '\n' ? ending : " " + ending;
  auto ending_ids = tokenizer_.tokenizer.encode(ending_text, false);
  if (tokenizer_.eos_id) ending_ids.push_back(*tokenizer_.eos_id);
  std::vector<uint8_t> supervised(ids.size(), section_.answer_only_loss_mask ? 0 : 1);
  supervised.resize(ids.size() + ending_ids.size(), 1);
  ids.insert(ids.end(), ending_ids.begin(), ending_ids.end());
  truncate(ids, supervised);
  return make_sample(std::move(ids), supervised);
}

Sample SampleFormatter::format(const nlohmann::json& row) const {
  Sample sample;
  switch (section_.kind) {
    case Component::kChatDataset:
      sample = format_chat(row);
      break;
    case Component::kColumnMappedDataset: {
      auto context = mapped_text(section_, row, "context"), question = mapped_text(section_, row, "question");
      if (!context && !question)
        throw InvalidSample(fmt::format("no text in the columns mapped to context/question ({})",
                                        nlohmann::json(section_.column_mapping).dump()));
      auto answer = text_field(row, column_of(section_, "answer").value_or("answer"));
      if (template_) {
        // As AutoModel: system = context, user = question (empty strings when unmapped).
        nlohmann::json messages = {{{"role", "system"}, {"content", context.value_or("")}},
                                   {{"role", "user"}, {"content", question.value_or("")}},
                                   {{"role", "assistant"}, {"content", answer}}};
        sample = format_messages(messages, row);
      } else {
        // "context question " (the parts present, each followed by a space), then the answer.
        std::string prompt;
        for (const auto& part : {context, question})
          if (part) prompt += *part + " ";
        sample = format_prompt_completion(prompt, answer);
      }
      break;
    }
    case Component::kSquadDataset: {
      const auto& answers = field(row, "answers");
      std::string answer;
      if (answers.is_object() && answers.contains("text") && answers["text"].is_array() && !answers["text"].empty() &&
          answers["text"][0].is_string())
        answer = strip(answers["text"][0].get<std::string>());
      else if (answers.is_string())
        answer = strip(answers.get<std::string>());
      else
        throw InvalidSample("'answers' must be {\"text\": [...]} with at least one answer");
      auto prompt = "Context: " + text_field(row, "context") + " Question: " + text_field(row, "question") + " Answer: ";
      if (template_) {
        if (answer.empty()) throw InvalidSample("the answer is empty");
        nlohmann::json messages = {{{"role", "user"}, {"content", prompt}}, {{"role", "assistant"}, {"content", answer}}};
        sample = format_messages(messages, row);
      } else {
        sample = format_prompt_completion(prompt, answer);
      }
      break;
    }
    case Component::kHellaSwagDataset: {
      std::string ctx;
      if (row.is_object() && row.contains("ctx_a")) {
        auto b = text_field(row, "ctx_b");
        if (!b.empty()) b[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(b[0])));
        ctx = text_field(row, "ctx_a") + " " + b;
      } else {
        ctx = text_field(row, "ctx");
      }
      const auto& endings = field(row, "endings");
      auto label_text = text_field(row, "label");
      size_t label = 0;
      try {
        label = std::stoul(label_text);
      } catch (const std::exception&) {
        throw InvalidSample(fmt::format("'label' must be an index into 'endings', found '{}'", label_text));
      }
      if (!endings.is_array() || label >= endings.size() || !endings[label].is_string())
        throw InvalidSample(fmt::format("'endings' has no string ending at label {}", label));
      sample = format_context_ending(ctx, endings[label].get<std::string>());
      break;
    }
    case Component::kTextDataset: {
      auto text = text_field(row, section_.text_column);
      if (text.empty()) throw InvalidSample("the text is empty");
      auto ids = tokenizer_.tokenizer.encode(text, true);
      if (tokenizer_.eos_id && (ids.empty() || ids.back() != *tokenizer_.eos_id)) ids.push_back(*tokenizer_.eos_id);
      std::vector<uint8_t> all(ids.size(), 1);
      truncate(ids, all);
      sample = make_sample(std::move(ids), all);
      break;
    }
    default:
      AM_FAIL("[data] {}: this _target_ is not a row format", section_.label);
  }
  if (section_.seq_length > 0 && static_cast<int64_t>(sample.ids.size()) > section_.seq_length)
    throw InvalidSample(fmt::format("{} tokens, more than seq_length {} (set {}.truncation: true to cut rows to it, as "
                                    "AutoModel does)",
                                    sample.ids.size(), section_.seq_length, section_.label));
  if (count_targets(sample) == 0) {
    if (truncate_to_ > 0 && sample.ids.size() == truncate_to_)
      throw NothingLeftToLearn(fmt::format("no token in the loss within the first {} tokens", truncate_to_));
    throw InvalidSample("no token is in the loss");
  }
  return sample;
}

Sample make_sample(std::vector<int32_t> ids, const std::vector<uint8_t>& supervised) {
  Sample s;
  s.targets.assign(ids.size(), kIgnore);
  for (size_t t = 0; t + 1 < ids.size(); ++t)
    if (supervised[t + 1]) s.targets[t] = ids[t + 1];
  s.ids = std::move(ids);
  return s;
}

int64_t count_targets(const Sample& sample) {
  int64_t n = 0;
  for (auto t : sample.targets) n += t != kIgnore;
  return n;
}

}  // namespace automodel::data
