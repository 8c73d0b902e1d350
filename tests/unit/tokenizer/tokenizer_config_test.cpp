// tokenizer_config.json: special tokens, add_bos/add_eos overrides for Llama-family classes,
// chat templates (string, named list, chat_template.jinja), and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

namespace fs = std::filesystem;
using automodel::testing::fixtures_dir;
using automodel::testing::read_fixture;
using automodel::testing::TempDir;

// A model folder holding the fixture tokenizer (decompressed) and an optional config.
void make_folder(const fs::path& dir, const std::string& fixture, const std::optional<std::string>& config) {
  write_file_atomic(dir / "tokenizer.json", read_fixture(fixtures_dir() / "tokenizers" / fixture / "tokenizer.json.gz"));
  if (config) write_file_atomic(dir / "tokenizer_config.json", *config);
}

TEST(TokenizerConfig, MistralConfigKeepsBosAndResolvesSpecialIds) {
  TempDir dir;
  make_folder(dir.path(), "mistral7b_v0.1", read_file(fixtures_dir() / "tokenizers" / "mistral7b_v0.1" / "tokenizer_config.json"));
  auto t = load_tokenizer(dir.path());
  EXPECT_EQ(t.bos_id, 1);
  EXPECT_EQ(t.eos_id, 2);
  auto ids = t.tokenizer.encode("Hello", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 1);
}

TEST(TokenizerConfig, AddEosTokenRebuildsTheLlamaPostProcessor) {
  TempDir dir;
  make_folder(dir.path(), "mistral7b_v0.1",
              R"({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": {"content": "</s>"},
                  "add_bos_token": false, "add_eos_token": true})");
  auto t = load_tokenizer(dir.path());
  auto plain = t.tokenizer.encode("Hello");
  auto with = t.tokenizer.encode("Hello", true);
  ASSERT_EQ(with.size(), plain.size() + 1);
  EXPECT_EQ(with.back(), 2);
  EXPECT_EQ(with.front(), plain.front());
}

TEST(TokenizerConfig, ChatTemplatesFromStringNamedListAndJinjaFile) {
  auto c = parse_tokenizer_config(nlohmann::json::parse(R"({"chat_template": [{"name": "default", "template": "A"},
      {"name": "tool_use", "template": "B"}], "model_max_length": 1000000000000000019884624838656})"), "c.json");
  EXPECT_EQ(c.chat_templates.at("tool_use"), "B");
  EXPECT_FALSE(c.model_max_length.has_value());
  TempDir dir;
  make_folder(dir.path(), "gpt2", R"({"chat_template": "X", "model_max_length": 1024})");
  write_file_atomic(dir / "chat_template.jinja", "{{ messages }}");
  auto t = load_tokenizer(dir.path());
  EXPECT_EQ(t.chat_template(), "{{ messages }}");
  EXPECT_EQ(*t.config.model_max_length, 1024);
  try {
    t.chat_template("rag");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no chat template named 'rag'; available: default"), std::string::npos) << e.what();
  }
}

TEST(TokenizerConfig, ConfigLoadsWithoutVocabularyWithNamedTemplateFiles) {
  TempDir dir;
  write_file_atomic(dir / "tokenizer_config.json", R"({"chat_template": "X", "bos_token": "<s>", "eos_token": "</s>"})");
  fs::create_directories(dir / "additional_chat_templates");
  write_file_atomic(dir / "additional_chat_templates" / "tool_use.jinja", "T");
  auto c = load_tokenizer_config(dir.path());
  EXPECT_EQ(c.chat_template(), "X");
  EXPECT_EQ(c.chat_template("tool_use"), "T");
  EXPECT_EQ(c.bos_token, "<s>");
  EXPECT_EQ(c.eos_token, "</s>");
  EXPECT_FALSE(tokenizer_vocabulary_file(dir.path()).has_value());
  write_file_atomic(dir / "chat_template.jinja", "J");
  EXPECT_EQ(load_tokenizer_config(dir.path()).chat_template(), "J");
  write_file_atomic(dir / "tokenizer.model", "");
  EXPECT_EQ(tokenizer_vocabulary_file(dir.path()), dir / "tokenizer.model");
}

TEST(TokenizerConfig, BadFieldsAreNamed) {
  try {
    parse_tokenizer_config(nlohmann::json::parse(R"({"add_bos_token": "yes"})"), "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.json: field 'add_bos_token' must be true/false"), std::string::npos) << e.what();
  }
  TempDir dir;
  try {
    load_tokenizer(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace automodel::tokenizer
