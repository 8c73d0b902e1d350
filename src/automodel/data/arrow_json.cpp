#include "automodel/data/arrow_json.h"

#include <arrow/extension_type.h>
#include <arrow/type.h>
#include <arrow/util/float16.h>
#include <fmt/format.h>

#include <chrono>

#include "automodel/common/base64.h"
#include "automodel/common/error.h"

namespace automodel::data::arrow_json {
namespace {

using nlohmann::json;

// Arrays of a concrete class, with nulls handled once for every type.
template <typename ArrayT, typename Fn>
Converter with_nulls(const std::shared_ptr<arrow::Array>& array, Fn value) {
  auto typed = std::static_pointer_cast<ArrayT>(array);
  if (typed->null_count() == 0) return [typed, value](int64_t i) -> json { return value(*typed, i); };
  return [typed, value](int64_t i) -> json { return typed->IsNull(i) ? json(nullptr) : json(value(*typed, i)); };
}

template <typename ArrayT>
Converter numbers(const std::shared_ptr<arrow::Array>& array) {
  return with_nulls<ArrayT>(array, [](const ArrayT& a, int64_t i) { return json(a.Value(i)); });
}

template <typename ArrayT>
Converter texts(const std::shared_ptr<arrow::Array>& array) {
  return with_nulls<ArrayT>(array, [](const ArrayT& a, int64_t i) { return json(std::string(a.GetView(i))); });
}

// Binary values have no JSON form; base64 keeps them lossless (image bytes decode back exactly).
template <typename ArrayT>
Converter bytes(const std::shared_ptr<arrow::Array>& array) {
  return with_nulls<ArrayT>(array, [](const ArrayT& a, int64_t i) { return json(base64_encode(a.GetView(i))); });
}

// "2024-03-01": days since 1970-01-01 as a proleptic Gregorian date (as Python's isoformat).
std::string iso_date(int64_t days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

// "2024-03-01T12:00:00[.fraction][Z]": the fraction only when non-zero, Z when the column has a
// time zone (Arrow stores those values in UTC).
std::string iso_timestamp(int64_t value, int64_t per_second, int digits, bool utc) {
  int64_t seconds = value / per_second, fraction = value % per_second;
  if (fraction < 0) {
    fraction += per_second;
    --seconds;
  }
  int64_t days = seconds / 86400, in_day = seconds % 86400;
  if (in_day < 0) {
    in_day += 86400;
    --days;
  }
  auto text = fmt::format("{}T{:02d}:{:02d}:{:02d}", iso_date(days), in_day / 3600, in_day / 60 % 60, in_day % 60);
  if (fraction != 0) text += fmt::format(".{:0{}d}", fraction, digits);
  return utc ? text + "Z" : text;
}

Converter timestamps(const std::shared_ptr<arrow::Array>& array) {
  const auto& type = static_cast<const arrow::TimestampType&>(*array->type());
  static constexpr int64_t kPerSecond[] = {1, 1000, 1000000, 1000000000};
  static constexpr int kDigits[] = {0, 3, 6, 9};
  auto unit = static_cast<int>(type.unit());
  bool utc = !type.timezone().empty();
  return with_nulls<arrow::TimestampArray>(array, [=](const arrow::TimestampArray& a, int64_t i) {
    return json(iso_timestamp(a.Value(i), kPerSecond[unit], kDigits[unit], utc));
  });
}

// list, large_list, list_view, fixed_size_list and map (a list of {key, value} structs).
template <typename ArrayT>
Converter lists(const std::shared_ptr<arrow::Array>& array, const std::string& column, const std::string& label) {
  auto typed = std::static_pointer_cast<ArrayT>(array);
  auto item = make_converter(typed->values(), column + "[]", label);
  return with_nulls<ArrayT>(array, [item](const ArrayT& a, int64_t i) {
    json out = json::array();
    int64_t begin = a.value_offset(i), end = begin + a.value_length(i);
    for (int64_t j = begin; j < end; ++j) out.push_back(item(j));
    return out;
  });
}

Converter structs(const std::shared_ptr<arrow::Array>& array, const std::string& column, const std::string& label) {
  auto typed = std::static_pointer_cast<arrow::StructArray>(array);
  std::vector<std::pair<std::string, Converter>> fields;
  for (int k = 0; k < typed->num_fields(); ++k) {
    const auto& name = typed->struct_type()->field(k)->name();
    fields.emplace_back(name, make_converter(typed->field(k), column + "." + name, label));
  }
  return with_nulls<arrow::StructArray>(array, [fields](const arrow::StructArray&, int64_t i) {
    json out = json::object();
    for (const auto& [name, field] : fields) out[name] = field(i);
    return out;
  });
}

// Dictionary-encoded values (Parquet string dictionaries, pandas categoricals) as the values.
Converter dictionary(const std::shared_ptr<arrow::Array>& array, const std::string& column, const std::string& label) {
  auto typed = std::static_pointer_cast<arrow::DictionaryArray>(array);
  auto value = make_converter(typed->dictionary(), column, label);
  return with_nulls<arrow::DictionaryArray>(
      array, [value](const arrow::DictionaryArray& a, int64_t i) { return value(a.GetValueIndex(i)); });
}

}  // namespace

Converter make_converter(const std::shared_ptr<arrow::Array>& array, const std::string& column,
                         const std::string& label) {
  using arrow::Type;
  switch (array->type_id()) {
    case Type::NA: return [](int64_t) { return json(nullptr); };
    case Type::BOOL: return numbers<arrow::BooleanArray>(array);
    case Type::INT8: return numbers<arrow::Int8Array>(array);
    case Type::INT16: return numbers<arrow::Int16Array>(array);
    case Type::INT32: return numbers<arrow::Int32Array>(array);
    case Type::INT64: return numbers<arrow::Int64Array>(array);
    case Type::UINT8: return numbers<arrow::UInt8Array>(array);
    case Type::UINT16: return numbers<arrow::UInt16Array>(array);
    case Type::UINT32: return numbers<arrow::UInt32Array>(array);
    case Type::UINT64: return numbers<arrow::UInt64Array>(array);
    case Type::FLOAT: return numbers<arrow::FloatArray>(array);
    case Type::DOUBLE: return numbers<arrow::DoubleArray>(array);
    case Type::HALF_FLOAT:
      return with_nulls<arrow::HalfFloatArray>(array, [](const arrow::HalfFloatArray& a, int64_t i) {
        return json(arrow::util::Float16::FromBits(a.Value(i)).ToFloat());
      });
    case Type::STRING: return texts<arrow::StringArray>(array);
    case Type::LARGE_STRING: return texts<arrow::LargeStringArray>(array);
    case Type::STRING_VIEW: return texts<arrow::StringViewArray>(array);
    case Type::BINARY: return bytes<arrow::BinaryArray>(array);
    case Type::LARGE_BINARY: return bytes<arrow::LargeBinaryArray>(array);
    case Type::BINARY_VIEW: return bytes<arrow::BinaryViewArray>(array);
    case Type::FIXED_SIZE_BINARY: return bytes<arrow::FixedSizeBinaryArray>(array);
    case Type::DATE32:
      return with_nulls<arrow::Date32Array>(array, [](const arrow::Date32Array& a, int64_t i) {
        return json(iso_date(a.Value(i)));
      });
    case Type::DATE64:  // milliseconds since the epoch, whole days by the format's rule
      return with_nulls<arrow::Date64Array>(array, [](const arrow::Date64Array& a, int64_t i) {
        int64_t ms = a.Value(i);
        return json(iso_date(ms / 86400000 - (ms % 86400000 < 0 ? 1 : 0)));
      });
    case Type::TIMESTAMP: return timestamps(array);
    // Decimals as their exact text: a JSON number would round them to a double.
    case Type::DECIMAL32:
      return with_nulls<arrow::Decimal32Array>(array, [](const auto& a, int64_t i) { return json(a.FormatValue(i)); });
    case Type::DECIMAL64:
      return with_nulls<arrow::Decimal64Array>(array, [](const auto& a, int64_t i) { return json(a.FormatValue(i)); });
    case Type::DECIMAL128:
      return with_nulls<arrow::Decimal128Array>(array, [](const auto& a, int64_t i) { return json(a.FormatValue(i)); });
    case Type::DECIMAL256:
      return with_nulls<arrow::Decimal256Array>(array, [](const auto& a, int64_t i) { return json(a.FormatValue(i)); });
    case Type::LIST: return lists<arrow::ListArray>(array, column, label);
    case Type::LARGE_LIST: return lists<arrow::LargeListArray>(array, column, label);
    case Type::LIST_VIEW: return lists<arrow::ListViewArray>(array, column, label);
    case Type::LARGE_LIST_VIEW: return lists<arrow::LargeListViewArray>(array, column, label);
    case Type::FIXED_SIZE_LIST: return lists<arrow::FixedSizeListArray>(array, column, label);
    case Type::MAP: return lists<arrow::MapArray>(array, column, label);
    case Type::STRUCT: return structs(array, column, label);
    case Type::DICTIONARY: return dictionary(array, column, label);
    case Type::EXTENSION:  // e.g. datasets' Array2D: the values as their storage type holds them
      return make_converter(std::static_pointer_cast<arrow::ExtensionArray>(array)->storage(), column, label);
    default:
      AM_FAIL("[data] {}: column '{}' has Arrow type {}, which has no JSON form here; expected one of string, "
              "integer, float, bool, null, binary, date, timestamp, decimal, list, struct, map, dictionary",
              label, column, array->type()->ToString());
  }
}

}  // namespace automodel::data::arrow_json
