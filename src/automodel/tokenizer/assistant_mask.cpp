#include "automodel/tokenizer/assistant_mask.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>

#include "automodel/common/error.h"

namespace automodel::tokenizer {
namespace {

std::string sentinel(size_t index) { return fmt::format("qAMSENTINEL{}q", index); }

// End of the first special (added) token in `text`, or npos. The end-of-turn marker that
// closes an assistant turn is the first special token after its content.
size_t end_of_first_special(const Tokenizer& tokenizer, std::string_view text) {
  size_t best = std::string::npos, best_end = std::string::npos;
  for (const auto& a : tokenizer.added_tokens()) {
    if (!a.special) continue;
    size_t p = text.find(a.content);
    if (p != std::string::npos && (p < best || (p == best && p + a.content.size() > best_end))) {
      best = p;
      best_end = p + a.content.size();
    }
  }
  return best_end;
}

// Span of assistant message k by rendering once more with a sentinel in place of its content:
// the text before and after the sentinel must match the real render around the real content.
bool sentinel_span(const ChatTemplate& tmpl, const Tokenizer& tokenizer, const nlohmann::json& context, const std::string& text,
                   size_t k, std::pair<size_t, size_t>& span) {
  nlohmann::json marked = context;
  auto& m = marked["messages"][k];
  const std::string s = "qAMSENTINELq";
  if (m.contains("content") && m["content"].is_array()) m["content"] = nlohmann::json::array({{{"type", "text"}, {"text", s}}});
  else m["content"] = s;
  std::string rendered = tmpl.render(marked).text;
  size_t at = rendered.find(s);
  if (at == std::string::npos || rendered.find(s, at + s.size()) != std::string::npos) return false;
  std::string_view before = std::string_view(rendered).substr(0, at), after = std::string_view(rendered).substr(at + s.size());
  if (before.size() + after.size() > text.size() || text.compare(0, before.size(), before) != 0 ||
      text.compare(text.size() - after.size(), after.size(), after) != 0)
    return false;
  size_t content_end = text.size() - after.size();
  size_t eot = end_of_first_special(tokenizer, after);  // the turn closes at its end-of-turn marker
  span = {before.size(), eot == std::string::npos ? content_end : content_end + eot};
  return true;
}

size_t common_prefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Ends the span right after its last special token when only whitespace follows it (so the
// newline after "<|im_end|>" is not supervised).
size_t trim_after_end_of_turn(const Tokenizer& tokenizer, std::string_view text, size_t start, size_t end) {
  size_t best = std::string::npos;
  for (const auto& a : tokenizer.added_tokens()) {
    if (!a.special) continue;
    size_t p = text.substr(start, end - start).rfind(a.content);
    if (p != std::string::npos && (best == std::string::npos || start + p + a.content.size() > best)) best = start + p + a.content.size();
  }
  if (best == std::string::npos) return end;
  for (size_t k = best; k < end; ++k)
    if (!std::isspace(static_cast<unsigned char>(text[k]))) return end;
  return best;
}

// Span of assistant message k by prefix renders: it starts where the render of messages[:k]
// plus the generation prompt ends, and ends where the render of messages[:k+1] stops agreeing
// with the full one. False when the template renders the history differently.
bool prefix_span(const ChatTemplate& tmpl, const Tokenizer& tokenizer, const nlohmann::json& context, const std::string& text,
                 size_t k, std::pair<size_t, size_t>& span) {
  {
    nlohmann::json prefix = context;
    auto& messages = prefix["messages"];
    messages.erase(messages.begin() + static_cast<long>(k), messages.end());
    prefix["add_generation_prompt"] = true;
    std::string before = tmpl.render(prefix).text;
    nlohmann::json through = context;
    through["messages"].erase(through["messages"].begin() + static_cast<long>(k) + 1, through["messages"].end());
    through["add_generation_prompt"] = false;
    std::string upto = tmpl.render(through).text;
    // The history must render identically (templates that move the system prompt into the last
    // user turn do not): then the turn starts where the prefix ends. It ends where the render
    // through this message stops agreeing with the full one (after its end-of-turn marker).
    if (text.compare(0, before.size(), before) != 0) return false;
    size_t start = before.size(), end = common_prefix(upto, text);
    // The next turn opens with the first special token of the generation prompt (<|im_start|>,
    // <|start_header_id|>, <|START_OF_TURN_TOKEN|>, ...): the turn never extends past it, and
    // when this message renders differently as the last one, that is where it ends.
    prefix["add_generation_prompt"] = false;
    std::string without_prompt = tmpl.render(prefix).text;
    std::string_view prompt = std::string_view(before).substr(common_prefix(without_prompt, before));
    size_t opener_at = std::string::npos;
    std::string opener;
    for (const auto& a : tokenizer.added_tokens()) {
      size_t p = a.special ? prompt.find(a.content) : std::string::npos;
      if (p != std::string::npos && p < opener_at) opener_at = p, opener = a.content;
    }
    size_t next_turn = opener.empty() ? std::string::npos : text.find(opener, start);
    if (end <= start) end = next_turn;
    if (next_turn != std::string::npos && next_turn < end) end = next_turn;
    if (end == std::string::npos || end <= start) return false;
    const auto& content = context["messages"][k].contains("content") ? context["messages"][k]["content"] : nlohmann::json();
    if (content.is_string() && !content.get<std::string>().empty()) {
      // The span must hold the content (unless the template does not render it at all).
      std::string head = content.get<std::string>().substr(0, 12);
      head.erase(0, head.find_first_not_of(" \n"));
      bool in_span = text.substr(start, end - start).find(head) != std::string::npos;
      if (!in_span && text.find(head) != std::string::npos) return false;
    }
    span = {start, trim_after_end_of_turn(tokenizer, text, start, end)};
  }
  return true;
}

// Token spans of the whole-turn rule (see AssistantMaskRule::kWholeTurn) for the assistant
// messages `assistant`, or nothing when a prefix render does not tokenize to a prefix of `ids`
// (a prefix may end in the end-of-sequence token where the whole continues: templates close an
// unfinished conversation so).
std::optional<std::vector<std::pair<size_t, size_t>>> whole_turn_token_spans(const ChatTemplate& tmpl,
                                                                             const Tokenizer& tokenizer,
                                                                             const nlohmann::json& context,
                                                                             const std::vector<int32_t>& ids,
                                                                             const std::vector<size_t>& assistant) {
  std::optional<int32_t> eos;
  if (context.contains("eos_token") && context["eos_token"].is_string())
    eos = tokenizer.token_to_id(context["eos_token"].get<std::string>());
  const size_t n = context["messages"].size();
  std::map<size_t, size_t> length = {{n, ids.size()}};  // tokens of render(messages[:k])
  auto prefix_length = [&](size_t k) -> std::optional<size_t> {
    if (auto it = length.find(k); it != length.end()) return it->second;
    nlohmann::json prefix = context;
    auto& messages = prefix["messages"];
    messages.erase(messages.begin() + static_cast<long>(k), messages.end());
    prefix["add_generation_prompt"] = false;
    std::vector<int32_t> prefix_ids;
    try {
      prefix_ids = tokenizer.encode(tmpl.render(prefix).text, /*add_special_tokens=*/false);
    } catch (const Error&) {
      return std::nullopt;  // e.g. a template that needs a user message first
    }
    size_t m = prefix_ids.size();
    bool consistent = m <= ids.size() && std::equal(prefix_ids.begin(), prefix_ids.end(), ids.begin());
    if (!consistent && m > 1 && m <= ids.size() && eos && prefix_ids.back() == *eos)
      consistent = std::equal(prefix_ids.begin(), prefix_ids.end() - 1, ids.begin());
    if (!consistent) return std::nullopt;
    return length[k] = m;
  };
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t k : assistant) {
    auto start = prefix_length(k), end = prefix_length(k + 1);
    if (!start || !end) return std::nullopt;
    spans.emplace_back(*start, std::max(*start, *end));
  }
  return spans;
}

}  // namespace

MaskedConversation render_with_assistant_masks(const ChatTemplate& tmpl, const Tokenizer& tokenizer,
                                               const nlohmann::json& context, AssistantMaskRule rule) {
  AM_CHECK(context.is_object() && context.contains("messages") && context["messages"].is_array(),
           "[chat template] the conversation needs a 'messages' list");
  MaskedConversation out;
  auto rendered = tmpl.render(context);
  out.text = rendered.text;
  std::vector<std::pair<size_t, std::pair<size_t, size_t>>> spans;
  std::vector<size_t> assistant;
  for (size_t i = 0; i < context["messages"].size(); ++i)
    if (context["messages"][i].value("role", "") == "assistant") assistant.push_back(i);
  if (!rendered.generation_spans.empty()) {
    AM_CHECK(rendered.generation_spans.size() == assistant.size(),
             "[chat template] the template marks {} {{% generation %}} block(s) for {} assistant message(s)",
             rendered.generation_spans.size(), assistant.size());
    for (size_t k = 0; k < assistant.size(); ++k) spans.push_back({assistant[k], rendered.generation_spans[k]});
  } else if (rule == AssistantMaskRule::kWholeTurn) {
    out.ids = tokenizer.encode(out.text, /*add_special_tokens=*/false);
    if (auto token_spans = whole_turn_token_spans(tmpl, tokenizer, context, out.ids, assistant)) {
      auto offsets = tokenizer.offsets(out.text, out.ids);
      out.supervised.assign(out.ids.size(), 0);
      for (size_t i = 0; i < assistant.size(); ++i) {
        auto [first, end] = (*token_spans)[i];
        AM_CHECK(end > first, "[chat template] assistant message {} adds no token to the render", assistant[i]);
        std::fill(out.supervised.begin() + static_cast<long>(first), out.supervised.begin() + static_cast<long>(end), 1);
        out.spans.push_back({assistant[i], {offsets[first].first, offsets[end - 1].second}, {first, end}});
      }
      return out;
    }
  }
  if (spans.empty()) {
    for (size_t k : assistant) {
      std::pair<size_t, size_t> span;
      AM_CHECK(prefix_span(tmpl, tokenizer, context, out.text, k, span) || sentinel_span(tmpl, tokenizer, context, out.text, k, span),
               "[chat template] cannot locate assistant message {} in the rendered text; use a template with "
               "{{% generation %}} markers", k);
      spans.push_back({k, span});
    }
  }

  out.ids = tokenizer.encode(out.text, /*add_special_tokens=*/false);
  auto offsets = tokenizer.offsets(out.text, out.ids);
  out.supervised.assign(out.ids.size(), 0);
  for (const auto& [message, chars] : spans) {
    // A token is supervised when it starts inside the span: tokens straddling the start belong to
    // the template's header, tokens straddling the end to the assistant.
    AssistantSpan span{message, chars, {out.ids.size(), 0}};
    for (size_t t = 0; t < out.ids.size(); ++t) {
      auto [s, e] = offsets[t];
      if (e > s && s >= chars.first && s < chars.second) {
        out.supervised[t] = 1;
        span.tokens.first = std::min(span.tokens.first, t);
        span.tokens.second = t + 1;
      }
    }
    AM_CHECK(span.tokens.second > 0, "[chat template] assistant message {} has no supervised token (empty content?)", message);
    out.spans.push_back(span);
  }
  return out;
}

}  // namespace automodel::tokenizer
