// Unicode property tables (Unicode 16.0 as HF tokenizers' Oniguruma, 17.0 numeric as its Rust
// std) and the pattern rewrite that makes PCRE2 use them: characters newer than PCRE2's own
// tables must be classified as the tables say.
#include <gtest/gtest.h>

#include "automodel/common/error.h"
#include "automodel/tokenizer/regex.h"
#include "automodel/tokenizer/regex_properties.h"
#include "automodel/tokenizer/unicode.h"
#include "automodel/tokenizer/unicode_properties.h"
#include "test_util.h"

namespace automodel::tokenizer {
namespace {

using GC = GeneralCategory;

// Whether `pattern` matches exactly the one code point `cp`.
bool matches(const std::string& pattern, char32_t cp) {
  auto text = encode_utf8(cp);
  auto found = Regex(pattern, "test").find_all(text);
  return found.size() == 1 && found[0] == std::make_pair(size_t{0}, text.size());
}

TEST(UnicodeProperties, TablesAreOfTheVersionsHfTokenizersUses) {
  EXPECT_STREQ(regex_unicode_version(), "16.0.0");
  EXPECT_STREQ(rust_std_unicode_version(), "17.0.0");
}

TEST(UnicodeProperties, GeneralCategoryKnowsCharactersOfUnicode15And16) {
  EXPECT_EQ(general_category('A'), GC::kLu);
  EXPECT_EQ(general_category(0x0378), GC::kCn);      // unassigned
  EXPECT_EQ(general_category(0xD800), GC::kCs);
  EXPECT_EQ(general_category(0x1F6DC), GC::kSo);     // 15.0 WIRELESS
  EXPECT_EQ(general_category(0x31350), GC::kLo);     // 15.0 CJK Ext H
  EXPECT_EQ(general_category(0x11F04), GC::kLo);     // 15.0 Kawi letter
  EXPECT_EQ(general_category(0x11F00), GC::kMn);     // 15.0 Kawi sign
  EXPECT_EQ(general_category(0x2EBF0), GC::kLo);     // 15.1 CJK Ext I
  EXPECT_EQ(general_category(0x10D50), GC::kLu);     // 16.0 Garay capital letter
  EXPECT_EQ(general_category(0x10D40), GC::kNd);     // 16.0 Garay digit zero
  EXPECT_EQ(general_category(0x1CCF0), GC::kNd);     // 16.0 outlined digit zero
  EXPECT_EQ(general_category(0x1B4E), GC::kPo);      // 16.0 Balinese punctuation
  EXPECT_EQ(general_category(0x10940), GC::kCn);     // 17.0 Sidetic: not in Oniguruma's 16.0
  EXPECT_EQ(general_category(0x10FFFD), GC::kCo);
  EXPECT_EQ(category_name(GC::kPd), "Pd");
}

TEST(UnicodeProperties, RustNumericIsUnicode17) {
  EXPECT_TRUE(rust_is_numeric('7'));
  EXPECT_TRUE(rust_is_numeric(0x10D40));  // 16.0
  EXPECT_TRUE(rust_is_numeric(0x11DE0));  // 17.0 Tolong Siki digit zero
  EXPECT_FALSE(rust_is_numeric('a'));
  EXPECT_TRUE(is_numeric(0x11DE0));
}

TEST(UnicodeProperties, CategoryPredicatesUseTheTables) {
  EXPECT_TRUE(is_punctuation(0x1B4E));
  EXPECT_TRUE(is_combining_mark(0x0903));  // Mc: HF strips every mark
  EXPECT_TRUE(is_control(0x200B));         // Cf: Bert cleaning drops it, as HF
  EXPECT_TRUE(is_control(0xE000));         // Co
  EXPECT_FALSE(is_control(0x0378));        // Cn is kept
  EXPECT_TRUE(is_alphabetic(0x31350));
}

TEST(UnicodeProperties, PropertyNamesAsOnigurumaSpellsThem) {
  ASSERT_NE(property_ranges("L"), nullptr);
  EXPECT_EQ(*property_ranges("Letter"), *property_ranges("l"));
  EXPECT_EQ(*property_ranges("uppercase letter"), *property_ranges("Lu"));
  EXPECT_EQ(*property_ranges("Hani"), *property_ranges("Han"));
  EXPECT_EQ(*property_ranges("White_Space"), space_ranges());
  EXPECT_EQ(property_ranges("L&"), nullptr);  // Oniguruma rejects it too
  EXPECT_EQ(property_ranges("NoSuchProperty"), nullptr);
  EXPECT_EQ(complement_ranges(*property_ranges("Any")).size(), 0u);
}

TEST(RegexProperties, PropertiesMatchCharactersNewerThanPcre2Knows) {
  EXPECT_TRUE(matches(R"(\p{L})", 0x31350));
  EXPECT_TRUE(matches(R"(\p{L})", 0x2EBF0));
  EXPECT_TRUE(matches(R"(\p{Lu})", 0x10D50));
  EXPECT_TRUE(matches(R"(\p{N})", 0x1CCF0));
  EXPECT_TRUE(matches(R"(\d)", 0x10D40));
  EXPECT_TRUE(matches(R"(\p{S})", 0x1F6DC));
  EXPECT_TRUE(matches(R"(\p{M})", 0x11F00));
  EXPECT_TRUE(matches(R"(\p{P})", 0x1B4E));
  EXPECT_TRUE(matches(R"(\p{Han})", 0x31350));
  EXPECT_TRUE(matches(R"(\w)", 0x11F00));
  EXPECT_FALSE(matches(R"(\p{L})", 0x10940));  // 17.0: unknown to HF's regex engine too
  EXPECT_TRUE(matches(R"(\P{L})", 0x10940));
  EXPECT_FALSE(matches(R"(\P{L})", 0x31350));
  EXPECT_FALSE(matches(R"(\p{^L})", 0x31350));
  EXPECT_TRUE(matches(R"(\p{^L})", 0x1F6DC));
}

TEST(RegexProperties, NegatedClassesExcludeNewLettersAndDigits) {
  const std::string other = R"([^\s\p{L}\p{N}])";
  EXPECT_TRUE(matches(other, 0x1F6DC));
  EXPECT_FALSE(matches(other, 0x31350));
  EXPECT_FALSE(matches(other, 0x10D40));
  EXPECT_FALSE(matches(other, 0x3000));
  EXPECT_TRUE(matches(R"([\P{L}])", 0x1F6DC));
  EXPECT_TRUE(matches(R"([x\p{N}])", 'x'));
  EXPECT_FALSE(matches(R"([^x\p{N}])", 'x'));
  EXPECT_FALSE(matches(R"([^\W])", 0x1F6DC));
  // The GPT-2 / Llama-3 splits: the emoji after a space is one "other" piece, as in HF.
  auto found = Regex(R"( ?[^\s\p{L}\p{N}]+|\s+)", "test").find_all(" \U0001F6DC");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], std::make_pair(size_t{0}, size_t{5}));
}

// As Oniguruma: under (?i) a bare property is not case-folded, a bracket class is as a whole.
TEST(RegexProperties, CaseInsensitivityFoldsClassesButNotBareProperties) {
  EXPECT_FALSE(matches(R"((?i)\p{Lu})", 'a'));
  EXPECT_TRUE(matches(R"((?i)\p{Lu})", 'A'));
  EXPECT_TRUE(matches(R"((?i)[\p{Lu}])", 'a'));
  EXPECT_TRUE(matches(R"((?i)[x\p{N}])", 'X'));
  EXPECT_FALSE(matches(R"((?i)[^x\p{N}])", 'X'));
  EXPECT_FALSE(matches(R"((?i)[^x\p{Lu}])", 'a'));
  EXPECT_TRUE(matches(R"((?i)[^x\p{Lu}])", '1'));
  EXPECT_TRUE(matches(R"((?i:'s)|\p{L})", 0x31350));
}

TEST(RegexProperties, OtherEscapesAndClassesAreLeftAlone) {
  EXPECT_EQ(expand_unicode_properties(R"(a\.b[\]x-z]\x{41}(?:c)\n)", "t"), R"(a\.b[\]x-z]\x{41}(?:c)\n)");
  EXPECT_EQ(expand_unicode_properties(R"([[:alpha:]])", "t"), R"([[:alpha:]])");
  EXPECT_TRUE(matches(R"([\]\p{N}])", ']'));
  EXPECT_TRUE(matches(R"(\h)", 'f'));   // Oniguruma's \h: a hex digit
  EXPECT_FALSE(matches(R"(\h)", ' '));
}

TEST(RegexProperties, UnknownPropertyNamesTheField) {
  auto message = automodel::testing::error_message_of<Error>(
      [] { Regex(R"(\p{L}|\p{Klingon})", "tokenizer.json pre_tokenizer.pretokenizers[0].pattern"); });
  EXPECT_NE(message.find("pre_tokenizer.pretokenizers[0].pattern"), std::string::npos) << message;
  EXPECT_NE(message.find("Klingon"), std::string::npos) << message;
}

}  // namespace
}  // namespace automodel::tokenizer
