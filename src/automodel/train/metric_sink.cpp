#include "automodel/train/metric_sink.h"

namespace automodel::train {

std::vector<std::pair<std::string, double>> step_scalars(const StepMetrics& m) {
  std::vector<std::pair<std::string, double>> out = {
      {"loss", m.loss}, {"grad_norm", m.grad_norm}, {"lr", m.lr}, {"tps", m.tps}, {"tps_per_gpu", m.tps}};
  if (m.mfu) out.emplace_back("mfu", *m.mfu);
  out.emplace_back("mem", m.mem_gib);
  out.emplace_back("num_label_tokens", static_cast<double>(m.num_label_tokens));
  return out;
}

}  // namespace automodel::train
