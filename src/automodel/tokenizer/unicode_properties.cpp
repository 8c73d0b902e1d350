#include "automodel/tokenizer/unicode_properties.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

namespace automodel::tokenizer {
namespace detail {

struct CategoryRun {
  char32_t first, last;
  GeneralCategory category;
};
struct ScriptRun {
  char32_t first, last;
  uint16_t script;
};
struct CodePointRange {
  char32_t first, last;
};
struct ScriptName {
  const char* code;
  const char* name;
};

using enum GeneralCategory;
#include "automodel/tokenizer/unicode_tables.inc"

}  // namespace detail

namespace {

constexpr std::array<std::string_view, 30> kCategoryNames = {
    "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
    "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};

// Long names (PropertyValueAliases.txt) of the categories above, in the same order.
constexpr std::array<std::string_view, 30> kCategoryLongNames = {
    "Uppercase_Letter", "Lowercase_Letter", "Titlecase_Letter", "Modifier_Letter", "Other_Letter",
    "Nonspacing_Mark", "Spacing_Mark", "Enclosing_Mark", "Decimal_Number", "Letter_Number", "Other_Number",
    "Connector_Punctuation", "Dash_Punctuation", "Open_Punctuation", "Close_Punctuation",
    "Initial_Punctuation", "Final_Punctuation", "Other_Punctuation", "Math_Symbol", "Currency_Symbol",
    "Modifier_Symbol", "Other_Symbol", "Space_Separator", "Line_Separator", "Paragraph_Separator", "Control",
    "Format", "Surrogate", "Private_Use", "Unassigned"};

// Oniguruma matches property names ignoring case, spaces, underscores and hyphens.
std::string loose_name(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != ' ' && c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

CodePointRanges merged(CodePointRanges r) {
  std::sort(r.begin(), r.end());
  CodePointRanges out;
  for (auto [lo, hi] : r) {
    if (!out.empty() && out.back().second + 1 >= lo) out.back().second = std::max(out.back().second, hi);
    else out.emplace_back(lo, hi);
  }
  return out;
}

CodePointRanges categories(std::string_view letters_or_names) {
  // `letters_or_names`: a group's first letter ("L") or a list of two-letter names ("LuLlLt").
  CodePointRanges out;
  auto wanted = [&](GeneralCategory c) {
    auto name = kCategoryNames[static_cast<size_t>(c)];
    if (letters_or_names.size() == 1) return name[0] == letters_or_names[0];
    for (size_t i = 0; i + 1 < letters_or_names.size(); i += 2)
      if (letters_or_names.substr(i, 2) == name) return true;
    return false;
  };
  if (wanted(GeneralCategory::kCn)) out = complement_ranges([] {
      CodePointRanges assigned;
      for (const auto& r : detail::kCategoryRuns) assigned.emplace_back(r.first, r.last);
      return merged(assigned);
    }());
  for (const auto& r : detail::kCategoryRuns)
    if (wanted(r.category)) out.emplace_back(r.first, r.last);
  return merged(out);
}

using Table = std::unordered_map<std::string, CodePointRanges>;

void add_categories(Table& t) {
  for (size_t i = 0; i < kCategoryNames.size(); ++i) {
    auto ranges = categories(kCategoryNames[i]);
    t[loose_name(kCategoryLongNames[i])] = ranges;
    t[loose_name(kCategoryNames[i])] = std::move(ranges);
  }
  const std::pair<const char*, const char*> groups[] = {
      {"L", "Letter"}, {"M", "Mark"}, {"N", "Number"}, {"P", "Punctuation"},
      {"S", "Symbol"}, {"Z", "Separator"}, {"C", "Other"}};
  for (auto [letter, name] : groups) {
    auto ranges = categories(letter);
    t[loose_name(name)] = ranges;
    t[loose_name(letter)] = std::move(ranges);
  }
  t["combiningmark"] = t["m"];
  t["lc"] = t["casedletter"] = categories("LuLlLt");
}

void add_scripts(Table& t) {
  std::vector<CodePointRanges> by_script(std::size(detail::kScriptNames));
  CodePointRanges known;
  for (const auto& r : detail::kScriptRuns) {
    by_script[r.script].emplace_back(r.first, r.last);
    known.emplace_back(r.first, r.last);
  }
  for (size_t i = 0; i < by_script.size(); ++i) {
    auto ranges = merged(by_script[i]);
    t[loose_name(detail::kScriptNames[i].code)] = ranges;
    t[loose_name(detail::kScriptNames[i].name)] = std::move(ranges);
  }
  auto unknown = complement_ranges(merged(known));
  t["unknown"] = t["zzzz"] = std::move(unknown);
  t["qaai"] = t["zinh"];  // old alias of Inherited
}

const Table& table() {
  static const Table t = [] {
    Table t;
    add_scripts(t);     // first: category names win where a script code collides
    add_categories(t);
    t["any"] = {{0, 0x10FFFF}};
    t["assigned"] = complement_ranges(t["cn"]);
    t["whitespace"] = t["space"] = space_ranges();
    t["digit"] = digit_ranges();
    t["word"] = word_ranges();
    return t;
  }();
  return t;
}

}  // namespace

const char* regex_unicode_version() { return detail::kRegexUnicodeVersion; }
const char* rust_std_unicode_version() { return detail::kRustStdUnicodeVersion; }

GeneralCategory general_category(char32_t cp) {
  const auto* begin = std::begin(detail::kCategoryRuns);
  const auto* end = std::end(detail::kCategoryRuns);
  const auto* it = std::upper_bound(begin, end, cp, [](char32_t c, const detail::CategoryRun& r) { return c < r.first; });
  if (it == begin) return GeneralCategory::kCn;
  --it;
  return cp <= it->last ? it->category : GeneralCategory::kCn;
}

std::string_view category_name(GeneralCategory c) { return kCategoryNames[static_cast<size_t>(c)]; }

bool rust_is_numeric(char32_t cp) {
  const auto* begin = std::begin(detail::kRustNumericRanges);
  const auto* end = std::end(detail::kRustNumericRanges);
  const auto* it = std::upper_bound(begin, end, cp, [](char32_t c, const detail::CodePointRange& r) { return c < r.first; });
  return it != begin && cp <= (it - 1)->last;
}

const CodePointRanges* property_ranges(std::string_view name) {
  auto it = table().find(loose_name(name));
  return it == table().end() ? nullptr : &it->second;
}

const CodePointRanges& space_ranges() {
  // White_Space (PropList.txt), unchanged since Unicode 6.3.
  static const CodePointRanges r = {{0x09, 0x0D}, {0x20, 0x20},     {0x85, 0x85},     {0xA0, 0xA0},
                                    {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F},
                                    {0x205F, 0x205F}, {0x3000, 0x3000}};
  return r;
}

const CodePointRanges& digit_ranges() {
  static const CodePointRanges r = categories("Nd");
  return r;
}

const CodePointRanges& word_ranges() {
  static const CodePointRanges r = [] {
    // Oniguruma's Word: Alphabetic (L, Nl, Other_Alphabetic), marks, Nd, Pc; its Latin-1 table
    // also counts the superscripts and fractions ² ³ ¹ ¼ ½ ¾ (checked against tokenizers).
    CodePointRanges out = categories("LuLlLtLmLoMnMcMeNdNlPc");
    for (const auto& s : detail::kOtherAlphabeticSymbols) out.emplace_back(s.first, s.last);
    for (char32_t c : {0xB2, 0xB3, 0xB9, 0xBC, 0xBD, 0xBE}) out.emplace_back(c, c);
    return merged(out);
  }();
  return r;
}

CodePointRanges complement_ranges(const CodePointRanges& ranges) {
  CodePointRanges out;
  char32_t next = 0;
  for (auto [lo, hi] : ranges) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= 0x10FFFF) out.emplace_back(next, 0x10FFFF);
  return out;
}

}  // namespace automodel::tokenizer
