// NeMo AutoModel's own dataset classes (nemo_automodel, tests/oracles/nemo_datasets.py) as the
// oracle for ours: the same dataset section of a recipe, the same rows and tokenizer, must give
// the same token ids and labels, sample by sample; and our packing of NeMo's samples must give
// NeMo's packed rows.
//
// Layouts: NeMo returns input_ids = full[:-1] and labels = masked(full)[1:] (already shifted,
// one token shorter than the document); we keep the whole document as ids with targets[t] the
// label of ids[t + 1] and a last target of -100. So ours match NeMo's when ids[:-1] ==
// input_ids, targets[:-1] == labels and targets.back() == -100 (ids.back() is NeMo's last label
// when that one is supervised).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <sstream>

#include "automodel/common/atomic_file.h"
#include "automodel/config/recipe_config.h"
#include "automodel/data/dataset.h"
#include "automodel/data/packing.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "test_util.h"

namespace automodel {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// NeMo's results for `names` (see nemo_datasets.py), computed in `dir`.
nlohmann::json nemo_cases(const TempDir& dir, const std::vector<std::string>& names) {
  std::string cmd = "'" + testing::python() + "' '" + testing::oracle_script("nemo_datasets.py").string() + "' '" +
                    dir.path().string() + "'";
  for (const auto& n : names) cmd += " " + n;
  auto r = testing::run_command(cmd);
  if (r.exit_code != 0) throw std::runtime_error("nemo_datasets.py failed: " + r.output);
  return nlohmann::json::parse(read_file(dir / "cases.json"))["cases"];
}

std::string show(const std::vector<int32_t>& v, size_t from, size_t to) {
  std::ostringstream s;
  s << "[";
  for (size_t i = from; i < std::min(to, v.size()); ++i) s << (i > from ? ", " : "") << v[i];
  return s.str() + "]";
}

// The first difference between two id lists, with its neighbourhood as ids and as text.
std::string first_difference(const std::vector<int32_t>& ours, const std::vector<int32_t>& nemo,
                             const tokenizer::LoadedTokenizer& tok, const std::string& what) {
  size_t i = 0;
  while (i < ours.size() && i < nemo.size() && ours[i] == nemo[i]) ++i;
  size_t from = i >= 4 ? i - 4 : 0, to = i + 6;
  auto text = [&](const std::vector<int32_t>& v) {
    std::vector<int32_t> ids;
    for (size_t k = from; k < std::min(to, v.size()); ++k)
      if (v[k] >= 0) ids.push_back(v[k]);
    return nlohmann::json(tok.tokenizer.decode(ids, false)).dump();
  };
  return fmt::format("{}: lengths ours {} / NeMo {}; first difference at {}: ours {} {} vs NeMo {} {}", what,
                     ours.size(), nemo.size(), i, show(ours, from, to), text(ours), show(nemo, from, to), text(nemo));
}

// Where the supervised tokens differ: runs of positions whose labels differ, as text.
std::string label_differences(const std::vector<int32_t>& ours, const std::vector<int32_t>& nemo,
                              const tokenizer::LoadedTokenizer& tok) {
  std::vector<std::string> runs;
  size_t n = std::min(ours.size(), nemo.size()), count = 0;
  for (size_t i = 0; i < n;) {
    if (ours[i] == nemo[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    std::vector<int32_t> a, b;
    for (; j < n && ours[j] != nemo[j]; ++j) {
      if (ours[j] >= 0) a.push_back(ours[j]);
      if (nemo[j] >= 0) b.push_back(nemo[j]);
    }
    count += j - i;
    if (runs.size() < 4)
      runs.push_back(fmt::format("[{}, {}) supervised only by ours {} / only by NeMo {}", i, j,
                                 nlohmann::json(tok.tokenizer.decode(a, false)).dump(),
                                 nlohmann::json(tok.tokenizer.decode(b, false)).dump()));
    i = j;
  }
  std::string out = fmt::format("{} of {} label positions differ", count, n);
  for (const auto& r : runs) out += "; " + r;
  return out;
}

// Our samples for the case's dataset section, read through the recipe parser as a run would.
data::TokenizedDataset ours(const nlohmann::json& c, const tokenizer::LoadedTokenizer& tok) {
  nlohmann::json tree = {{"model", {{"pretrained_model_name_or_path", c["tokenizer"]}}}, {"dataset", c["dataset"]}};
  auto recipe = config::parse_recipe(tree, c["name"].get<std::string>() + ".yaml");
  return data::build_dataset(recipe.dataset, tok);
}

void expect_same_samples(const nlohmann::json& c) {
  SCOPED_TRACE("case " + c["name"].get<std::string>() + " (tokenizer " + c["tokenizer"].get<std::string>() + ")");
  ASSERT_FALSE(c.contains("error")) << "NeMo could not build this case: " << c["error"];
  auto tok = tokenizer::load_tokenizer(c["tokenizer"].get<std::string>());
  auto built = ours(c, tok);
  // Rows NeMo leaves without a label (truncation cut into the prompt) are the ones ours skips.
  nlohmann::json nemo = nlohmann::json::array();
  size_t nemo_unsupervised = 0;
  for (const auto& s : c["samples"]) {
    bool any = false;
    for (const auto& l : s["labels"]) any |= l.get<int32_t>() != data::kIgnore;
    if (any) nemo.push_back(s);
    else ++nemo_unsupervised;
  }
  EXPECT_EQ(built.stats.unsupervised_after_truncation, nemo_unsupervised);
  ASSERT_EQ(built.samples.size(), nemo.size()) << "samples (ours skipped " << built.stats.skipped
                                              << ", first: " << built.stats.first_skip_reason << ")";
  int mismatched = 0;
  for (size_t i = 0; i < nemo.size(); ++i) {
    const auto& s = built.samples[i];
    auto input_ids = nemo[i]["input_ids"].get<std::vector<int32_t>>();
    auto labels = nemo[i]["labels"].get<std::vector<int32_t>>();
    ASSERT_FALSE(s.ids.empty());
    std::vector<int32_t> ids(s.ids.begin(), s.ids.end() - 1), targets(s.targets.begin(), s.targets.end() - 1);
    bool same = ids == input_ids && targets == labels && s.targets.back() == data::kIgnore;
    if (!same && mismatched++ < 2) {  // the first two in full; the count for all
      ADD_FAILURE() << "sample " << i << "\n  " << first_difference(ids, input_ids, tok, "input_ids") << "\n  "
                    << first_difference(targets, labels, tok, "labels") << "\n  "
                    << (ids == input_ids ? label_differences(targets, labels, tok) : "(ids differ)") << "\n  our last target "
                    << s.targets.back() << " (ours has " << s.ids.size() << " ids, NeMo " << input_ids.size() << ")";
    }
  }
  EXPECT_EQ(mismatched, 0) << "of " << nemo.size() << " samples differ from NeMo's";
}

// AutoModel 0.7's rules, which ours follow: prompt + answer tokenized as one text and supervised
// after the prompt's own token count (no EOS added); chat templates for column-mapped rows only
// with use_hf_chat_template, for SQuAD whenever the tokenizer has one; assistant masks covering
// the whole turn (header, content, end of turn, the newline after it). phi3's ids differ because
// transformers 5 rebuilds its pre-tokenizer (tokenizer_live_oracle_test.cpp), so it is left out.
TEST(NemoDatasets, ColumnMappedInstructionRowsTokenizeAsNemo) {
  AUTOMODEL_REQUIRE_ORACLE("nemo_automodel transformers");
  TempDir dir;
  for (const auto& c : nemo_cases(dir, {"column_mapped_stories260K", "column_mapped_mistral7b",
                                        "column_mapped_full_loss_stories260K", "column_mapped_context_stories260K",
                                        "column_mapped_llama3_1", "column_mapped_hf_template_llama3_1"}))
    expect_same_samples(c);
}

TEST(NemoDatasets, ChatMessagesTokenizeAndMaskAsNemo) {
  AUTOMODEL_REQUIRE_ORACLE("nemo_automodel transformers");
  TempDir dir;
  for (const auto& c : nemo_cases(dir, {"chat_llama3_1", "chat_qwen3_single_turn"}))
    expect_same_samples(c);
}

TEST(NemoDatasets, SquadRowsTokenizeAsNemo) {
  AUTOMODEL_REQUIRE_ORACLE("nemo_automodel transformers");
  TempDir dir;
  for (const auto& c : nemo_cases(dir, {"squad_stories260K", "squad_llama3_1"})) expect_same_samples(c);
}

// truncation: true / longest_first with seq_length: every format cuts on the right as HF
// tokenizers do, labels come from the kept ids, and rows cut inside the prompt are skipped.
TEST(NemoDatasets, TruncatedRowsEqualNemosAndUnsupervisedOnesAreSkipped) {
  AUTOMODEL_REQUIRE_ORACLE("nemo_automodel transformers");
  TempDir dir;
  auto cases = nemo_cases(dir, {"column_mapped_truncated_stories260K", "column_mapped_truncated_llama3_1",
                                "column_mapped_hf_template_truncated_qwen3", "chat_truncated_llama3_1",
                                "squad_truncated_stories260K"});
  size_t unsupervised = 0;
  for (const auto& c : cases) {
    expect_same_samples(c);
    for (const auto& s : c["samples"]) unsupervised += s["labels"].size() == s["input_ids"].size() &&
                                                       std::all_of(s["labels"].begin(), s["labels"].end(),
                                                                   [](const auto& l) { return l == data::kIgnore; });
  }
  EXPECT_GT(unsupervised, 0u);  // the cases cover rows cut inside the prompt
}

// The packing rule alone: NeMo's samples packed by us and by NeMo's pack_dataset give the same
// rows (documents, order, positions restarting per document), up to NeMo's padding to the size.
// Samples longer than the pack size are dropped silently by NeMo (drop_long_samples=True); ours
// refuses them when the dataset is built (skipped and counted with skip_invalid_samples, an error
// otherwise), so they are left out here and NeMo must have dropped exactly those.
TEST(NemoDatasets, PackingNemoSamplesGivesNemoPackedRows) {
  AUTOMODEL_REQUIRE_ORACLE("nemo_automodel transformers");
  TempDir dir;
  auto c = nemo_cases(dir, {"packing_stories260K"}).at(0);
  std::vector<data::Sample> samples;
  auto size = c["pack_size"].get<int64_t>();
  size_t too_long = 0;
  for (const auto& s : c["samples"]) {
    auto ids = s["input_ids"].get<std::vector<int32_t>>();
    if (static_cast<int64_t>(ids.size()) > size) {
      ++too_long;
      continue;
    }
    samples.push_back({ids, s["labels"].get<std::vector<int32_t>>()});
  }
  size_t nemo_documents = 0;
  for (const auto& p : c["packs"]) nemo_documents += p["seq_lens"].size();
  EXPECT_EQ(nemo_documents, samples.size()) << too_long << " samples are longer than " << size;
  EXPECT_GT(too_long, 0u);  // the case covers NeMo's dropping
  auto rows = data::pack_samples(samples, size);
  const auto& packs = c["packs"];
  ASSERT_GT(packs.size(), 1u);
  ASSERT_EQ(rows.size(), packs.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    SCOPED_TRACE(fmt::format("packed row {}", r));
    const auto& p = packs[r];
    EXPECT_EQ(p["padded_length"].get<int64_t>(), size);
    EXPECT_EQ(rows[r].ids, p["input_ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(rows[r].targets, p["labels"].get<std::vector<int32_t>>());
    EXPECT_EQ(rows[r].positions, p["position_ids"].get<std::vector<int32_t>>());
    std::vector<int32_t> lengths;
    for (size_t t = 0; t < rows[r].documents.size(); ++t) {
      if (t == 0 || rows[r].documents[t] != rows[r].documents[t - 1]) lengths.push_back(0);
      ++lengths.back();
    }
    EXPECT_EQ(lengths, p["seq_lens"].get<std::vector<int32_t>>());
  }
}

}  // namespace
}  // namespace automodel
