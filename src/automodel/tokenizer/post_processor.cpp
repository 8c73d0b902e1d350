#include "automodel/tokenizer/post_processor.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/tokenizer/json_util.h"

namespace automodel::tokenizer {
namespace {

// Prefix ids + sequence + suffix ids (covers Template single, Bert, Roberta).
class Wrap : public PostProcessor {
 public:
  Wrap(std::vector<int32_t> prefix, std::vector<int32_t> suffix) : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}
  void process(std::vector<int32_t>& ids) const override {
    ids.insert(ids.begin(), prefix_.begin(), prefix_.end());
    ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  }

 private:
  std::vector<int32_t> prefix_, suffix_;
};

class Identity : public PostProcessor {
 public:
  void process(std::vector<int32_t>&) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<int32_t>& ids) const override {
    for (const auto& s : steps_) s->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// Ids come from the file: a float (1e79), a string or an integer beyond int32 must be an error,
// not a silent (or undefined) conversion.
int32_t checked_id(const nlohmann::json& id, const std::string& where) {
  AM_CHECK(id.is_number_integer() && (id.is_number_unsigned() ? id.get<uint64_t>() < (1ULL << 31)
                                                              : id.get<int64_t>() >= 0 && id.get<int64_t>() < (1LL << 31)),
           "[tokenizer] {}: expected a token id (an integer in [0, 2^31)), found {}", where, id.dump());
  return static_cast<int32_t>(id.get<int64_t>());
}

std::unique_ptr<PostProcessor> template_processing(const nlohmann::json& spec, const std::string& where) {
  const auto& single = require_field(spec, "single", where);
  AM_CHECK(single.is_array(), "[tokenizer] {}.single: expected a list", where);
  const auto& specials = field_or(spec, "special_tokens", nlohmann::json::object(), where);
  std::vector<int32_t> prefix, suffix;
  bool seen_sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const auto& item = single[i];
    std::string at = fmt::format("{}.single[{}]", where, i);
    if (item.contains("Sequence")) {
      AM_CHECK(!seen_sequence, "[tokenizer] {}: more than one sequence in a single-sequence template", at);
      seen_sequence = true;
      continue;
    }
    AM_CHECK(item.contains("SpecialToken"), "[tokenizer] {}: expected Sequence or SpecialToken, found {}", at, item.dump());
    auto name = require_string(item["SpecialToken"], "id", at);
    AM_CHECK(specials.contains(name), "[tokenizer] {}: special token '{}' is not defined in special_tokens", at, name);
    auto ids_at = where + ".special_tokens." + name + ".ids";
    const auto& ids = require_field(specials[name], "ids", where + ".special_tokens." + name);
    AM_CHECK(ids.is_array(), "[tokenizer] {}: expected a list of token ids", ids_at);
    for (const auto& id : ids) (seen_sequence ? suffix : prefix).push_back(checked_id(id, ids_at));
  }
  return std::make_unique<Wrap>(std::move(prefix), std::move(suffix));
}

int32_t token_pair_id(const nlohmann::json& spec, const char* key, const std::string& where) {
  const auto& pair = require_field(spec, key, where);
  AM_CHECK(pair.is_array() && pair.size() == 2 && pair[1].is_number_integer(),
           "[tokenizer] {}.{}: expected [token, id], found {}", where, key, pair.dump());
  return checked_id(pair[1], where + "." + key);
}

}  // namespace

std::unique_ptr<PostProcessor> make_wrapping_post_processor(std::vector<int32_t> prefix, std::vector<int32_t> suffix) {
  return std::make_unique<Wrap>(std::move(prefix), std::move(suffix));
}

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  auto type = require_string(spec, "type", where);
  if (type == "TemplateProcessing") return template_processing(spec, where);
  if (type == "BertProcessing" || type == "RobertaProcessing")
    return std::make_unique<Wrap>(std::vector<int32_t>{token_pair_id(spec, "cls", where)},
                                  std::vector<int32_t>{token_pair_id(spec, "sep", where)});
  if (type == "ByteLevel") return std::make_unique<Identity>();  // only adjusts offsets
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> steps;
    const auto& list = require_list(spec, "processors", where);
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceProcessor>(std::move(steps));
  }
  throw NotSupportedError(fmt::format("[tokenizer] {}: unknown post_processor type '{}'; supported: TemplateProcessing, "
                                      "BertProcessing, RobertaProcessing, ByteLevel, Sequence", where, type));
}

}  // namespace automodel::tokenizer
