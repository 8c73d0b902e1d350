// Dataset rows from Parquet files and Arrow IPC files/streams (what HF `datasets` writes with
// to_parquet, save_to_disk and in its cache), read with Apache Arrow C++ from the pyarrow wheel.
// Arrow's headers stay inside arrow_rows.cpp; this header needs neither Arrow nor torch.
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <vector>

#include "automodel/data/rows.h"

namespace automodel::data {

// False in a build configured without pyarrow (the readers then throw, saying so).
bool arrow_support();

// Every row as a JSON object keyed by column name: strings, numbers, bools and nulls as
// themselves, lists as arrays, structs as objects, binary as base64 strings (common/base64.h),
// dates and timestamps as ISO 8601 strings. Reads record batch by record batch and stops after
// `limit` rows. Errors name the file, the row group or batch, the row and the column.
std::vector<Row> read_parquet_rows(const std::filesystem::path& file,
                                   size_t limit = std::numeric_limits<size_t>::max());
// Arrow IPC: the file format ("ARROW1" magic) or the stream format `datasets` uses for .arrow.
std::vector<Row> read_arrow_ipc_rows(const std::filesystem::path& file,
                                     size_t limit = std::numeric_limits<size_t>::max());

}  // namespace automodel::data
