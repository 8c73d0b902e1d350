// Hub references (org/name, hf:// URIs) and the cache folder names huggingface_hub uses.
#include <gtest/gtest.h>

#include "automodel/common/error.h"
#include "automodel/hf/hub_client.h"
#include "automodel/hf/hub_download.h"
#include "automodel/hf/hub_repo.h"

namespace automodel::hf {
namespace {

TEST(HubRepo, PlainIdsAndHfUris) {
  auto m = parse_repo_ref("meta-llama/Llama-3.2-1B", RepoType::kModel, "v2");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, "meta-llama/Llama-3.2-1B");
  EXPECT_EQ(m->revision, "v2");
  EXPECT_EQ(m->cache_folder(), "models--meta-llama--Llama-3.2-1B");
  EXPECT_EQ(m->url_path(), "meta-llama/Llama-3.2-1B");
  auto d = parse_repo_ref("rajpurkar/squad", RepoType::kDataset);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cache_folder(), "datasets--rajpurkar--squad");
  EXPECT_EQ(d->url_path(), "datasets/rajpurkar/squad");
  EXPECT_EQ(d->api_collection(), "datasets");

  auto u = parse_repo_ref("hf://datasets/nvidia/embed-data@refs%2Fconvert%2Fparquet/FEVER/", RepoType::kModel);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->type, RepoType::kDataset);
  EXPECT_EQ(u->id, "nvidia/embed-data");
  EXPECT_EQ(u->revision, "refs/convert/parquet");
  EXPECT_EQ(u->subpath, "FEVER");
  auto a = parse_repo_ref("hf://nvidia/embed-data/FEVER", RepoType::kDataset);  // AutoModel's form
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, RepoType::kDataset);
  EXPECT_EQ(a->subpath, "FEVER");
  EXPECT_EQ(parse_repo_ref("hf://models/org/name", RepoType::kDataset)->type, RepoType::kModel);
}

TEST(HubRepo, LocalPathsAreNoRepoIdsAndBadUrisAreErrors) {
  for (const char* text : {"model", "./org/name", "/abs/path", "a/b/c", "org/na--me", "org/..", "-org/name", "org/"})
    EXPECT_FALSE(parse_repo_ref(text, RepoType::kModel)) << text;
  EXPECT_THROW(parse_repo_ref("hf://onlyorg", RepoType::kModel), Error);
  EXPECT_THROW(parse_repo_ref("hf://org/name@", RepoType::kModel), Error);
  EXPECT_THROW(parse_repo_ref("hf://org/name/../x", RepoType::kModel), Error);
}

TEST(HubRepo, CommitHashesAndEtags) {
  EXPECT_TRUE(is_commit_hash("713b800611139ccccbc6adf6c3ff030c5fd96080"));
  EXPECT_FALSE(is_commit_hash("main"));
  EXPECT_FALSE(is_commit_hash("713B800611139CCCCBC6ADF6C3FF030C5FD96080"));
  EXPECT_EQ(normalize_etag("W/\"abc\""), "abc");
  EXPECT_EQ(normalize_etag("\"abc\""), "abc");
}

TEST(HubRepo, ModelFilesAreTheOnesWeRead) {
  for (const char* f : {"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                        "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                        "chat_template.jinja", "additional_chat_templates/tool_use.jinja", "merges.txt", "vocab.json",
                        "special_tokens_map.json", "preprocessor_config.json"})
    EXPECT_TRUE(is_model_file(f)) << f;
  for (const char* f : {"pytorch_model.bin", "model.pt", "model.gguf", "onnx/model.onnx", "onnx/config.json",
                        "original/consolidated.00.pth", "README.md", ".gitattributes", "flax_model.msgpack"})
    EXPECT_FALSE(is_model_file(f)) << f;
}

}  // namespace
}  // namespace automodel::hf
