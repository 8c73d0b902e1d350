// The recipe schema we accept: AutoModel's sections and keys, and the one table that maps
// AutoModel `_target_` names to our components.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "automodel/config/key.h"

namespace automodel::config {

// What a `_target_` resolves to.
enum class Component {
  kCausalLM,
  kImageTextToText,  // a VLM (FinetuneRecipeForVLM)
  kLora,
  kMaskedCrossEntropy,
  kChunkedCrossEntropy,
  kAdam,
  kAdamW,
  kColumnMappedDataset,
  kChatDataset,
  kSquadDataset,
  kHellaSwagDataset,
  kTextDataset,
  kMockDataset,
  // VLM rows (data/vlm_dataset.h): conversations with images, and AutoModel's builders.
  kVlmConversationDataset,
  kVlmRdrDataset,
  kVlmCordV2Dataset,
  kVlmMedpixDataset,
  kCollater,
  kVlmCollate,
  kProcessor,
  kDataLoader,
  kFsdp2,
  kDdp,
  kStatefulRng,
};

struct TargetEntry {
  std::string name;  // AutoModel's dotted name
  std::string section;  // where it may appear ("dataset" also covers validation_dataset)
  Component component;
};

// A section as the schema and the docs see it (the typed declarations: section_keys.h).
struct SectionSpec {
  std::string name;
  std::string doc;
  std::vector<KeySpec> keys;
  std::string same_keys_as;  // validation_dataset: "dataset" (the docs print its table once)
};

// Every section, in the order the docs list them.
const std::vector<SectionSpec>& recipe_sections();

// Every section and its keys, from recipe_sections(). A value section (seed: 42) lists itself as
// its one key; a section with a "*" key takes any key.
const std::map<std::string, std::vector<KeySpec>>& recipe_keys();

// "accepted, no effect here: KEY (reason)" for every key of `tree` the schema accepts that did not
// take effect: kNoEffect keys, and keys that are read only in other setups (absent from `read`,
// the "section.key" names the parser read).
std::vector<std::string> keys_without_effect(const nlohmann::json& tree, const std::set<std::string>& read);

const std::vector<TargetEntry>& target_table();
// Resolves `name` (the full dotted name, or its last part) for `section`; error names the
// field, the value and the nearest valid name, and lists the valid ones.
Component resolve_target(const std::string& section, const std::string& name, const std::string& where);

// Checks every section and key against the schema (recursively for known nested maps). A name
// close to a known one is a typo: an error suggesting it. Other unknown names (options of a newer
// AutoModel, logger sections) are returned as notes and ignored. Sections of features this build
// lacks (fp8, qat, ...) are errors when enabled.
std::vector<std::string> validate_schema(const nlohmann::json& tree, const std::string& label);

// docs/recipe-keys.md: every section and key with its type, default, use and doc.
std::string recipe_keys_markdown();

}  // namespace automodel::config
