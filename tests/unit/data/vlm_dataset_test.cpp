// VLM rows: how each dataset kind becomes a conversation with images, AutoModel's json2token, and
// a built sample's image-token expansion and loss mask (assistant content and end of turn only).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>

#include "automodel/common/atomic_file.h"
#include "automodel/common/base64.h"
#include "automodel/common/error.h"
#include "automodel/data/formats.h"
#include "automodel/data/vlm_dataset.h"
#include "test_util.h"

namespace automodel::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

config::DatasetSection section_of(config::Component kind) {
  config::DatasetSection s;
  s.kind = kind;
  s.label = "dataset";
  return s;
}

std::vector<std::string> item_types(const json& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages)
    for (const auto& item : m["content"]) out.push_back(item["type"].get<std::string>());
  return out;
}

TEST(VlmConversation, PlaceholdersSplitTextTurnsAndTakeTheRowsImagesInOrder) {
  auto row = json::parse(R"({"messages": [
      {"role": "user", "content": "<image>Who are they?"},
      {"role": "assistant", "content": "Players."},
      {"role": "user", "content": "And here<image> and <image>?"},
      {"role": "assistant", "content": "Fans."}],
    "images": ["a.jpg", "/abs/b.png", {"path": "c.jpg"}]})");
  auto c = vlm_conversation(section_of(config::Component::kVlmConversationDataset), row, "/data");
  EXPECT_EQ(item_types(c.messages), (std::vector<std::string>{"image", "text", "text", "text", "image", "text",
                                                              "image", "text", "text"}));
  EXPECT_EQ(c.messages[2]["content"][0]["text"], "And here");
  ASSERT_EQ(c.images.size(), 3u);
  EXPECT_EQ(c.images[0].path, fs::path("/data/a.jpg"));
  EXPECT_EQ(c.images[1].path, fs::path("/abs/b.png"));
  EXPECT_EQ(c.images[2].path, fs::path("/data/c.jpg"));
}

TEST(VlmConversation, ContentItemsNameTheirImagesAndShareGptTurnsAreMapped) {
  auto row = json::parse(R"({"conversation": [
      {"role": "user", "content": [{"type": "image", "image": "x.jpg"}, {"type": "text", "text": "Describe."}]},
      {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}]})");
  auto c = vlm_conversation(section_of(config::Component::kVlmConversationDataset), row, "/d");
  ASSERT_EQ(c.images.size(), 1u);
  EXPECT_EQ(c.images[0].path, fs::path("/d/x.jpg"));
  auto sharegpt = json::parse(R"({"conversations": [{"from": "human", "value": "<image>Hi"},
      {"from": "gpt", "value": "Hello"}], "image": "y.jpg"})");
  c = vlm_conversation(section_of(config::Component::kVlmConversationDataset), sharegpt, "/d");
  EXPECT_EQ(c.messages[1]["role"], "assistant");
  ASSERT_EQ(c.images.size(), 1u);
  EXPECT_EQ(c.images[0].path, fs::path("/d/y.jpg"));
}

TEST(VlmConversation, MismatchedPlaceholdersAndImagesAreInvalidRowsNamingBothCounts) {
  auto row = json::parse(R"({"messages": [{"role": "user", "content": "<image><image>?"},
      {"role": "assistant", "content": "no"}], "images": ["a.jpg"]})");
  auto msg = testing::error_message_of<InvalidSample>(
      [&] { vlm_conversation(section_of(config::Component::kVlmConversationDataset), row, "/d"); });
  EXPECT_NE(msg.find("2 image placeholder(s) but the row gives 1 image(s)"), std::string::npos) << msg;
  auto bad = json::parse(R"({"messages": [{"role": "user", "content": "<image>"}], "images": [3]})");
  msg = testing::error_message_of<InvalidSample>(
      [&] { vlm_conversation(section_of(config::Component::kVlmConversationDataset), bad, "/d"); });
  EXPECT_NE(msg.find("an image must be a path or {bytes|path}"), std::string::npos) << msg;
}

TEST(VlmConversation, AutoModelBuildersMapTheirColumns) {
  auto rdr = vlm_conversation(section_of(config::Component::kVlmRdrDataset),
                              json::parse(R"({"image": "i.jpg", "text": "a red chair"})"), "/d");
  EXPECT_EQ(rdr.messages[0]["content"][1]["text"], "Describe this image.");
  EXPECT_EQ(rdr.messages[1]["content"][0]["text"], "a red chair");
  // Parquet image columns arrive as {"bytes": base64, "path": ...}: the bytes win.
  auto medpix = vlm_conversation(
      section_of(config::Component::kVlmMedpixDataset),
      json{{"image_id", {{"bytes", base64_encode("\x89PNG")}, {"path", "p.png"}}}, {"question", "Q?"}, {"answer", "A."}},
      "/d");
  EXPECT_EQ(medpix.images[0].bytes, "\x89PNG");
  EXPECT_EQ(medpix.messages[0]["content"][1]["text"], "Q?");
  auto cord = vlm_conversation(
      section_of(config::Component::kVlmCordV2Dataset),
      json{{"image", "r.png"}, {"ground_truth", R"({"gt_parse": {"menu": [{"nm": "tea", "cnt": "2"}], "total": {"price": "5"}}})"}},
      "/d");
  EXPECT_EQ(cord.messages[1]["content"][0]["text"],
            "<s_total><s_price>5</s_price></s_total><s_menu><s_nm>tea</s_nm><s_cnt>2</s_cnt></s_menu>");
}

TEST(JsonToTokens, KeysDescendListsJoinWithSepAndTextSequenceIsBare) {
  EXPECT_EQ(json_to_tokens(json::parse(R"({"b": "1", "a": ["x", "y"]})")), "<s_b>1</s_b><s_a>x<sep/>y</s_a>");
  EXPECT_EQ(json_to_tokens(json::parse(R"({"text_sequence": "plain"})")), "plain");
  EXPECT_EQ(json_to_tokens(json::parse(R"({"n": 3, "t": true, "z": null})")), "<s_z>None</s_z><s_t>True</s_t><s_n>3</s_n>");
}

// A LLaVA-style processor for the Llama-2 tokenizer, with <unk> standing in for the image token:
// 32 px images in patches of 8 (16 tokens).
vision::VlmProcessorConfig toy_processor() {
  vision::VlmProcessorConfig processor;
  processor.model_type = "llava";
  processor.image = vision::parse_image_processor_config(
      R"({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 32},
          "crop_size": {"height": 32, "width": 32}})", "test");
  processor.image_token = "<unk>";
  processor.patch_size = 8;  // 4 x 4 patches
  processor.chat_template =
      "{% for m in messages %}{{ m['role'] }}:\n{% for i in m['content'] %}{% if i['type'] == 'image' %}<unk>"
      "{% else %}{{ i['text'] }}{% endif %}{% endfor %}{% if m['role'] == 'assistant' %}</s>{% endif %}"
      "{% endfor %}{% if add_generation_prompt %}assistant:\n{% endif %}";
  return processor;
}

tokenizer::LoadedTokenizer llama2() {
  return tokenizer::load_tokenizer(testing::fixtures_dir() / "tokenizers" / "llama2_sentencepiece");
}

json image_row(const json& image, const std::string& question = "<image>Who?") {
  return {{"messages", {{{"role", "user"}, {"content", question}}, {{"role", "assistant"}, {"content", "Muller."}}}},
          {"images", {image}}};
}

TEST(VlmDataset, ImagePlaceholdersBecomeTheirTokensAndOnlyAssistantTextAndEndOfTurnAreInTheLoss) {
  testing::TempDir tmp;
  const auto rows = tmp / "rows.json";
  const auto image = (testing::fixtures_dir() / "images" / "llamafactory_2.jpg").string();
  write_file_atomic(rows, json::array({image_row(image)}).dump());
  auto tok = llama2();
  auto processor = toy_processor();
  auto section = section_of(config::Component::kVlmConversationDataset);
  section.path = rows.string();
  auto d = build_vlm_dataset(section, tok, processor);
  ASSERT_EQ(d.tokens.samples.size(), 1u);
  ASSERT_EQ(d.images->size(), 1u);
  EXPECT_EQ((*d.images)[0].shape, (std::vector<int64_t>{3, 32, 32}));
  const auto& s = d.tokens.samples[0];
  EXPECT_EQ(std::count(s.ids.begin(), s.ids.end(), 0), 16);  // the placeholder became 16 image tokens
  // Targets (shifted): the answer's tokens and </s>, nothing else (the turn starts after the
  // generation prompt "assistant:\n").
  std::vector<int32_t> supervised;
  for (auto t : s.targets)
    if (t != kIgnore) supervised.push_back(t);
  ASSERT_GE(supervised.size(), 2u);
  EXPECT_EQ(tok.tokenizer.decode(std::vector<int32_t>(supervised.begin(), supervised.end() - 1), true), "Muller.");
  EXPECT_EQ(supervised.back(), *tok.tokenizer.token_to_id("</s>"));
}

TEST(VlmDataset, EmbeddedImageBytesGiveThePixelsOfTheFile) {
  testing::TempDir tmp;
  const auto image = testing::fixtures_dir() / "images" / "llamafactory_1.jpg";
  write_file_atomic(tmp / "rows.jsonl", image_row(image.string()).dump() + "\n" +
                                            image_row({{"bytes", base64_encode(read_file(image))}}).dump() + "\n");
  auto section = section_of(config::Component::kVlmConversationDataset);
  section.path = (tmp / "rows.jsonl").string();
  auto d = build_vlm_dataset(section, llama2(), toy_processor());
  ASSERT_EQ(d.tokens.samples.size(), 2u);
  ASSERT_EQ(d.images->size(), 2u);  // a path and bytes are two sources ...
  EXPECT_EQ((*d.images)[0].values, (*d.images)[1].values);  // ... of the same pixels
  EXPECT_EQ(d.tokens.samples[0].ids, d.tokens.samples[1].ids);
}

TEST(VlmDataset, UnreadableImagesAndMismatchedRowsAreErrorsNamingTheRowOrSkippedAndCounted) {
  testing::TempDir tmp;
  write_file_atomic(tmp / "broken.jpg", std::string("\xff\xd8\xff\xe0 truncated", 16));
  const auto good = (testing::fixtures_dir() / "images" / "llamafactory_3.jpg").string();
  write_file_atomic(tmp / "rows.jsonl", image_row(good).dump() + "\n" + image_row("broken.jpg").dump() + "\n" +
                                            image_row("missing.png").dump() + "\n" +
                                            image_row(good, "<image><image>Two?").dump() + "\n");
  auto section = section_of(config::Component::kVlmConversationDataset);
  section.path = (tmp / "rows.jsonl").string();
  auto msg = testing::error_message_of<Error>([&] { build_vlm_dataset(section, llama2(), toy_processor()); });
  EXPECT_NE(msg.find("rows.jsonl line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("broken.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("skip_invalid_samples"), std::string::npos) << msg;
  section.skip_invalid_samples = true;
  auto d = build_vlm_dataset(section, llama2(), toy_processor());
  EXPECT_EQ(d.tokens.samples.size(), 1u);
  EXPECT_EQ(d.tokens.stats.skipped, 3u);
  EXPECT_NE(d.tokens.stats.first_skip_reason.find("line 2"), std::string::npos) << d.tokens.stats.first_skip_reason;
}

// Preprocessed images are cached like tokenized text: a second run with the same image bytes and
// image processor reads them back (shown by a doctored cache file), another processor misses.
TEST(VlmDataset, PreprocessedImagesAreReadBackFromTheCacheKeyedByBytesAndProcessor) {
  testing::TempDir tmp;
  ::setenv("AUTOMODEL_CACHE_DIR", (tmp / "cache").c_str(), 1);
  const auto image = (testing::fixtures_dir() / "images" / "llamafactory_1.jpg").string();
  write_file_atomic(tmp / "rows.jsonl", image_row(image).dump() + "\n");
  auto section = section_of(config::Component::kVlmConversationDataset);
  section.path = (tmp / "rows.jsonl").string();
  auto first = build_vlm_dataset(section, llama2(), toy_processor());
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(tmp / "cache" / "datasets")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(build_vlm_dataset(section, llama2(), toy_processor()).images->at(0).values, first.images->at(0).values);
  // Doctor the cached values (the last bytes of the file): a cache hit returns them.
  auto bytes = read_file(files[0]);
  const float doctored = 12345.0f;
  std::memcpy(bytes.data() + bytes.size() - sizeof doctored, &doctored, sizeof doctored);
  write_file_atomic(files[0], bytes);
  EXPECT_EQ(build_vlm_dataset(section, llama2(), toy_processor()).images->at(0).values.back(), doctored);
  // Another image processor is another key: preprocessed afresh.
  auto other = toy_processor();
  other.image.image_mean = {0.5, 0.5, 0.5};
  auto fresh = build_vlm_dataset(section, llama2(), other);
  EXPECT_NE(fresh.images->at(0).values.back(), doctored);
  ::unsetenv("AUTOMODEL_CACHE_DIR");
}

}  // namespace
}  // namespace automodel::data
