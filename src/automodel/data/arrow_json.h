// Arrow arrays -> JSON values, one row at a time (the column types a dataset row can carry).
// Internal to the Arrow readers: includes Arrow headers, so only data/arrow_*.cpp include it.
#pragma once

#include <arrow/array.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace automodel::data::arrow_json {

// The JSON value of row `i` of the array a converter was made for.
using Converter = std::function<nlohmann::json(int64_t)>;

// A converter for `array` (its type is checked once here, not per row). `column` names it in
// errors (nested fields as "messages[].content"); `label` is the file. Throws automodel::Error
// for a type with no JSON form here. The array must be valid (Array::ValidateFull).
Converter make_converter(const std::shared_ptr<arrow::Array>& array, const std::string& column,
                         const std::string& label);

}  // namespace automodel::data::arrow_json
