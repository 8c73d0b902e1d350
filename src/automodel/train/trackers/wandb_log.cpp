#include "automodel/train/trackers/wandb_log.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "automodel/common/error.h"

namespace automodel::train {
namespace wandb_log {
namespace {

enum ChunkType : uint8_t { kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

template <typename T>
void put_le(std::string& out, T v) {  // the format is little-endian, as the hosts
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  out.append(raw, sizeof(T));
}

void put_chunk(std::string& out, ChunkType type, std::string_view data) {
  const auto type_byte = static_cast<Bytef>(type);
  uLong crc = crc32(crc32(0L, Z_NULL, 0), &type_byte, 1);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  put_le(out, static_cast<uint32_t>(crc));
  put_le(out, static_cast<uint16_t>(data.size()));
  out.push_back(static_cast<char>(type));
  out.append(data);
}

}  // namespace

std::string file_header() {
  std::string h = ":W&B";
  put_le(h, static_cast<uint16_t>(0xBEE1));
  h.push_back('\0');
  return h;
}

std::string frame(std::string_view record, uint64_t offset) {
  std::string out;
  size_t left_in_block = kBlock - offset % kBlock;
  if (left_in_block < kChunkHeader) {  // no room for a chunk header: pad to the next block
    out.append(left_in_block, '\0');
    left_in_block = kBlock;
  }
  if (record.size() + kChunkHeader <= left_in_block) {
    put_chunk(out, kFull, record);
    return out;
  }
  // FIRST fills this block, MIDDLEs fill whole blocks, LAST holds the rest.
  size_t used = left_in_block - kChunkHeader;
  put_chunk(out, kFirst, record.substr(0, used));
  while (record.size() - used > kBlock - kChunkHeader) {
    put_chunk(out, kMiddle, record.substr(used, kBlock - kChunkHeader));
    used += kBlock - kChunkHeader;
  }
  put_chunk(out, kLast, record.substr(used));
  return out;
}

}  // namespace wandb_log

WandbLogWriter::WandbLogWriter(const std::filesystem::path& file) : path_(file) {
  file_ = std::fopen(path_.c_str(), "wbx");
  AM_CHECK(file_ != nullptr, "cannot create {}: {}", path_.string(), std::strerror(errno));
  write(wandb_log::file_header());
}

WandbLogWriter::~WandbLogWriter() {
  if (file_) std::fclose(file_);
}

void WandbLogWriter::append(std::string_view record) { write(wandb_log::frame(record, offset_)); }

void WandbLogWriter::write(const std::string& bytes) {
  AM_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), file_) == bytes.size() && std::fflush(file_) == 0,
           "cannot write {}: {}", path_.string(), std::strerror(errno));
  offset_ += bytes.size();
}

}  // namespace automodel::train
