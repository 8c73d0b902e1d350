// libFuzzer target: arbitrary bytes as a dataset file. The first byte picks the file format
// (JSON Lines, JSON document, CSV) and the dataset class; the rest is the file. Rows go through
// data::parse_* and then SampleFormatter with the stories260K tokenizer and a small chat
// template. Must either work or throw automodel::Error (InvalidSample: a row the loader skips).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/config/recipe_config.h"
#include "automodel/data/formats.h"
#include "automodel/data/rows.h"

namespace am = automodel;
using am::config::Component;

namespace {

constexpr const char* kTemplate =
    "{% for m in messages %}<|{{ m['role'] }}|>{% if m['role'] == 'assistant' %}{% generation %}"
    "{{ m['content'] }}</s>{% endgeneration %}{% else %}{{ m['content'] }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}";

struct Fixture {
  am::tokenizer::LoadedTokenizer tokenizer;
  std::vector<am::config::DatasetSection> sections;
  std::vector<std::unique_ptr<am::data::SampleFormatter>> formatters;
};

am::config::DatasetSection section(Component kind, bool templated, int64_t seq_length) {
  am::config::DatasetSection s;
  s.kind = kind;
  s.label = "dataset";
  s.split = "train";
  if (templated) s.chat_template = kTemplate;
  s.seq_length = seq_length;
  s.truncation = seq_length > 0;
  if (kind == Component::kColumnMappedDataset)
    s.column_mapping = {{"context", "context"}, {"question", "question"}, {"answer", "answer"}};
  return s;
}

const Fixture& fixture() {
  static const Fixture* f = [] {
    auto* out = new Fixture{am::tokenizer::load_tokenizer(AUTOMODEL_SOURCE_DIR "/tests/fixtures/stories260K"), {}, {}};
    out->sections = {section(Component::kChatDataset, true, 0),         section(Component::kChatDataset, true, 16),
                     section(Component::kColumnMappedDataset, false, 0), section(Component::kColumnMappedDataset, true, 24),
                     section(Component::kSquadDataset, true, 0),         section(Component::kSquadDataset, false, 0),
                     section(Component::kHellaSwagDataset, false, 8),    section(Component::kTextDataset, false, 0)};
    for (const auto& s : out->sections)
      out->formatters.push_back(std::make_unique<am::data::SampleFormatter>(s, out->tokenizer));
    return out;
  }();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& f = fixture();
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<am::data::Row> rows;
  try {
    switch (data[0] % 3) {
      case 0: rows = am::data::parse_jsonl(text, "fuzz.jsonl"); break;
      case 1: rows = am::data::parse_json_rows(text, "fuzz.json"); break;
      default: rows = am::data::parse_csv(text, "fuzz.csv"); break;
    }
  } catch (const am::Error&) {
    return 0;
  }
  const auto& formatter = *f.formatters[(data[0] / 3) % f.formatters.size()];
  for (size_t i = 0; i < rows.size() && i < 16; ++i) {
    try {
      auto sample = formatter.format(rows[i].value);
      if (sample.ids.size() != sample.targets.size()) std::abort();
    } catch (const am::data::InvalidSample&) {
    } catch (const am::Error&) {
    }
  }
  return 0;
}
