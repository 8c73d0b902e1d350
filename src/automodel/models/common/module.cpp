#include "automodel/models/common/module.h"

#include <cxxabi.h>

#include <cstdlib>

#include "automodel/common/error.h"

namespace automodel::models {

std::string type_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  return out;
}

at::Tensor* Module::add_parameter(std::string name, at::Tensor value) {
  params_.push_back({std::move(name), std::make_unique<at::Tensor>(std::move(value)), true});
  return params_.back().tensor.get();
}

at::Tensor* Module::add_buffer(std::string name, at::Tensor value) {
  params_.push_back({std::move(name), std::make_unique<at::Tensor>(std::move(value)), false});
  return params_.back().tensor.get();
}

void Module::collect(const std::string& prefix, std::vector<NamedParameter>& out) const {
  for (const auto& p : params_) out.push_back({prefix + p.name, p.tensor.get(), p.trainable});
  for (const auto& c : children_) c.module->collect(c.name.empty() ? prefix : prefix + c.name + ".", out);
}

std::vector<NamedParameter> Module::named_parameters() const {
  std::vector<NamedParameter> out;
  collect("", out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& c : children_) {
    for (auto& [sub, module] : c.module->named_modules()) {
      // An inline child is not listed itself: under its name stands the module that holds it.
      if (c.name.empty() && sub.empty()) continue;
      out.emplace_back(c.name.empty() ? sub : sub.empty() ? c.name : c.name + "." + sub, module);
    }
  }
  return out;
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  auto all = const_cast<Module*>(this)->named_modules();  // the same walk, handed out read-only
  return {all.begin(), all.end()};
}

void Module::children_named(const std::string& name, std::vector<std::pair<Module*, size_t>>& out) {
  for (size_t i = 0; i < children_.size(); ++i)
    if (!children_[i].name.empty() && children_[i].name == name) out.emplace_back(this, i);
  for (auto& c : children_)
    if (c.name.empty()) c.module->children_named(name, out);
}

std::pair<Module*, size_t> Module::locate(const std::string& dotted_name) {
  const auto dot = dotted_name.find('.');
  std::vector<std::pair<Module*, size_t>> candidates;
  children_named(dotted_name.substr(0, dot), candidates);
  for (const auto& [owner, index] : candidates) {
    if (dot == std::string::npos) return {owner, index};
    if (auto found = owner->child_at(index)->locate(dotted_name.substr(dot + 1)); found.first) return found;
  }
  return {nullptr, 0};
}

Module& Module::container(const std::string& name) {
  for (auto& c : children_)
    if (c.name == name) return *c.module;
  add_module(name, std::make_unique<Module>());
  return *children_.back().module;
}

Module* Module::find_module(const std::string& dotted_name) {
  if (dotted_name.empty()) return this;
  auto [owner, index] = locate(dotted_name);
  return owner ? owner->child_at(index) : nullptr;
}

std::unique_ptr<Module> Module::replace_module(const std::string& dotted_name, std::unique_ptr<Module> replacement) {
  AM_CHECK(replacement, "[models] replace_module('{}'): the replacement is null", dotted_name);
  auto [owner, index] = dotted_name.empty() ? std::pair<Module*, size_t>{nullptr, 0} : locate(dotted_name);
  AM_CHECK(owner, "[models] replace_module: no module '{}' to replace", dotted_name);
  auto& child = owner->children_[index];
  const Module &old = *child.module, &next = *replacement;
  AM_CHECK(child.accepts(next), "[models] replace_module('{}'): expected a {} (what its parent calls), found a {} "
           "(the module there now is a {})", dotted_name, type_name(*child.slot_type), type_name(typeid(next)),
           type_name(typeid(old)));
  std::swap(child.module, replacement);
  return replacement;
}

void Module::export_parameters(const std::string& prefix, const NameFilter& include, NamedTensors& out) const {
  for (const auto& p : params_)
    if (!include || include(prefix + p.name)) out.emplace_back(prefix + p.name, *p.tensor);
  for (const auto& c : children_)
    c.module->export_parameters(c.name.empty() ? prefix : prefix + c.name + ".", include, out);
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : named_parameters()) n += p.tensor->numel();
  return n;
}

void Module::set_training(bool training) {
  training_ = training;
  for (auto& c : children_) c.module->set_training(training);
}

}  // namespace automodel::models
