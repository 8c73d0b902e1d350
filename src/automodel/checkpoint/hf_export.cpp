#include "automodel/checkpoint/hf_export.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <map>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/common/logging.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/models/common/weights.h"

namespace fs = std::filesystem;

namespace automodel::checkpoint {
namespace {

// Files of a model folder besides config.json, generation_config.json and the weights: the
// tokenizer (fast, slow and SentencePiece forms), chat templates, and a VLM's processor.
constexpr const char* kMetadataFiles[] = {
    "tokenizer.json",          "tokenizer_config.json",   "special_tokens_map.json", "tokenizer.model",
    "vocab.json",              "merges.txt",              "added_tokens.json",       "chat_template.jinja",
    "chat_template.json",      "preprocessor_config.json", "processor_config.json"};

// config.json's name for a dtype (torch's, without "torch.").
const char* config_dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kFloat: return "float32";
    default: AM_FAIL("[export] no HF folder is written in {}; expected bf16, fp16 or fp32", scalar_type_name(dtype));
  }
}

nlohmann::ordered_json read_json(const fs::path& path) {
  return parse_ordered_json(read_file(path), path.string());
}

// Sets the dtype field(s) of a config object; true when something changed. transformers v4
// writes `torch_dtype`, v5 `dtype`: whichever the base has is kept; neither gets `torch_dtype`,
// which both read.
bool set_dtype_fields(nlohmann::ordered_json& config, const std::string& name, bool add_if_absent) {
  bool changed = false, present = false;
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!config.contains(key) || config[key].is_null()) continue;
    present = true;
    if (config[key] != name) config[key] = name, changed = true;
  }
  if (!present && add_if_absent) config["torch_dtype"] = name, changed = true;
  return changed;
}

void write_config(const fs::path& base, const fs::path& dest, at::ScalarType dtype) {
  const auto source = base / "config.json";
  AM_CHECK(fs::is_regular_file(source), "[export] {}: no config.json to write beside the weights", base.string());
  auto text = read_file(source);
  auto config = read_json(source);
  AM_CHECK(config.is_object(), "[export] {}: expected a JSON object", source.string());
  const std::string name = config_dtype_name(dtype);
  bool changed = set_dtype_fields(config, name, true);
  // Composite models (VLMs) repeat it in their sub-configs (text_config, vision_config, ...).
  for (auto& [key, value] : config.items())
    if (value.is_object()) changed |= set_dtype_fields(value, name, false);
  // FP8 block-quantized weights were dequantized on load: what is written is `dtype`.
  for (auto* object : {&config, config.contains("text_config") ? &config["text_config"] : nullptr})
    if (object && object->is_object() && object->contains("quantization_config")) {
      object->erase("quantization_config");
      changed = true;
      log_info("[export] {}: the base's FP8 weights are written dequantized, in {} (quantization_config dropped)",
               dest.string(), name);
    }
  write_file_atomic(dest / "config.json", changed ? config.dump(2) + "\n" : text);
}

// generation_config.json: the base's, or what transformers derives from config.json without one.
void write_generation_config(const fs::path& base, const fs::path& dest) {
  if (fs::is_regular_file(base / "generation_config.json")) {
    write_file_atomic(dest / "generation_config.json", read_file(base / "generation_config.json"));
    return;
  }
  auto config = read_json(base / "config.json");
  nlohmann::ordered_json out = {{"_from_model_config", true}};
  for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"})
    if (config.contains(key) && !config[key].is_null()) out[key] = config[key];
  write_file_atomic(dest / "generation_config.json", out.dump(2) + "\n");
}

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

at::ScalarType hf_export_dtype(const fs::path& base_folder) {
  auto config = hf::load_model_config(base_folder);
  auto dtype = config.dtype ? to_scalar_type(*config.dtype) : at::kFloat;
  return dtype == at::kBFloat16 || dtype == at::kHalf ? dtype : at::kFloat;
}

NamedTensors in_dtype(NamedTensors named, at::ScalarType dtype) {
  for (auto& [name, tensor] : named) tensor = tensor.to(dtype);
  return named;
}

void write_hf_metadata(const fs::path& base, const fs::path& dest, at::ScalarType dtype) {
  fs::create_directories(dest);
  write_config(base, dest, dtype);
  write_generation_config(base, dest);
  for (const char* name : kMetadataFiles)
    if (fs::is_regular_file(base / name)) write_file_atomic(dest / name, read_file(base / name));
  // Named chat templates, one file each (as transformers saves them).
  if (fs::is_directory(base / "additional_chat_templates")) {
    fs::create_directories(dest / "additional_chat_templates");
    for (const auto& entry : fs::directory_iterator(base / "additional_chat_templates"))
      if (entry.is_regular_file())
        write_file_atomic(dest / "additional_chat_templates" / entry.path().filename(), read_file(entry.path()));
  }
}

HfFolderWriter::HfFolderWriter(fs::path base, fs::path out)
    : base_(std::move(base)), out_(std::move(out)), dtype_(hf_export_dtype(base_)) {
  AM_CHECK(!fs::exists(out_), "[export] {} exists already; remove it or choose another output folder", out_.string());
  AM_CHECK(fs::absolute(out_).lexically_normal() != fs::absolute(base_).lexically_normal(),
           "[export] the output folder must differ from the base model folder {}", base_.string());
  // Written beside its destination, then renamed: an interrupted write leaves no half folder.
  staging_ = out_.parent_path() / fmt::format(".{}.tmp-{}", out_.filename().string(), ::getpid());
  fs::remove_all(staging_);
  fs::create_directories(staging_);
}

HfFolderWriter::~HfFolderWriter() {
  if (committed_) return;
  std::error_code ignored;
  fs::remove_all(staging_, ignored);
}

void HfFolderWriter::carry_foreign_tensors(const models::CausalLM& model) {
  AM_CHECK(!wrote_ && !shards_, "[export] {}: foreign tensors are chosen before the weights are written", out_.string());
  auto base = std::make_shared<hf::SafetensorsCheckpoint>(hf::SafetensorsCheckpoint::open(base_));
  std::map<std::string, int64_t> parts;
  for (const auto& name : base->names())
    if (auto part = model.foreign_part(name); !part.empty()) {
      carried_.push_back(name);
      ++parts[part];
    }
  if (carried_.empty()) return;
  base_weights_ = std::move(base);
  for (const auto& [part, count] : parts)
    log_info("[export] {}: {} tensor(s) under '{}' carried unchanged from {}", out_.string(), count, part,
             base_.string());
}

NamedTensors HfFolderWriter::carried_tensors() const {
  NamedTensors out;
  for (const auto& name : carried_) out.emplace_back(name, borrow_view(base_weights_->get(name)));
  return out;
}

void HfFolderWriter::write(NamedTensors named) {
  AM_CHECK(!wrote_ && !shards_, "[export] {}: the weights are written once", out_.string());
  named = in_dtype(std::move(named), dtype_);
  for (auto& carried : carried_tensors()) named.push_back(std::move(carried));
  models::save_tensors(named, staging_, kMaxShardBytes, "model");
  wrote_ = true;
}

void HfFolderWriter::begin_shards(size_t num_shards) {
  AM_CHECK(!wrote_ && !shards_ && num_shards > 0, "[export] {}: the weights are written once", out_.string());
  // The carried tensors are one more shard, written at commit.
  shards_ = std::make_unique<hf::ShardedSafetensorsWriter>(staging_, num_shards + (carried_.empty() ? 0 : 1));
}

void HfFolderWriter::write_shard(NamedTensors group) {
  AM_CHECK(shards_ != nullptr, "[export] {}: begin_shards() comes before write_shard()", out_.string());
  models::write_tensors_shard(*shards_, in_dtype(std::move(group), dtype_));
}

fs::path HfFolderWriter::commit() {
  AM_CHECK(!committed_, "[export] {}: committed twice", out_.string());
  if (shards_) {
    if (!carried_.empty()) models::write_tensors_shard(*shards_, carried_tensors());
    shards_->finish();
    wrote_ = true;
  }
  AM_CHECK(wrote_, "[export] {}: no weights were written", out_.string());
  write_hf_metadata(base_, staging_, dtype_);
  fsync_path(staging_);
  fs::rename(staging_, out_);
  fsync_path(out_.parent_path().empty() ? fs::path(".") : out_.parent_path());
  committed_ = true;
  return out_;
}

}  // namespace automodel::checkpoint
