// docs/recipe-keys.md, printed from the key declarations so the reference cannot drift from what
// the parser reads (a unit test compares the committed file).
#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "automodel/config/schema.h"

namespace automodel::config {
namespace {

// A Markdown table cell: no line breaks, and a '|' that does not end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') out += "\\|";
    else if (ch == '\n') out += ' ';
    else out += ch;
  }
  return out;
}

std::string code(const std::string& text) { return text.empty() ? "" : "`" + cell(text) + "`"; }

// A default in words ("0.01 x lr") stays text; a value is code.
std::string default_cell(const std::string& text) {
  return text.find(' ') == std::string::npos ? code(text) : cell(text);
}

std::string use_of(const KeySpec& key) {
  switch (key.use) {
    case KeyUse::kEffect: return "effect";
    case KeyUse::kValidated: return "validated";
    case KeyUse::kNoEffect: return "no effect";
  }
  return "";
}

std::string cache_of(const KeySpec& key) {
  switch (key.cache) {
    case CacheKey::kValue: return "value";
    case CacheKey::kContent: return "files' bytes";
    case CacheKey::kNone: return "no";
    case CacheKey::kNotDataset: return "";
  }
  return "";
}

}  // namespace

std::string recipe_keys_markdown() {
  std::string out =
      "# Recipe keys\n\n"
      "<!-- Generated from the key declarations in src/automodel/config/*_keys.cpp and tracker_sections.cpp;\n"
      "     do not edit. Regenerate: AUTOMODEL_UPDATE_DOCS=1 build/tests/data_unit_tests "
      "--gtest_filter='RecipeKeysDoc.*' -->\n\n"
      "Every section and key a recipe accepts ([recipes.md](recipes.md) explains the sections). **Use**: *effect* = read "
      "and acted on; *validated* = checked against what this build supports (another value is an error); *no "
      "effect* = accepted and reported at start as `accepted, no effect here: KEY (reason)`. A key that takes "
      "effect only with other settings (the mock dataset's `vocab_size` on a file dataset) is reported the same "
      "way when it does not. Unknown keys close to a known one are errors naming it; others are listed at start "
      "as `(unknown here)`. **Cache key** (dataset keys): *value* = the key's value is part of the tokenized-dataset "
      "cache key; *files' bytes* = the files it names are hashed instead of the name; *no* = it does not change the "
      "tokenized samples.\n";
  for (const auto& section : recipe_sections()) {
    out += fmt::format("\n## `{}`\n\n{}\n", section.name, section.doc);
    if (!section.same_keys_as.empty()) {
      out += fmt::format("\nThe keys of `{}`.\n", section.same_keys_as);
      continue;
    }
    // Dataset sections say what the tokenized-dataset cache key hashes of each key.
    const bool cached = std::any_of(section.keys.begin(), section.keys.end(),
                                    [](const KeySpec& k) { return k.cache != CacheKey::kNotDataset; });
    out += cached ? "\n| key | type | default | use | cache key | what it does |\n|---|---|---|---|---|---|\n"
                  : "\n| key | type | default | use | what it does |\n|---|---|---|---|---|\n";
    for (const auto& key : section.keys) {
      const bool value_section = section.keys.size() == 1 && key.name == section.name;
      auto name = value_section ? fmt::format("`{}: VALUE`", key.name) : code(key.name);
      auto row = fmt::format("| {} | {} | {} | {} |", name, cell(key.type), default_cell(key.default_value), use_of(key));
      if (cached) row += fmt::format(" {} |", cache_of(key));
      out += fmt::format("{} {} |\n", row, cell(key.use == KeyUse::kNoEffect ? key.reason : key.doc));
    }
  }
  return out;
}

}  // namespace automodel::config
