#include "automodel/tokenizer/jinja/limits.h"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>

#include "automodel/common/error.h"

namespace automodel::tokenizer::jinja {
namespace {

thread_local RenderBudget* g_current = nullptr;

uintptr_t stack_pointer() {
  volatile char marker = 0;
  return reinterpret_cast<uintptr_t>(&marker);
}

// Stack still free below `sp` on this thread (the stack grows down on every platform we build for).
size_t free_stack_below(uintptr_t sp) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return kMaxRenderStackBytes;
  void* low = nullptr;
  size_t size = 0;
  int rc = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0 || low == nullptr) return kMaxRenderStackBytes;
  auto bottom = reinterpret_cast<uintptr_t>(low);
  return sp > bottom ? sp - bottom : 0;
}

}  // namespace

void limit_error(const std::string& message) { throw Error("[chat template] " + message); }

RenderBudget::RenderBudget() : previous_(g_current), stack_base_(stack_pointer()) {
  // Half of what is left leaves room for the filters and library code below the deepest check.
  stack_limit_ = std::min(kMaxRenderStackBytes, free_stack_below(stack_base_) / 2);
  g_current = this;
}

RenderBudget::~RenderBudget() { g_current = previous_; }

RenderBudget* RenderBudget::current() { return g_current; }

void RenderBudget::check_stack() const {
  uintptr_t sp = stack_pointer();
  if (sp < stack_base_ && stack_base_ - sp > stack_limit_)
    limit_error(fmt::format("RecursionError: the template nests too deeply (more than {} KiB of stack for macro calls, "
                            "blocks and expressions)",
                            stack_limit_ >> 10));
}

void RenderBudget::steps_exhausted() const {
  limit_error(fmt::format("resource limit: the render took more than {} steps (a loop or recursion that does too much "
                          "work for a chat template)",
                          kMaxSteps));
}

void RenderBudget::built_exhausted() const {
  limit_error(fmt::format("MemoryError: the render built more than {} MiB of strings and lists", kMaxBuiltBytes >> 20));
}

void charge_steps(uint64_t n) {
  if (g_current) g_current->step(n);
}

void check_string_size(size_t bytes, const char* what) {
  if (bytes > kMaxStringBytes)
    limit_error(fmt::format("MemoryError: {} would make a string of {} bytes, more than the limit of {} MiB", what, bytes,
                            kMaxStringBytes >> 20));
}

void check_list_size(size_t items, const char* what) {
  if (items > kMaxListItems)
    limit_error(fmt::format("MemoryError: {} would make {} items, more than the limit of {}", what, items, kMaxListItems));
}

void charge_string(size_t bytes) {
  if (!g_current) return;
  g_current->built(bytes);
  g_current->step(bytes >> 12);  // copying is cheap, but not free
}

void charge_items(size_t items, uint64_t bytes) {
  if (!g_current) return;
  g_current->built(bytes + items * 64);  // 64: about a Value's own size
  g_current->step(items);
}

}  // namespace automodel::tokenizer::jinja
