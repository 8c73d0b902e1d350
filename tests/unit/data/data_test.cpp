// Data: file readers, sample formats and their loss targets, invalid-row handling, packing and
// the deterministic loader.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "automodel/common/error.h"
#include "automodel/data/dataset.h"
#include "automodel/data/dataset_cache.h"
#include "automodel/common/atomic_file.h"
#include "automodel/data/formats.h"
#include "automodel/data/loader.h"
#include "automodel/data/packing.h"
#include "automodel/data/rows.h"
#include "test_util.h"

namespace automodel::data {
namespace {

using config::Component;
using testing::error_message_of;

const tokenizer::LoadedTokenizer& stories_tokenizer() {
  static const auto tok = tokenizer::load_tokenizer(testing::fixtures_dir() / "stories260K");
  return tok;
}

void write(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

config::DatasetSection section(Component kind, const std::string& path) {
  config::DatasetSection s;
  s.kind = kind;
  s.label = "dataset";
  s.path = path;
  return s;
}

TEST(Rows, CsvHandlesQuotesCommasAndNewlinesInFields) {
  auto rows = parse_csv("question,answer\n\"a, b\",\"line1\nline2\"\nq2,\"say \"\"hi\"\"\"\n", "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].value["question"], "a, b");
  EXPECT_EQ(rows[0].value["answer"], "line1\nline2");
  EXPECT_EQ(rows[1].value["answer"], "say \"hi\"");
  EXPECT_EQ(rows[1].line, 4u);
}

TEST(Rows, BadJsonlLineAndRaggedCsvNameTheLine) {
  auto msg = error_message_of<Error>([] { parse_jsonl("{\"a\": 1}\n{oops\n", "d.jsonl"); });
  EXPECT_NE(msg.find("d.jsonl line 2"), std::string::npos) << msg;
  msg = error_message_of<Error>([] { parse_csv("a,b\n1,2\n3\n", "d.csv"); });
  EXPECT_NE(msg.find("d.csv line 3"), std::string::npos) << msg;
}

TEST(Rows, ReadsGzippedJsonlAndJsonArrays) {
  auto rows = read_rows((testing::fixtures_dir() / "datasets/gsm8k/test.jsonl.gz").string(), "");
  EXPECT_EQ(rows.size(), 1319u);
  EXPECT_TRUE(rows[0].value.contains("question"));
  testing::TempDir dir;
  write(dir / "train.json", R"([{"text": "a"}, {"text": "b"}])");
  EXPECT_EQ(read_rows(dir.path().string(), "train").size(), 2u);  // folder + split
  auto msg = error_message_of<Error>([] { read_rows("org/hub-dataset", "train"); });
  EXPECT_NE(msg.find("downloaded"), std::string::npos) << msg;
}

// .json as HF datasets reads it: JSON Lines first, else one document (rows, {"data": rows} as
// SQuAD files, or columns).
TEST(Rows, JsonFilesAreReadAsLinesArraysDataFieldsOrColumns) {
  testing::TempDir dir;
  auto rows_of = [&](const std::string& text) {
    write(dir / "d.json", text);
    return read_rows((dir / "d.json").string(), "");
  };
  auto lines = rows_of("{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\"}]}\n{\"messages\": []}\n");
  ASSERT_EQ(lines.size(), 2u);  // one row per line, even when every value is a list
  EXPECT_EQ(lines[0].value["messages"].size(), 2u);
  auto squad = rows_of("{\n  \"version\": 2.0,\n  \"data\": [\n    {\"question\": \"q1\"},\n    {\"question\": \"q2\"}\n  ]\n}\n");
  ASSERT_EQ(squad.size(), 2u);
  EXPECT_EQ(squad[1].value["question"], "q2");
  auto columns = rows_of("{\n \"question\": [\"a\", \"b\", \"c\"],\n \"answer\": [1, 2, 3]\n}");
  ASSERT_EQ(columns.size(), 3u);
  EXPECT_EQ(columns[2].value, (nlohmann::json{{"question", "c"}, {"answer", 3}}));
  EXPECT_EQ(columns[2].position(), "row 3");  // messages count rows, not the file's lines
  EXPECT_EQ(lines[1].position(), "line 2");
  auto msg = error_message_of<Error>([&] { rows_of("{\n \"question\": [\"a\"],\n \"answer\": [1, 2]\n}"); });
  EXPECT_NE(msg.find("columns of equal length"), std::string::npos) << msg;
}

// AutoModel's prompt-completion rule: "question " + answer tokenized as one text (no EOS added
// unless the tokenizer adds one), supervised after as many tokens as the prompt alone has.
TEST(Formats, InstructionRowsFollowAutoModelsPromptCompletionRule) {
  auto s = section(Component::kColumnMappedDataset, "x");
  s.column_mapping = {{"question", "q"}, {"answer", "a"}};
  SampleFormatter f(s, stories_tokenizer());
  auto sample = f.format({{"q", "Lily has 3 cats."}, {"a", "She has 3."}});
  const auto& tok = stories_tokenizer().tokenizer;
  EXPECT_EQ(sample.ids, tok.encode("Lily has 3 cats. She has 3.", true));
  EXPECT_NE(sample.ids.back(), 2);  // no </s>
  auto prompt_tokens = tok.encode("Lily has 3 cats. ", false).size();
  // targets[t] predicts ids[t+1]: ignored before position prompt_tokens, then every token.
  for (size_t t = 0; t + 1 < prompt_tokens; ++t) EXPECT_EQ(sample.targets[t], kIgnore) << t;
  for (size_t t = prompt_tokens - 1; t + 1 < sample.ids.size(); ++t) EXPECT_EQ(sample.targets[t], sample.ids[t + 1]);
  EXPECT_EQ(sample.targets.back(), kIgnore);
  EXPECT_EQ(count_targets(sample), static_cast<int64_t>(sample.ids.size() - prompt_tokens));
}

TEST(Formats, TruncationCutsOnTheRightAndDropsRowsCutInsideThePrompt) {
  auto s = section(Component::kColumnMappedDataset, "x");
  s.column_mapping = {{"question", "q"}, {"answer", "a"}};
  s.seq_length = 12;
  const nlohmann::json row = {{"q", "Lily"}, {"a", "She has three cats and two dogs in the big house."}};
  EXPECT_THROW(SampleFormatter(s, stories_tokenizer()).format(row), InvalidSample);  // too long, no truncation
  s.truncation = true;
  auto sample = SampleFormatter(s, stories_tokenizer()).format(row);
  auto whole = stories_tokenizer().tokenizer.encode("Lily She has three cats and two dogs in the big house.", true);
  ASSERT_GT(whole.size(), 12u);
  EXPECT_EQ(sample.ids, std::vector<int32_t>(whole.begin(), whole.begin() + 12));  // BOS + the first 11
  EXPECT_EQ(sample.targets.back(), kIgnore);
  EXPECT_GT(count_targets(sample), 0);
  const nlohmann::json long_prompt = {{"q", "Lily went to the park with her mom and saw a big red ball."}, {"a", "Yes."}};
  EXPECT_THROW(SampleFormatter(s, stories_tokenizer()).format(long_prompt), NothingLeftToLearn);
}

TEST(Formats, ChatSupervisesAssistantTurnsThroughTheTemplate) {
  auto s = section(Component::kChatDataset, "x");
  s.chat_template =
      "{% for m in messages %}{{ m.role }}:\n{{ m.content }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}\n"
      "{% endfor %}{% if add_generation_prompt %}assistant:\n{% endif %}";
  SampleFormatter f(s, stories_tokenizer());
  nlohmann::json row = {{"conversations",
                         {{{"from", "human"}, {"value", "Tell me a story."}}, {{"from", "gpt"}, {"value", "Once."}}}}};
  auto sample = f.format(row);
  auto supervised = count_targets(sample);
  EXPECT_GT(supervised, 0);
  // The whole assistant turn is in the loss (AutoModel's rule): its header, "Once." and </s>
  // (trim_blocks drops the newline after {% endif %}).
  std::vector<int32_t> picked;
  for (auto t : sample.targets)
    if (t != kIgnore) picked.push_back(t);
  EXPECT_EQ(stories_tokenizer().tokenizer.decode(picked, false), "assistant:\nOnce.</s>");
}

// As transformers: `tools` and `documents` are defined and None unless the row has tools (a
// list, or a JSON string of one, as AutoModel reads them), so `tools is not none` is false.
TEST(Formats, ChatTemplatesSeeToolsAndDocumentsAsNoneLikeTransformers) {
  auto s = section(Component::kChatDataset, "x");
  s.chat_template = "{% if tools is not none %}[tools {{ tools | length }}]{% endif %}{% if documents is none %}[nodoc]"
                    "{% endif %}{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}";
  SampleFormatter f(s, stories_tokenizer());
  nlohmann::json row = {{"messages", {{{"role", "user"}, {"content", "Hi"}}, {{"role", "assistant"}, {"content", "Yo"}}}}};
  auto text = [&](const nlohmann::json& r) { return stories_tokenizer().tokenizer.decode(f.format(r).ids, false); };
  EXPECT_EQ(text(row).find("[tools"), std::string::npos) << text(row);
  EXPECT_NE(text(row).find("[nodoc]"), std::string::npos) << text(row);
  row["tools"] = "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]";
  EXPECT_NE(text(row).find("[tools 1]"), std::string::npos) << text(row);
  row["tools"] = nlohmann::json::array();
  EXPECT_EQ(text(row).find("[tools"), std::string::npos) << text(row);
}

TEST(Formats, InvalidRowsGiveReasons) {
  auto s = section(Component::kChatDataset, "x");
  s.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}";
  SampleFormatter chat(s, stories_tokenizer());
  auto reason = [&](const SampleFormatter& f, const nlohmann::json& row) {
    try {
      f.format(row);
    } catch (const InvalidSample& e) {
      return std::string(e.what());
    }
    return std::string("<valid>");
  };
  EXPECT_NE(reason(chat, {{"text", "x"}}).find("'messages'"), std::string::npos);
  EXPECT_NE(reason(chat, {{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", ""}}}}})
                .find("assistant turn is empty"),
            std::string::npos);
  auto q = section(Component::kColumnMappedDataset, "x");
  SampleFormatter instr(q, stories_tokenizer());
  EXPECT_NE(reason(instr, {{"question", "q"}}).find("missing field 'answer'"), std::string::npos);
  EXPECT_NE(reason(instr, {{"question", {1, 2}}, {"answer", "a"}}).find("must be a string"), std::string::npos);
  q.seq_length = 4;
  SampleFormatter short_(q, stories_tokenizer());
  EXPECT_NE(reason(short_, {{"question", "a long question here"}, {"answer", "yes"}}).find("more than seq_length 4"),
            std::string::npos);
}

TEST(Dataset, InvalidRowsAreSkippedAndCountedOrReportedWithTheirLine) {
  testing::TempDir dir;
  write(dir / "d.jsonl", "{\"question\": \"q1\", \"answer\": \"a1\"}\n{\"question\": \"q2\"}\n"
                         "{\"question\": \"q3\", \"answer\": \"a3\"}\n");
  auto s = section(Component::kColumnMappedDataset, (dir / "d.jsonl").string());
  auto msg = error_message_of<Error>([&] { build_dataset(s, stories_tokenizer()); });
  EXPECT_NE(msg.find("d.jsonl line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing field 'answer'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("skip_invalid_samples"), std::string::npos) << msg;
  s.skip_invalid_samples = true;
  auto ds = build_dataset(s, stories_tokenizer());
  EXPECT_EQ(ds.stats.samples, 2u);
  EXPECT_EQ(ds.stats.skipped, 1u);
  s.limit_samples = 1;
  EXPECT_EQ(build_dataset(s, stories_tokenizer()).stats.samples, 1u);
}

TEST(Packing, DocumentsKeepTheirPositionsAndNeverSplit) {
  std::vector<Sample> samples;
  for (int n : {3, 4, 2, 5}) {
    std::vector<int32_t> ids(static_cast<size_t>(n), 7);
    samples.push_back(make_sample(ids, std::vector<uint8_t>(ids.size(), 1)));
  }
  auto rows = pack_samples(samples, 8);
  ASSERT_EQ(rows.size(), 2u);  // [3, 4] and [2, 5]
  EXPECT_EQ(rows[0].positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 3}));
  EXPECT_EQ(rows[0].documents, (std::vector<int32_t>{0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(rows[1].documents, (std::vector<int32_t>{0, 0, 1, 1, 1, 1, 1}));
  // A document's last token predicts nothing: no target crosses into the next document.
  EXPECT_EQ(rows[0].targets[2], kIgnore);
  EXPECT_EQ(rows[0].targets[1], 7);
}

TEST(Loader, BatchesAreAPureFunctionOfSeedEpochAndIndex) {
  std::vector<TrainingRow> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(to_row(make_sample({i, i}, {1, 1})));
  DataLoader a(rows, 3, true, 7, 0, true), b(rows, 3, true, 7, 0, true);
  EXPECT_EQ(a.batches_per_epoch(), 3);
  std::set<int32_t> seen;
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.batch(1, i).ids, b.batch(1, i).ids);
    for (size_t r = 0; r < 3; ++r) seen.insert(a.batch(1, i).ids[r * 2]);
  }
  EXPECT_EQ(seen.size(), 9u);  // no row twice within an epoch
  EXPECT_NE(a.batch(0, 0).ids, a.batch(1, 0).ids);  // epochs reshuffle (seeded)
  DataLoader keep_last(rows, 3, false, 7, 0, false);
  EXPECT_EQ(keep_last.batches_per_epoch(), 4);
  EXPECT_EQ(keep_last.batch(0, 3).rows, 1);
}

TEST(Loader, CollatePadsToTheLongestRowWithIgnoredTargets) {
  auto r1 = to_row(make_sample({5, 6, 7}, {1, 1, 1})), r2 = to_row(make_sample({8}, {1}));
  auto b = collate({&r1, &r2}, 0);
  EXPECT_EQ(b.length, 3);
  EXPECT_EQ(b.ids, (std::vector<int32_t>{5, 6, 7, 8, 0, 0}));
  EXPECT_EQ(b.targets, (std::vector<int32_t>{6, 7, kIgnore, kIgnore, kIgnore, kIgnore}));
  EXPECT_EQ(b.positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2}));  // padding after the real positions
  EXPECT_EQ(b.real_tokens, 4);
  EXPECT_EQ(b.target_tokens, 2);
  EXPECT_FALSE(b.packed);
}

}  // namespace
}  // namespace automodel::data

namespace automodel::data {
namespace {

TEST(DatasetCache, RoundTripsSamplesAndStatsAndTheKeyFollowsTheData) {
  testing::TempDir dir;
  std::ofstream(dir / "d.jsonl") << "{\"question\": \"q1\", \"answer\": \"a1\"}\n{\"question\": \"q2\"}\n";
  auto s = section(config::Component::kColumnMappedDataset, (dir / "d.jsonl").string());
  s.skip_invalid_samples = true;
  auto fp = tokenizer_fingerprint(testing::fixtures_dir() / "stories260K");
  auto key = dataset_cache_key(s, fp, 0);
  EXPECT_EQ(key, dataset_cache_key(s, fp, 0));
  EXPECT_NE(key, dataset_cache_key(s, fp, 512));  // pack size
  auto built = build_dataset(s, stories_tokenizer());
  save_cached_dataset(dir / "cache" / (key + ".bin"), built);
  auto loaded = load_cached_dataset(dir / "cache" / (key + ".bin"));
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->samples.size(), built.samples.size());
  EXPECT_EQ(loaded->samples[0].ids, built.samples[0].ids);
  EXPECT_EQ(loaded->samples[0].targets, built.samples[0].targets);
  EXPECT_EQ(loaded->stats.skipped, 1u);
  EXPECT_EQ(loaded->stats.first_skip_reason, built.stats.first_skip_reason);
  std::ofstream(dir / "d.jsonl", std::ios::app) << "{\"question\": \"q3\", \"answer\": \"a3\"}\n";
  EXPECT_NE(dataset_cache_key(s, fp, 0), key);  // edited data, new key
  // A truncated cache file is ignored (rebuilt), never trusted.
  auto text = read_file(dir / "cache" / (key + ".bin"));
  std::ofstream(dir / "cache" / "bad.bin") << text.substr(0, text.size() - 3);
  EXPECT_FALSE(load_cached_dataset(dir / "cache" / "bad.bin").has_value());
}

// padding: max_length and pad_seq_len_divisible: batches at least min_length long, rounded up to
// the multiple; the padding is ignored in the loss and sits after the real positions.
TEST(Loader, BatchShapePadsToMaxLengthAndRoundsToTheMultiple) {
  auto r1 = to_row(make_sample({5, 6, 7}, {1, 1, 1})), r2 = to_row(make_sample({8}, {1}));
  auto b = collate({&r1, &r2}, 0, BatchShape{6, 4});
  EXPECT_EQ(b.length, 8);
  EXPECT_EQ(b.target_tokens, 2);
  EXPECT_EQ(b.real_tokens, 4);
  EXPECT_EQ(b.positions[7], 7);
  EXPECT_EQ(collate({&r1, &r2}, 0, BatchShape{0, 4}).length, 4);
  EXPECT_EQ(collate({&r1, &r2}, 0, BatchShape{2, 1}).length, 3);  // never shorter than the longest row
  DataLoader loader({r1, r2}, 2, false, 1, 0, false, BatchShape{16, 1});
  EXPECT_EQ(loader.batch(0, 0).length, 16);
}

}  // namespace
}  // namespace automodel::data
