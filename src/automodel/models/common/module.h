// A minimal module tree: parameters and submodules registered by name, so that full dotted
// names equal HF's parameter names and weights load by name. Forward code is plain ATen ops.
// Children can be replaced (peft wrappers, parallel layers) through replace_module().
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

namespace automodel::models {

struct NamedParameter {
  std::string name;
  at::Tensor* tensor;     // owned by its module; stable address
  bool trainable = true;  // false: a persistent buffer (loaded and saved, never trained)
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
using NameFilter = std::function<bool(const std::string&)>;  // empty: every name

class Module;

// A parent's typed handle on one of its children. It looks the child up in the parent's table at
// each use (two loads), so a replace_module() takes effect in the parent's forward and nothing
// dangles; the parent's declared T is what a replacement must be.
template <typename T>
class Slot {
 public:
  Slot() = default;
  T* get() const;
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  explicit operator bool() const { return owner_ != nullptr; }

 private:
  friend class Module;
  Slot(const Module* owner, size_t index) : owner_(owner), index_(index) {}
  const Module* owner_ = nullptr;
  size_t index_ = 0;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  std::vector<NamedParameter> named_parameters() const;
  std::vector<std::pair<std::string, Module*>> named_modules();
  std::vector<std::pair<std::string, const Module*>> named_modules() const;
  Module* find_module(const std::string& dotted_name);
  int64_t num_parameters() const;
  void set_training(bool training);
  bool training() const { return training_; }

  // Puts `replacement` where the descendant `dotted_name` is and returns the module it replaced.
  // The replacement must be of the type its parent declared the Slot with; otherwise this is an
  // error naming both types, and nothing changes.
  std::unique_ptr<Module> replace_module(const std::string& dotted_name, std::unique_ptr<Module> replacement);

  // Appends the tensors an exported checkpoint holds for this subtree (names `prefix` + ...),
  // those `include` accepts: by default every parameter as it is. A module whose parameters are
  // stored differently in the original format overrides it (peft's wrappers merge themselves).
  virtual void export_parameters(const std::string& prefix, const NameFilter& include, NamedTensors& out) const;

 protected:
  at::Tensor* add_parameter(std::string name, at::Tensor value);
  // A tensor HF keeps as a persistent buffer (e.g. a router's e_score_correction_bias): in the
  // checkpoint and in named_parameters(), but marked not trainable.
  at::Tensor* add_buffer(std::string name, at::Tensor value);
  // Registers a child under `name`. T is what this parent relies on (a replacement must be a T);
  // pass it explicitly to accept more than the concrete class: add_module<LinearLayer>(...).
  // A dotted name nests it in plain containers ("model.language_model": a VLM's text body).
  template <typename T>
  Slot<T> add_module(std::string name, std::unique_ptr<T> module) {
    if (auto dot = name.find('.'); dot != std::string::npos)
      return container(name.substr(0, dot)).add_module(name.substr(dot + 1), std::move(module));
    children_.push_back({std::move(name), std::move(module), &is_a<T>, &typeid(T)});
    return Slot<T>(this, children_.size() - 1);
  }
  // A child whose parameters and submodules are named as this module's own: a wrapper's wrapped
  // module keeps its names ("q_proj.weight", not "q_proj.base.weight").
  template <typename T>
  Slot<T> add_inline_module(std::unique_ptr<T> module) {
    return add_module(std::string(), std::move(module));
  }
  Module* child_at(size_t index) const { return children_[index].module.get(); }
  // The child `name` when it exists, else a new empty Module registered under it.
  Module& container(const std::string& name);
  size_t num_children() const { return children_.size(); }

 private:
  template <typename>
  friend class Slot;
  struct Child {
    std::string name;  // empty: inline (see add_inline_module)
    std::unique_ptr<Module> module;
    bool (*accepts)(const Module&);   // is it of the Slot's type
    const std::type_info* slot_type;  // for errors
  };
  template <typename T>
  static bool is_a(const Module& m) {
    return dynamic_cast<const T*>(&m) != nullptr;
  }
  // The child entries named `name` of this module and of its inline children: a name can be in
  // both (a VLM's "model" container holds its vision parts, its inline language model's "model"
  // the decoder), so a dotted name is resolved by trying each.
  void children_named(const std::string& name, std::vector<std::pair<Module*, size_t>>& out);
  std::pair<Module*, size_t> locate(const std::string& dotted_name);
  void collect(const std::string& prefix, std::vector<NamedParameter>& out) const;
  struct Param {
    std::string name;
    std::unique_ptr<at::Tensor> tensor;
    bool trainable;
  };
  std::vector<Param> params_;
  std::vector<Child> children_;
  bool training_ = false;
};

template <typename T>
T* Slot<T>::get() const {
  // The static cast is safe: replace_module() admits only modules that are a T here.
  return owner_ ? static_cast<T*>(owner_->child_at(index_)) : nullptr;
}

// Children named "0", "1", ... like torch.nn.ModuleList.
template <typename M>
class ModuleList : public Module {
 public:
  void append(std::unique_ptr<M> module) { add_module(std::to_string(num_children()), std::move(module)); }
  M& operator[](size_t i) const { return *static_cast<M*>(child_at(i)); }
  size_t size() const { return num_children(); }
};

// A readable name of a module's dynamic type for error messages ("automodel::models::Linear").
std::string type_name(const std::type_info& type);

}  // namespace automodel::models
