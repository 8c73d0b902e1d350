// checkpoint::HfFolderWriter, the one writer of HF folders: training's model/consolidated,
// `consolidate` and `merge-lora` write the same files, tensors and dtypes for a bf16 base; the
// metadata says the dtype written; a failed write leaves nothing behind.
#include <gtest/gtest.h>

#include <ATen/ops/ones.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "automodel/checkpoint/consolidate.h"
#include "automodel/checkpoint/hf_export.h"
#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "integration/finetune_util.h"

namespace automodel {
namespace {

// stories260K cast to bf16, with its tokenizer and a config that says so.
fs::path bf16_stories(const TempDir& dir) {
  auto base = dir / "stories260K_bf16";
  models::LoadOptions load;
  load.dtype = at::kBFloat16;
  models::save_weights(*models::load_pretrained(stories(), load), base);
  auto config = nlohmann::ordered_json::parse(read_file(fs::path(stories()) / "config.json"));
  config["torch_dtype"] = "bfloat16";
  write_file_atomic(base / "config.json", config.dump(2));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "generation_config.json"})
    fs::copy_file(fs::path(stories()) / name, base / name);
  return base;
}

// Every file of a folder (relative paths), and each tensor's dtype and bytes.
struct FolderContents {
  std::set<std::string> files;
  std::map<std::string, std::string> dtypes, bytes;
  std::string config_dtype;
};

FolderContents contents(const fs::path& dir) {
  FolderContents c;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) c.files.insert(fs::relative(e.path(), dir).string());
  auto file = hf::SafetensorsCheckpoint::open(dir);
  for (const auto& name : file.names()) {
    auto view = file.get(name);
    c.dtypes[name] = std::string(hf::dtype_name(view.entry->dtype));
    c.bytes[name] = std::string(reinterpret_cast<const char*>(view.data), view.entry->nbytes());
  }
  auto config = nlohmann::json::parse(read_file(dir / "config.json"));
  c.config_dtype = config.value("torch_dtype", "");
  return c;
}

TEST(HfFolderWriter, TrainingConsolidateAndMergeLoraWriteTheSameBf16Folder) {
  TempDir dir;
  auto base = bf16_stories(dir);
  auto r = train(write_recipe(dir, kLora), "--step_scheduler.max_steps=2 --checkpoint.save_consolidated=true "
                                           "--model.pretrained_model_name_or_path=" + base.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto checkpoint = dir / "ckpt" / "epoch_0_step_2";
  auto trained = contents(checkpoint / "model" / "consolidated");
  auto consolidated = contents(checkpoint::consolidate_checkpoint(checkpoint, dir / "consolidated"));
  auto merged = contents(checkpoint::merge_lora(base, checkpoint / "model", dir / "merged"));

  const std::set<std::string> files = {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
                                       "tokenizer_config.json", "tokenizer.model"};
  EXPECT_EQ(trained.files, files);
  EXPECT_EQ(trained.config_dtype, "bfloat16");
  ASSERT_EQ(trained.dtypes.size(), hf::SafetensorsCheckpoint::open(base).names().size());
  for (const auto& [name, dtype] : trained.dtypes) EXPECT_EQ(dtype, "BF16") << name;
  for (const auto* other : {&consolidated, &merged}) {
    EXPECT_EQ(other->files, trained.files);
    EXPECT_EQ(other->dtypes, trained.dtypes);
    EXPECT_EQ(other->config_dtype, "bfloat16");
    // The same merge (fp32 W + scale * B A, rounded once): the same bits.
    EXPECT_TRUE(other->bytes == trained.bytes);
  }
  EXPECT_TRUE(trained.bytes != contents(base).bytes);  // the adapter moved the weights
}

TEST(HfFolderWriter, ConfigSaysTheDtypeWrittenAndGenerationConfigIsDerived) {
  TempDir dir;
  fs::create_directories(dir / "base");
  // transformers v5's `dtype` key, a sub-config repeating it, no generation_config.json.
  write_file_atomic(dir / "base" / "config.json",
                    R"({"model_type": "x", "dtype": "float16", "eos_token_id": 7, "pad_token_id": null,
                        "text_config": {"dtype": "float16", "hidden_size": 8}})");
  fs::create_directories(dir / "base" / "additional_chat_templates");
  write_file_atomic(dir / "base" / "additional_chat_templates" / "tool_use.jinja", "T");
  EXPECT_EQ(checkpoint::hf_export_dtype(dir / "base"), at::kHalf);
  checkpoint::write_hf_metadata(dir / "base", dir / "fp32", at::kFloat);
  auto config = nlohmann::json::parse(read_file(dir / "fp32" / "config.json"));
  EXPECT_EQ(config["dtype"], "float32");
  EXPECT_FALSE(config.contains("torch_dtype"));
  EXPECT_EQ(config["text_config"]["dtype"], "float32");
  EXPECT_EQ(nlohmann::json::parse(read_file(dir / "fp32" / "generation_config.json")),
            nlohmann::json::parse(R"({"_from_model_config": true, "eos_token_id": 7})"));
  EXPECT_EQ(read_file(dir / "fp32" / "additional_chat_templates" / "tool_use.jinja"), "T");
  // Already right: copied byte for byte.
  checkpoint::write_hf_metadata(dir / "base", dir / "fp16", at::kHalf);
  EXPECT_EQ(read_file(dir / "fp16" / "config.json"), read_file(dir / "base" / "config.json"));
}

TEST(HfFolderWriter, AnUncommittedWriteLeavesNoFolderAndAnExistingOneIsAnError) {
  TempDir dir;
  auto base = fs::path(stories());
  {
    checkpoint::HfFolderWriter writer(base, dir / "out");
    writer.begin_shards(2);
    writer.write_shard({{"a", at::ones({2})}});
    // destroyed before commit: an error on the way
  }
  EXPECT_TRUE(fs::is_empty(dir.path())) << "staging folder left behind";
  {
    checkpoint::HfFolderWriter writer(base, dir / "out");
    writer.begin_shards(1);
    writer.write_shard({{"a", at::ones({2})}});
    writer.commit();
  }
  EXPECT_TRUE(fs::exists(dir / "out" / "model.safetensors"));  // one shard: no index, as HF
  EXPECT_FALSE(fs::exists(dir / "out" / "model.safetensors.index.json"));
  try {
    checkpoint::HfFolderWriter again(base, dir / "out");
    FAIL() << "an existing folder was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exists already"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace automodel
