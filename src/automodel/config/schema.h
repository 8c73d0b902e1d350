// The recipe schema we accept: AutoModel's sections and keys, and the one table that maps
// AutoModel `_target_` names to our components.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace automodel::config {

// What a `_target_` resolves to.
enum class Component {
  kCausalLM,
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
  kCollater,
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

// What a recipe key does here (issue: no key accepted without effect).
enum class KeyUse {
  kEffect,     // read and acted on
  kValidated,  // read and checked against what this build does (e.g. amsgrad must be false)
  kNoEffect,   // accepted and reported at start with `reason`
};

struct KeySpec {
  std::string name;
  KeyUse use;
  std::string reason;  // for kNoEffect
};

// Every section and its keys. A value section (seed: 42) lists itself as its one key; a section
// whose one key is "*" takes any key.
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

}  // namespace automodel::config
