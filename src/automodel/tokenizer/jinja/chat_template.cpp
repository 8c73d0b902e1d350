#include "automodel/tokenizer/chat_template.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "automodel/common/error.h"
#include "automodel/tokenizer/jinja/arithmetic.h"
#include "automodel/tokenizer/jinja/ast.h"
#include "automodel/tokenizer/jinja/builtins.h"
#include "automodel/tokenizer/jinja/limits.h"
#include "automodel/tokenizer/jinja/parser.h"
#include "automodel/tokenizer/unicode.h"

namespace automodel::tokenizer {
namespace jinja {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error("[chat template] " + message); }

using Frame = std::unordered_map<std::string, Value>;

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) fail(fmt::format("TypeError: 'in <string>' requires string as left operand, not {}", item.type_name()));
    return find_text(container.s, item.s) != std::string::npos;
  }
  if (container.is_list()) {  // no copy of the list
    charge_steps(container.list->size());
    for (const auto& v : *container.list)
      if (values_equal(v, item)) return true;
    return false;
  }
  if (container.is_mapping()) return container.dict->find(item) != nullptr;
  if (container.is_undefined()) return false;  // Undefined iterates as empty
  for (const auto& v : iterate(container))
    if (values_equal(v, item)) return true;
  return false;
}

Value slice(const Value& target, const Value& start_v, const Value& stop_v, const Value& step_v) {
  // Strings slice by code point; lists are indexed in place (no copy of the whole list).
  std::vector<char32_t> cps;
  if (target.is_string()) cps = decode_utf8(target.s);
  else if (!target.is_list()) cps.clear();
  std::vector<Value> other = target.is_string() || target.is_list() ? std::vector<Value>() : iterate(target);
  const ValueList& items = target.is_list() ? *target.list : other;
  int64_t n = static_cast<int64_t>(target.is_string() ? cps.size() : items.size());
  // Python clamps out-of-range bounds, so a bound beyond 64 bits acts as +-infinity.
  auto as_bound = [](const Value& v) { return v.big ? v.i : (v.kind == Value::Kind::kBool ? int64_t{v.b} : v.i); };
  int64_t step = step_v.is_none() || step_v.is_undefined() ? 1 : as_bound(step_v);
  if (step == 0) fail("ValueError: slice step cannot be zero");
  if (step == std::numeric_limits<int64_t>::min()) step = -std::numeric_limits<int64_t>::max();
  auto norm = [&](const Value& v, int64_t fallback) {
    if (v.is_none() || v.is_undefined()) return fallback;
    int64_t x = as_bound(v);
    if (x < 0) x = x < -n ? -n - 1 : x + n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t start = norm(start_v, step > 0 ? 0 : n - 1), stop = norm(stop_v, step > 0 ? n : -1);
  std::vector<size_t> picked;
  // k moves toward stop and stays within [-1, n]: no overflow even for huge steps.
  for (int64_t k = start; step > 0 ? k < stop : k > stop;) {
    picked.push_back(static_cast<size_t>(k));
    if (step > 0 ? stop - k <= step : k - stop <= -step) break;
    k += step;
  }
  charge_items(picked.size());
  if (target.is_string()) {
    std::string s;
    for (size_t k : picked) append_utf8(s, cps[k]);
    return Value::string(s);
  }
  ValueList out;
  out.reserve(picked.size());
  for (size_t k : picked) out.push_back(items[k]);
  return Value::make_list(std::move(out));
}

class Renderer {
 public:
  Renderer(const Value& globals, Frame root) : globals_(globals) { frames_.push_back(std::make_shared<Frame>(std::move(root))); }

  void render(const Body& body, RenderResult& result) {
    result_ = &result;
    out_ = &result.text;
    exec_body(body);
  }
  int line() const { return line_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Value lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      auto found = (*it)->find(name);
      if (found != (*it)->end()) return found->second;
    }
    if (const Value* g = globals_.dict->find(name)) return *g;
    return Value::undefined(fmt::format("'{}' is undefined", name));
  }
  void assign(const std::string& name, Value v) { (*frames_.back())[name] = std::move(v); }

  CallArgs eval_args(const Expr& e) {
    CallArgs args;
    for (const auto& a : e.args) args.positional.push_back(eval(*a));
    for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v));
    return args;
  }

  Value eval_filter(const Expr& e, const Value* input) {
    Value target = e.a ? eval(*e.a) : (input ? *input : Value());
    if (!e.a && input == nullptr) fail("filter without input");
    if (e.a && input) target = eval_filter(*e.a, input);
    CallArgs args = eval_args(e);
    return apply_filter(e.name, target, args);
  }

  Value call(const Value& callee, CallArgs& args) {
    if (callee.is_undefined()) fail("UndefinedError: " + (callee.s.empty() ? "value is undefined" : callee.s));
    if (callee.kind != Value::Kind::kFunction) fail(fmt::format("TypeError: '{}' object is not callable", callee.type_name()));
    return (*callee.fn)(args);
  }

  // Macro and caller() bodies: recursion is how templates walk nested data, within bounds.
  struct CallDepth {
    int& depth;
    explicit CallDepth(int& d, const std::string& name) : depth(d) {
      if (++depth > kMaxCallDepth) {
        --depth;
        fail(fmt::format("RecursionError: macro calls nested deeper than {} (calling '{}')", kMaxCallDepth, name));
      }
    }
    ~CallDepth() { --depth; }
  };

  void append(const std::string& text) {
    if (out_->size() + text.size() > kMaxOutputBytes)
      fail(fmt::format("MemoryError: rendered text exceeds the limit of {} MiB", kMaxOutputBytes >> 20));
    *out_ += text;
  }

  // Strings are copied on every use: a big one used in a loop is charged like a new one.
  static Value copied(Value v) {
    if (v.s.size() > 256) charge_string(v.s.size());
    return v;
  }

  Value eval(const Expr& e) {
    using K = Expr::Kind;
    budget_.step();
    if (e.kind != K::kLiteral && e.kind != K::kName) budget_.check_stack();
    switch (e.kind) {
      case K::kLiteral: return e.literal;
      case K::kName: return copied(lookup(e.name));
      case K::kList: {
        ValueList items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        return Value::make_list(std::move(items));
      }
      case K::kDict: {
        ValueDict d;
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) d.set(eval(*e.args[k]), eval(*e.args[k + 1]));
        return Value::make_dict(std::move(d));
      }
      case K::kAttr: return copied(get_attribute(eval(*e.a), e.name));
      case K::kItem: return copied(get_item(eval(*e.a), eval(*e.b)));
      case K::kSlice: {
        auto bound = [&](size_t k) { return e.args[k] ? eval(*e.args[k]) : Value::none(); };
        return slice(eval(*e.a), bound(0), bound(1), bound(2));
      }
      case K::kCall: {
        Value callee = eval(*e.a);
        CallArgs args = eval_args(e);
        return call(callee, args);
      }
      case K::kFilter: return eval_filter(e, nullptr);
      case K::kTest: {
        Value target = eval(*e.a);
        CallArgs args = eval_args(e);
        return Value::boolean(apply_test(e.name, target, args) != e.negated);
      }
      case K::kNeg: return negate(eval(*e.a));
      case K::kNot: return Value::boolean(!eval(*e.a).truthy());
      case K::kAnd: {
        Value a = eval(*e.a);
        return a.truthy() ? eval(*e.b) : a;
      }
      case K::kOr: {
        Value a = eval(*e.a);
        return a.truthy() ? a : eval(*e.b);
      }
      case K::kCond: {
        if (eval(*e.b).truthy()) return eval(*e.a);
        return e.c ? eval(*e.c) : Value::undefined("the conditional expression had no else branch");
      }
      case K::kBinary: {
        Value a = eval(*e.a), b = eval(*e.b);
        const std::string& op = e.name;
        if (op == "~") {
          std::string left = a.str(), right = b.str();
          check_string_size(left.size() + right.size(), "'~'");
          charge_string(left.size() + right.size());
          return Value::string(left + right);
        }
        if (op == "==") return Value::boolean(values_equal(a, b));
        if (op == "!=") return Value::boolean(!values_equal(a, b));
        if (op == "<") return Value::boolean(compare_values(a, b) < 0);
        if (op == "<=") return Value::boolean(compare_values(a, b) <= 0);
        if (op == ">") return Value::boolean(compare_values(a, b) > 0);
        if (op == ">=") return Value::boolean(compare_values(a, b) >= 0);
        if (op == "in") return Value::boolean(contains(b, a));
        if (op == "not in") return Value::boolean(!contains(b, a));
        return binary_arithmetic(op, a, b);
      }
    }
    fail("unknown expression");
  }

  // Renders `body` into a fresh string (macros, set blocks, filter blocks, caller()).
  std::string capture(const Body& body) {
    std::string buffer;
    std::string* saved = out_;
    out_ = &buffer;
    bool saved_capturing = capturing_;
    capturing_ = true;
    try {
      exec_body(body);
    } catch (...) {
      out_ = saved;
      capturing_ = saved_capturing;
      throw;
    }
    out_ = saved;
    capturing_ = saved_capturing;
    return buffer;
  }

  Value make_macro(const Node& n) {
    // Weak: the macro is stored in the root frame, so a strong capture would be a cycle (leak).
    std::weak_ptr<Frame> weak_root = frames_.front();
    return Value::function([this, &n, weak_root](CallArgs& args) {
      auto root = weak_root.lock();
      if (!root) fail("macro called after its template finished rendering");
      auto frame = std::make_shared<Frame>();
      size_t positional = 0;
      for (size_t k = 0; k < n.params.size(); ++k) {
        const auto& [name, fallback] = n.params[k];
        Value v;
        bool found = false;
        for (auto& [kw, kv] : args.keyword)
          if (kw == name) v = kv, found = true;
        if (!found && positional < args.positional.size()) v = args.positional[positional++], found = true;
        if (!found) v = fallback ? eval(*fallback) : Value::undefined(fmt::format("'{}' is undefined", name));
        (*frame)[name] = v;
      }
      ValueList varargs(args.positional.begin() + static_cast<long>(std::min(positional, args.positional.size())), args.positional.end());
      (*frame)["varargs"] = Value::make_list(std::move(varargs));
      ValueDict kwargs;
      for (auto& [kw, kv] : args.keyword) {
        bool is_param = kw == "caller";
        for (auto& p : n.params) is_param |= p.first == kw;
        if (is_param) {
          if (kw == "caller") (*frame)["caller"] = kv;
        } else {
          kwargs.set(kw, kv);
        }
      }
      (*frame)["kwargs"] = Value::make_dict(std::move(kwargs));
      // Arguments are copied a few times per call (strings are values): charge them so deep
      // recursion with big arguments stops on the memory budget, not on the machine's.
      size_t bytes = 0;
      for (const auto& [name, v] : *frame) bytes += v.s.size();
      charge_string(4 * bytes);
      CallDepth guard(call_depth_, n.targets[0]);
      return Value::string(capture_in({root, frame}, n.body));
    });
  }

  // Renders `body` with `frames` as the scope (macro and caller() bodies), then restores it.
  std::string capture_in(std::vector<std::shared_ptr<Frame>> frames, const Body& body) {
    std::swap(frames, frames_);
    try {
      std::string text = capture(body);
      std::swap(frames, frames_);
      return text;
    } catch (...) {
      std::swap(frames, frames_);
      throw;
    }
  }

  Flow exec_body(const Body& body) {
    for (const auto& n : body) {
      Flow f = exec(*n);
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Flow exec_for(const Node& n) {
    Value iterable = eval(*n.expr);
    if (iterable.is_none()) fail("TypeError: 'NoneType' object is not iterable");
    std::vector<Value> items;
    auto bind = [&](Frame& frame, const Value& item) {
      if (n.targets.size() == 1) {
        frame[n.targets[0]] = item;
        return;
      }
      auto parts = iterate(item);
      if (parts.size() != n.targets.size())
        fail(fmt::format("ValueError: not enough values to unpack (expected {}, got {})", n.targets.size(), parts.size()));
      for (size_t k = 0; k < parts.size(); ++k) frame[n.targets[k]] = parts[k];
    };
    for (auto& item : iterate(iterable)) {
      if (n.condition) {
        frames_.push_back(std::make_shared<Frame>());
        bind(*frames_.back(), item);
        bool keep = eval(*n.condition).truthy();
        frames_.pop_back();
        if (!keep) continue;
      }
      items.push_back(item);
    }
    if (items.empty()) return exec_body(n.else_body) == Flow::kNormal ? Flow::kNormal : Flow::kNormal;
    const int64_t length = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < length; ++k) {
      budget_.step(16);  // a loop iteration builds its frame and `loop` object
      auto frame = std::make_shared<Frame>();
      bind(*frame, items[static_cast<size_t>(k)]);
      ValueDict loop;
      loop.set("index", Value::integer(k + 1));
      loop.set("index0", Value::integer(k));
      loop.set("revindex", Value::integer(length - k));
      loop.set("revindex0", Value::integer(length - k - 1));
      loop.set("first", Value::boolean(k == 0));
      loop.set("last", Value::boolean(k == length - 1));
      loop.set("length", Value::integer(length));
      loop.set("depth", Value::integer(1));
      loop.set("depth0", Value::integer(0));
      loop.set("previtem", k > 0 ? items[static_cast<size_t>(k - 1)] : Value::undefined("there is no previous item"));
      loop.set("nextitem", k + 1 < length ? items[static_cast<size_t>(k + 1)] : Value::undefined("there is no next item"));
      loop.set("cycle", Value::function([k](CallArgs& a) {
        if (a.positional.empty()) fail("TypeError: no items for cycling given");
        return a.positional[static_cast<size_t>(k) % a.positional.size()];
      }));
      Value loop_value = Value::make_dict(std::move(loop));
      (*frame)["loop"] = loop_value;
      frames_.push_back(frame);
      Flow f;
      try {
        f = exec_body(n.body);
      } catch (...) {
        frames_.pop_back();
        throw;
      }
      frames_.pop_back();
      if (f == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  Flow exec(const Node& n) {
    using K = Node::Kind;
    if (n.line) line_ = n.line;
    budget_.step();
    budget_.check_stack();
    switch (n.kind) {
      case K::kText: append(n.text); return Flow::kNormal;
      case K::kPrint: append(eval(*n.expr).str()); return Flow::kNormal;
      case K::kIf:
        for (const auto& [cond, body] : n.branches)
          if (!cond || eval(*cond).truthy()) return exec_body(body);
        return Flow::kNormal;
      case K::kFor: return exec_for(n);
      case K::kSet: {
        Value v = eval(*n.expr);
        if (!n.attr.empty()) {
          Value ns = lookup(n.targets[0]);
          if (ns.kind != Value::Kind::kNamespace) fail("TemplateRuntimeError: cannot assign attribute on non-namespace object");
          // Namespaces are the only mutable values: keeping them out of each other rules out
          // cycles and unbounded nesting built by mutation.
          if (v.holds_namespace) fail("SecurityError: a namespace cannot be stored inside a namespace in the template sandbox");
          if (v.depth + 1 > kMaxValueDepth) fail(fmt::format("RecursionError: lists and dicts nested deeper than {}", kMaxValueDepth));
          ns.dict->set(n.attr, v);
        } else if (n.targets.size() == 1) {
          assign(n.targets[0], v);
        } else {
          auto parts = iterate(v);
          if (parts.size() != n.targets.size()) fail("ValueError: wrong number of values to unpack in set");
          for (size_t k = 0; k < parts.size(); ++k) assign(n.targets[k], parts[k]);
        }
        return Flow::kNormal;
      }
      case K::kSetBlock: {
        Value v = Value::string(capture(n.body));
        if (n.expr) v = eval_filter(*n.expr, &v);
        assign(n.targets[0], v);
        return Flow::kNormal;
      }
      case K::kMacro: assign(n.targets[0], make_macro(n)); return Flow::kNormal;
      case K::kCallBlock: {
        std::vector<std::weak_ptr<Frame>> weak_frames(frames_.begin(), frames_.end());
        Value caller = Value::function([this, &n, weak_frames](CallArgs& args) {
          std::vector<std::shared_ptr<Frame>> frames;
          for (const auto& w : weak_frames) {
            frames.push_back(w.lock());
            if (!frames.back()) fail("caller() used after its call block finished");
          }
          auto frame = std::make_shared<Frame>();
          for (size_t k = 0; k < n.params.size(); ++k) {
            Value v = args.get(k, n.params[k].first, Value::undefined());
            if (v.is_undefined() && n.params[k].second) v = eval(*n.params[k].second);
            (*frame)[n.params[k].first] = v;
          }
          frames.push_back(frame);
          CallDepth guard(call_depth_, "caller");
          return Value::string(capture_in(std::move(frames), n.body));
        });
        Value callee = eval(*n.expr->a);
        CallArgs args = eval_args(*n.expr);
        args.keyword.emplace_back("caller", caller);
        append(call(callee, args).str());
        return Flow::kNormal;
      }
      case K::kFilterBlock: {
        Value v = Value::string(capture(n.body));
        append(eval_filter(*n.expr, &v).str());
        return Flow::kNormal;
      }
      case K::kGeneration: {
        size_t start = out_->size();
        Flow f = exec_body(n.body);
        if (!capturing_) result_->generation_spans.emplace_back(start, out_->size());
        return f;
      }
      case K::kBreak: return Flow::kBreak;
      case K::kContinue: return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  Value globals_;
  std::vector<std::shared_ptr<Frame>> frames_;
  RenderResult* result_ = nullptr;
  std::string* out_ = nullptr;
  bool capturing_ = false;
  int line_ = 0;
  int call_depth_ = 0;
  RenderBudget budget_;  // installed for this thread while the renderer lives
};

}  // namespace
}  // namespace jinja

ChatTemplate::ChatTemplate(const std::string& source, std::string label)
    : label_(std::move(label)), body_(jinja::parse_template(source, label_)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;

RenderResult ChatTemplate::render(const nlohmann::json& context, std::optional<std::time_t> now) const {
  AM_CHECK(context.is_object(), "[chat template] {}: the render context must be a JSON object", label_);
  RenderResult result;
  int line = 0;
  try {
    jinja::Frame root;
    for (const auto& [k, v] : context.items()) root[k] = jinja::from_json(v);
    jinja::Renderer renderer(jinja::make_globals(now.value_or(std::time(nullptr))), std::move(root));
    try {
      renderer.render(body_, result);
    } catch (...) {
      line = renderer.line();
      throw;
    }
  } catch (const std::bad_alloc&) {
    // A backstop: the sandbox's limits should stop any template well before memory runs out.
    throw Error(fmt::format("[chat template] {}: line {}: MemoryError: out of memory while rendering", label_, line));
  } catch (const Error& e) {
    std::string message = e.what();
    const std::string prefix = "[chat template] ";
    if (message.starts_with(prefix)) message = message.substr(prefix.size());
    throw Error(fmt::format("[chat template] {}: line {}: {}", label_, line, message));
  }
  return result;
}

}  // namespace automodel::tokenizer
