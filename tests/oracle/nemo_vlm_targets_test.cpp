// cord-v2 targets against NeMo AutoModel's own json2token (tests/oracles/nemo_json2token.py):
// nested receipts, lists, text_sequence, numbers, booleans and nulls give the same strings.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/data/vlm_dataset.h"
#include "test_util.h"

namespace automodel {
namespace {

TEST(NemoVlmTargets, Json2TokenEqualsAutoModels) {
  AUTOMODEL_REQUIRE_ORACLE("nemo_automodel");
  const auto values = nlohmann::json::parse(R"([
    {"menu": [{"nm": "ICE TEA", "cnt": "2", "price": "8,000"}, {"nm": "BREAD", "cnt": "1", "price": "12,500"}],
     "sub_total": {"subtotal_price": "28,500", "tax_price": "2,850"}, "total": {"total_price": "31,350"}},
    {"text_sequence": "a receipt"},
    {"a": {"text_sequence": "inner"}, "b": [1, 2.5, true, null], "c": false},
    [{"x": "1"}, "y"],
    "plain"])");
  testing::TempDir tmp;
  write_file_atomic(tmp / "in.json", values.dump());
  auto r = testing::run_command(fmt::format("'{}' '{}' '{}' '{}' 2>&1", testing::python(),
                                            testing::oracle_script("nemo_json2token.py").string(),
                                            (tmp / "in.json").string(), (tmp / "out.json").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto expected = nlohmann::json::parse(read_file(tmp / "out.json"));
  ASSERT_EQ(expected.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(data::json_to_tokens(values[i]), expected[i]) << values[i];
}

}  // namespace
}  // namespace automodel
