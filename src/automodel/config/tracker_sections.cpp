#include "automodel/config/tracker_sections.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "automodel/common/error.h"
#include "automodel/hf/json_fields.h"

namespace automodel::config {
namespace {

// The section's fields; an empty (null) section reads as {} (all defaults).
hf::JsonFields section(const hf::JsonFields& root, const std::string& name) {
  if (root.has(name)) return root.child(name);
  return hf::JsonFields(std::make_shared<const nlohmann::json>(nlohmann::json::object()), root.label(), name + ".");
}

}  // namespace

TensorBoardSection parse_tensorboard(const hf::JsonFields& root, const std::string& checkpoint_dir) {
  auto f = section(root, "tensorboard");
  TensorBoardSection s;
  s.log_dir = f.get_string("log_dir", (std::filesystem::path(checkpoint_dir) / "tensorboard").string());
  s.name = f.get_string("name", "");
  AM_CHECK(!s.log_dir.empty(), "[config] {}: expected a folder, found an empty string", f.where("log_dir"));
  AM_CHECK(std::filesystem::path(s.name).is_relative(), "[config] {}: expected a sub-folder name, found the absolute "
           "path '{}' (set log_dir instead)", f.where("name"), s.name);
  return s;
}

}  // namespace automodel::config
