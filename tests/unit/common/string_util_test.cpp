#include <gtest/gtest.h>

#include "automodel/common/string_util.h"

namespace automodel {
namespace {

TEST(StringUtil, NearestNameSuggestsCloseCandidatesOnly) {
  std::vector<std::string> names = {"llama", "mistral", "qwen2", "gemma"};
  EXPECT_EQ(nearest_name("lama", names), "llama");
  EXPECT_EQ(nearest_name("qwen", names), "qwen2");
  EXPECT_EQ(nearest_name("completely_different", names), "");
}

TEST(StringUtil, SplitKeepsEmptyFields) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(format_shape({2, 24, 64}), "[2, 24, 64]");
}

}  // namespace
}  // namespace automodel
