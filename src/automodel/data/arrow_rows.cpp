#include "automodel/data/arrow_rows.h"

#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/record_batch.h>
#include <parquet/arrow/reader.h>

#include <cctype>

#include "automodel/common/error.h"
#include "automodel/data/arrow_json.h"

namespace fs = std::filesystem;

namespace automodel::data {
namespace {

void check(const arrow::Status& status, const std::string& where) {
  if (status.ok()) return;
  auto message = status.ToString();
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  AM_FAIL("[data] {}: {}", where, message);
}

template <typename T>
T value_of(arrow::Result<T> result, const std::string& where) {
  check(result.status(), where);
  return std::move(result).ValueUnsafe();
}

// Appends a batch's rows (at most `limit` rows in all). `where` says which part of the file the
// batch is ("row group 2"); rows are numbered from 1 across the whole file.
void append_batch(const arrow::RecordBatch& batch, const std::string& label, const std::string& where, size_t limit,
                  std::vector<Row>& rows) {
  // Untrusted files: validate offsets, lengths and UTF-8 before reading any value, so a corrupt
  // file is an error naming the column, never a read out of bounds.
  std::string span = fmt::format("{} {} (rows {}-{})", label, where, rows.size() + 1, rows.size() + batch.num_rows());
  std::vector<arrow_json::Converter> columns;
  for (int c = 0; c < batch.num_columns(); ++c) {
    const auto& name = batch.schema()->field(c)->name();
    check(batch.column(c)->ValidateFull(), fmt::format("{} column '{}': corrupt data", span, name));
    columns.push_back(arrow_json::make_converter(batch.column(c), name, label));
  }
  for (int64_t r = 0; r < batch.num_rows() && rows.size() < limit; ++r) {
    nlohmann::json row = nlohmann::json::object();
    for (int c = 0; c < batch.num_columns(); ++c) row[batch.schema()->field(c)->name()] = columns[c](r);
    rows.push_back({std::move(row), rows.size() + 1, true});
  }
}

// Parquet and Arrow C++ report most problems as Status, but a few paths throw (ParquetException,
// std::bad_alloc on absurd sizes): every failure leaves as an automodel::Error naming the file.
template <typename Fn>
std::vector<Row> guarded(const fs::path& file, Fn&& read) {
  AM_CHECK(fs::is_regular_file(file), "[data] {}: no such file", file.string());
  try {
    return read();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    AM_FAIL("[data] {}: cannot read ({})", file.string(), e.what());
  }
}

}  // namespace

bool arrow_support() { return true; }

std::vector<Row> read_parquet_rows(const fs::path& file, size_t limit) {
  return guarded(file, [&] {
    auto label = file.string();
    auto input = value_of(arrow::io::ReadableFile::Open(label), label);
    auto reader = value_of(parquet::arrow::OpenFile(input, arrow::default_memory_pool()),
                           label + ": not a readable Parquet file");
    reader->set_use_threads(false);  // one column at a time: rows are converted on this thread anyway
    reader->set_batch_size(4096);
    std::vector<Row> rows;
    for (int g = 0; g < reader->num_row_groups() && rows.size() < limit; ++g) {
      auto where = fmt::format("row group {}", g);
      auto batches = value_of(reader->GetRecordBatchReader({g}), label + " " + where);
      std::shared_ptr<arrow::RecordBatch> batch;
      while (rows.size() < limit) {
        check(batches->ReadNext(&batch), fmt::format("{} {} (after row {})", label, where, rows.size()));
        if (!batch) break;
        append_batch(*batch, label, where, limit, rows);
      }
    }
    return rows;
  });
}

std::vector<Row> read_arrow_ipc_rows(const fs::path& file, size_t limit) {
  return guarded(file, [&] {
    auto label = file.string();
    // Memory-mapped as `datasets` does: record batches reference the mapping, nothing is copied.
    auto input = value_of(arrow::io::MemoryMappedFile::Open(label, arrow::io::FileMode::READ), label);
    auto size = value_of(input->GetSize(), label);
    std::string magic;
    if (size >= 6) magic = value_of(input->ReadAt(0, 6), label)->ToString();
    std::vector<Row> rows;
    if (magic == "ARROW1") {  // the IPC file format (pyarrow.ipc.new_file, Feather v2)
      auto reader = value_of(arrow::ipc::RecordBatchFileReader::Open(input), label + ": not a readable Arrow IPC file");
      for (int b = 0; b < reader->num_record_batches() && rows.size() < limit; ++b) {
        auto where = fmt::format("record batch {}", b);
        auto batch = value_of(reader->ReadRecordBatch(b), label + " " + where);
        append_batch(*batch, label, where, limit, rows);
      }
      return rows;
    }
    // The IPC stream format: what `datasets` writes (save_to_disk, its cache).
    auto reader = value_of(arrow::ipc::RecordBatchStreamReader::Open(input),
                           label + ": not a readable Arrow IPC stream or file");
    std::shared_ptr<arrow::RecordBatch> batch;
    for (int b = 0; rows.size() < limit; ++b) {
      auto where = fmt::format("record batch {}", b);
      check(reader->ReadNext(&batch), label + " " + where);
      if (!batch) break;
      append_batch(*batch, label, where, limit, rows);
    }
    return rows;
  });
}

}  // namespace automodel::data
