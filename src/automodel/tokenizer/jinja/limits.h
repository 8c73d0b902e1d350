// The template sandbox's budgets: templates come from any downloaded model, so every recursion,
// loop, allocation and output is bounded and its exhaustion is a clear error, never a crash,
// hang or out-of-memory. Limits sit far above what real chat templates use (see
// docs/tokenizers-and-chat-templates.md) and are checked through the thread's current render.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace automodel::tokenizer::jinja {

// Parse time.
inline constexpr int kMaxExprDepth = 128;          // nested sub-expressions (any operator, filter, subscript)
inline constexpr int kMaxBlockDepth = 100;         // nested {% if/for/macro/... %} blocks
inline constexpr int kMaxIntLiteralDigits = 4300;  // Python's int_max_str_digits
// Render time.
inline constexpr int kMaxCallDepth = 100;                  // nested macro / caller() calls
inline constexpr size_t kMaxRenderStackBytes = 4u << 20;   // C++ stack the renderer may use
inline constexpr uint64_t kMaxSteps = 20'000'000;          // evaluated expressions + executed nodes + items
inline constexpr size_t kMaxOutputBytes = 64u << 20;       // rendered text (and any captured block)
inline constexpr size_t kMaxStringBytes = 64u << 20;       // any one string value
inline constexpr size_t kMaxListItems = 1'000'000;         // any one list, dict or iteration
inline constexpr uint64_t kMaxBuiltBytes = 1ull << 30;     // bytes of strings/lists built in one render
inline constexpr int kMaxValueDepth = 256;                 // nesting of lists/dicts (and JSON input)
inline constexpr size_t kMaxIntBits = 1u << 16;            // |integer| < 2^65536
inline constexpr int64_t kMaxRange = 100'000;              // jinja2's sandbox MAX_RANGE

// Thrown as automodel::Error "[chat template] <message>"; the renderer adds label and line.
[[noreturn]] void limit_error(const std::string& message);

// Budgets of one render; installed as the thread's current one for its lifetime.
class RenderBudget {
 public:
  RenderBudget();
  ~RenderBudget();
  RenderBudget(const RenderBudget&) = delete;
  RenderBudget& operator=(const RenderBudget&) = delete;

  static RenderBudget* current();
  void step(uint64_t n = 1) {
    steps_ += n;
    if (steps_ > kMaxSteps) steps_exhausted();
  }
  void built(uint64_t bytes) {
    built_ += bytes;
    if (built_ > kMaxBuiltBytes) built_exhausted();
  }
  // Throws when the stack in use since construction exceeds the budget (deep recursion).
  void check_stack() const;

 private:
  [[noreturn]] void steps_exhausted() const;
  [[noreturn]] void built_exhausted() const;
  RenderBudget* previous_;
  uint64_t steps_ = 0, built_ = 0;
  uintptr_t stack_base_;
  size_t stack_limit_;
};

// No-ops outside a render (parse-time constant folding, tests of the helpers).
void charge_steps(uint64_t n);
// Per-value limits, checked before building: `what` names the operation in the error.
void check_string_size(size_t bytes, const char* what);
void check_list_size(size_t items, const char* what);
// Charges the current render for a string of `bytes` / `items` list items (or iterations) built.
void charge_string(size_t bytes);
void charge_items(size_t items, uint64_t bytes = 0);

}  // namespace automodel::tokenizer::jinja
