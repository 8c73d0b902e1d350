// A minimal module tree: parameters and submodules registered by name, so that full dotted
// names equal HF's parameter names and weights load by name. Forward code is plain ATen ops.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace automodel::models {

struct NamedParameter {
  std::string name;
  at::Tensor* tensor;  // owned by its module; stable address
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  std::vector<NamedParameter> named_parameters() const;
  std::vector<std::pair<std::string, Module*>> named_modules();
  Module* find_module(const std::string& dotted_name);
  int64_t num_parameters() const;
  void set_training(bool training);
  bool training() const { return training_; }

 protected:
  at::Tensor* add_parameter(std::string name, at::Tensor value);
  template <typename M>
  M* add_module(std::string name, std::unique_ptr<M> module) {
    M* raw = module.get();
    children_.emplace_back(std::move(name), std::move(module));
    return raw;
  }

 private:
  void collect(const std::string& prefix, std::vector<NamedParameter>& out) const;
  std::vector<std::pair<std::string, std::unique_ptr<at::Tensor>>> params_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  bool training_ = false;
};

// Children named "0", "1", ... like torch.nn.ModuleList.
template <typename M>
class ModuleList : public Module {
 public:
  M* append(std::unique_ptr<M> module) {
    items_.push_back(add_module(std::to_string(items_.size()), std::move(module)));
    return items_.back();
  }
  M& operator[](size_t i) const { return *items_[i]; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<M*> items_;
};

}  // namespace automodel::models
