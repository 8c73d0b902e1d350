// W&B's transaction log, the `run-<id>.wandb` file that `wandb sync` uploads: LevelDB's log
// framing (32 KiB blocks of chunks) under W&B's own file header, with plain CRC-32 checksums.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace automodel::train {

namespace wandb_log {
inline constexpr size_t kBlock = 32768;  // chunks never cross a block boundary
inline constexpr size_t kChunkHeader = 7;  // u32 crc, u16 length, u8 type
// The file header: ":W&B", u16 magic 0xBEE1, u8 version 0 (little-endian).
std::string file_header();
// The bytes that append `record` to a file now `offset` bytes long: zero padding when under a
// chunk header is left in the block, then one FULL chunk or FIRST, MIDDLE..., LAST chunks. Each
// chunk's crc is CRC-32 (zlib's) of its type byte followed by its data, unmasked.
std::string frame(std::string_view record, uint64_t offset);
}  // namespace wandb_log

// Writes a new transaction log (an existing file is an error: each run gets its own), one
// flushed record at a time so a crash keeps everything already logged.
class WandbLogWriter {
 public:
  explicit WandbLogWriter(const std::filesystem::path& file);
  ~WandbLogWriter();
  WandbLogWriter(const WandbLogWriter&) = delete;
  WandbLogWriter& operator=(const WandbLogWriter&) = delete;

  void append(std::string_view record);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write(const std::string& bytes);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
};

}  // namespace automodel::train
