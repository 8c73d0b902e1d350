#include "automodel/models/common/module.h"

namespace automodel::models {

at::Tensor* Module::add_parameter(std::string name, at::Tensor value) {
  params_.emplace_back(std::move(name), std::make_unique<at::Tensor>(std::move(value)));
  return params_.back().second.get();
}

void Module::collect(const std::string& prefix, std::vector<NamedParameter>& out) const {
  for (const auto& [name, tensor] : params_) out.push_back({prefix + name, tensor.get()});
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<NamedParameter> Module::named_parameters() const {
  std::vector<NamedParameter> out;
  collect("", out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, module] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, module);
  return out;
}

Module* Module::find_module(const std::string& dotted_name) {
  for (auto& [name, module] : named_modules())
    if (name == dotted_name) return module;
  return nullptr;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : named_parameters()) n += p.tensor->numel();
  return n;
}

void Module::set_training(bool training) {
  training_ = training;
  for (auto& [_, child] : children_) child->set_training(training);
}

}  // namespace automodel::models
