#include "automodel/data/dataset.h"

#include <nlohmann/json.hpp>

#include <random>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/data/formats.h"
#include "automodel/data/parallel.h"
#include "automodel/data/rows.h"

namespace automodel::data {
TokenizedDataset mock_dataset(const config::DatasetSection& s) {
  AM_CHECK(s.mock_vocab_size > 1 && s.mock_seq_len > 1 && s.mock_num_samples > 0,
           "[data] {}: mock dataset needs vocab_size > 1, seq_len > 1 and num_samples > 0", s.label);
  TokenizedDataset out;
  std::mt19937_64 rng(s.seed);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(s.mock_vocab_size - 1));
  for (int64_t i = 0; i < s.mock_num_samples; ++i) {
    std::vector<int32_t> ids(static_cast<size_t>(s.mock_seq_len));
    for (auto& id : ids) id = token(rng);
    std::vector<uint8_t> all(ids.size(), 1);
    out.samples.push_back(make_sample(std::move(ids), all));
  }
  out.stats.rows = out.stats.samples = out.samples.size();
  for (const auto& sample : out.samples) {
    out.stats.tokens += static_cast<int64_t>(sample.ids.size());
    out.stats.target_tokens += count_targets(sample);
  }
  return out;
}

TokenizedDataset build_dataset(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tokenizer,
                               int64_t max_tokens) {
  if (section.kind == config::Component::kMockDataset) return mock_dataset(section);
  TokenizedDataset out;
  {
    // limit_dataset_samples: Parquet and Arrow files stop reading there.
    auto rows = read_rows(section.path, section.split,
                          section.limit_samples >= 0 ? static_cast<size_t>(section.limit_samples) : SIZE_MAX);
    SampleFormatter formatter(section, tokenizer);
    std::vector<Sample> samples(rows.size());
    std::vector<std::string> errors(rows.size());
    enum class Drop : uint8_t { kNone, kUnsupervised, kLongerThanPack };
    std::vector<Drop> dropped(rows.size(), Drop::kNone);
    parallel_chunks(rows.size(), 64, "tokenizing " + section.label, "rows", [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        try {
          samples[i] = formatter.format(rows[i].value);
          if (max_tokens > 0 && static_cast<int64_t>(samples[i].ids.size()) > max_tokens)
            dropped[i] = Drop::kLongerThanPack;
        } catch (const NothingLeftToLearn&) {
          dropped[i] = Drop::kUnsupervised;
        } catch (const InvalidSample& e) {
          errors[i] = e.what();
        }
      }
    });
    out.stats.rows = rows.size();
    for (size_t i = 0; i < rows.size(); ++i) {
      if (dropped[i] != Drop::kNone) {
        ++(dropped[i] == Drop::kUnsupervised ? out.stats.unsupervised_after_truncation : out.stats.longer_than_pack);
        continue;
      }
      if (!errors[i].empty()) {
        auto where = fmt::format("{} {}", section.path, rows[i].position());
        AM_CHECK(section.skip_invalid_samples,
                 "[data] {} ({}): {} (set {}.skip_invalid_samples: true to skip such rows)", where, section.label,
                 errors[i], section.label);
        if (out.stats.skipped++ == 0) out.stats.first_skip_reason = where + ": " + errors[i];
        continue;
      }
      out.samples.push_back(std::move(samples[i]));
      out.sample_rows.push_back(static_cast<uint32_t>(i));
    }
    out.stats.samples = out.samples.size();
  }
  for (const auto& s : out.samples) {
    out.stats.tokens += static_cast<int64_t>(s.ids.size());
    out.stats.target_tokens += count_targets(s);
  }
  AM_CHECK(!out.samples.empty(), "[data] {} ({}): no usable samples ({} rows: {} invalid, {} without a token in the "
           "loss after truncation, {} longer than packed_sequence_size{})", section.path, section.label, out.stats.rows,
           out.stats.skipped, out.stats.unsupervised_after_truncation, out.stats.longer_than_pack,
           out.stats.first_skip_reason.empty() ? "" : "; first: " + out.stats.first_skip_reason);
  return out;
}

}  // namespace automodel::data
