#include "automodel/data/formats.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
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

std::string column(const config::DatasetSection& s, const std::string& role) {
  auto it = s.column_mapping.find(role);
  return it == s.column_mapping.end() ? role : it->second;
}

std::string template_source(const config::DatasetSection& s, const tokenizer::LoadedTokenizer& tok) {
  if (!s.chat_template.empty()) {
    // A path to a .jinja file, or the template itself.
    if (s.chat_template.find("{%") == std::string::npos && s.chat_template.find("{{") == std::string::npos &&
        std::filesystem::is_regular_file(s.chat_template))
      return read_file(s.chat_template);
    return s.chat_template;
  }
  if (s.kind == Component::kChatDataset) return tok.chat_template();
  return tok.config.chat_templates.count("default") ? tok.chat_template() : "";
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
  if (section.kind == Component::kTextDataset || section.kind == Component::kMockDataset) return;
  // SQuAD and HellaSwag use a plain prompt unless the recipe sets a template (as AutoModel).
  bool plain_default = section.kind == Component::kSquadDataset || section.kind == Component::kHellaSwagDataset;
  if (plain_default && section.chat_template.empty()) return;
  auto source = template_source(section, tokenizer);
  if (!source.empty()) template_ = std::make_unique<tokenizer::ChatTemplate>(source, section.label + ".chat_template");
}

SampleFormatter::~SampleFormatter() = default;

Sample SampleFormatter::format_chat(const nlohmann::json& row) const {
  nlohmann::json messages;
  if (row.is_object() && row.contains("messages")) {
    messages = row["messages"];
  } else if (row.is_object() && row.contains("conversations")) {
    messages = sharegpt_to_messages(row["conversations"]);
  } else {
    throw InvalidSample("missing field 'messages' (OpenAI) or 'conversations' (ShareGPT)");
  }
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
  nlohmann::json context = {{"messages", messages}, {"add_generation_prompt", false}};
  if (row.contains("tools")) context["tools"] = row["tools"];
  if (tokenizer_.config.bos_token) context["bos_token"] = *tokenizer_.config.bos_token;
  if (tokenizer_.config.eos_token) context["eos_token"] = *tokenizer_.config.eos_token;
  tokenizer::MaskedConversation rendered;
  try {
    rendered = tokenizer::render_with_assistant_masks(*template_, tokenizer_.tokenizer, context);
  } catch (const Error& e) {
    throw InvalidSample(e.what());
  }
  if (!section_.answer_only_loss_mask) rendered.supervised.assign(rendered.ids.size(), 1);
  return make_sample(std::move(rendered.ids), rendered.supervised);
}

Sample SampleFormatter::format_prompt_answer(const std::string& prompt, const std::string& answer) const {
  if (answer.empty()) throw InvalidSample("the answer is empty");
  if (template_) {
    nlohmann::json row = {{"messages", {{{"role", "user"}, {"content", prompt}}, {{"role", "assistant"}, {"content", answer}}}}};
    return format_chat(row);
  }
  auto ids = tokenizer_.tokenizer.encode(prompt, /*add_special_tokens=*/true);
  auto answer_text = answer.front() == ' ' || answer.front() == '\n' ? answer : " " + answer;
  auto answer_ids = tokenizer_.tokenizer.encode(answer_text, false);
  if (tokenizer_.eos_id) answer_ids.push_back(*tokenizer_.eos_id);
  std::vector<uint8_t> supervised(ids.size(), section_.answer_only_loss_mask ? 0 : 1);
  supervised.resize(ids.size() + answer_ids.size(), 1);
  ids.insert(ids.end(), answer_ids.begin(), answer_ids.end());
  return make_sample(std::move(ids), supervised);
}

Sample SampleFormatter::format(const nlohmann::json& row) const {
  Sample sample;
  switch (section_.kind) {
    case Component::kChatDataset:
      sample = format_chat(row);
      break;
    case Component::kColumnMappedDataset: {
      std::vector<std::string> parts;
      auto context_col = column(section_, "context");
      if (row.is_object() && row.contains(context_col) && !row[context_col].is_null())
        parts.push_back(text_field(row, context_col));
      parts.push_back(text_field(row, column(section_, "question")));
      std::string prompt = parts.size() == 2 ? parts[0] + " " + parts[1] : parts[0];
      sample = format_prompt_answer(prompt, text_field(row, column(section_, "answer")));
      break;
    }
    case Component::kSquadDataset: {
      const auto& answers = field(row, "answers");
      std::string answer;
      if (answers.is_object() && answers.contains("text") && answers["text"].is_array() && !answers["text"].empty() &&
          answers["text"][0].is_string())
        answer = answers["text"][0].get<std::string>();
      else if (answers.is_string())
        answer = answers.get<std::string>();
      else
        throw InvalidSample("'answers' must be {\"text\": [...]} with at least one answer");
      auto prompt = "Context: " + text_field(row, "context") + " Question: " + text_field(row, "question") + " Answer:";
      sample = format_prompt_answer(prompt, answer);
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
      sample = format_prompt_answer(ctx, endings[label].get<std::string>());
      break;
    }
    case Component::kTextDataset: {
      auto text = text_field(row, section_.text_column);
      if (text.empty()) throw InvalidSample("the text is empty");
      auto ids = tokenizer_.tokenizer.encode(text, true);
      if (tokenizer_.eos_id && (ids.empty() || ids.back() != *tokenizer_.eos_id)) ids.push_back(*tokenizer_.eos_id);
      std::vector<uint8_t> all(ids.size(), 1);
      sample = make_sample(std::move(ids), all);
      break;
    }
    default:
      AM_FAIL("[data] {}: this _target_ is not a row format", section_.label);
  }
  if (section_.seq_length > 0 && static_cast<int64_t>(sample.ids.size()) > section_.seq_length)
    throw InvalidSample(
        fmt::format("{} tokens, more than seq_length {}", sample.ids.size(), section_.seq_length));
  if (count_targets(sample) == 0) throw InvalidSample("no token is in the loss");
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
