// Experiment tracker sections of a recipe (`tensorboard:`, `mlflow:`), typed. A section that is
// present (even empty) turns its tracker on; rank 0 writes.
#pragma once

#include <string>

namespace automodel::hf {
class JsonFields;
}

namespace automodel::config {

// AutoModel 0.7 has no tensorboard section; the keys are Lightning's TensorBoardLogger's
// (events go to log_dir/name/).
struct TensorBoardSection {
  std::string log_dir;  // default: <checkpoint_dir>/tensorboard
  std::string name;     // optional sub-folder, one per run to compare several
};

// Reads the section's keys (recorded as read for the "no effect" report); call it when the
// recipe has the section.
TensorBoardSection parse_tensorboard(const hf::JsonFields& root, const std::string& checkpoint_dir);

}  // namespace automodel::config
