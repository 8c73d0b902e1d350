// A SentencePiece `tokenizer.model` (via Debian's libsentencepiece), used when a model folder
// has no tokenizer.json. Kept behind a small interface so the library's headers stay here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace automodel::tokenizer {

class SentencePieceModel {
 public:
  static std::shared_ptr<SentencePieceModel> load(const std::filesystem::path& path);
  virtual ~SentencePieceModel() = default;
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual std::optional<int32_t> piece_to_id(std::string_view piece) const = 0;
  virtual std::optional<std::string> id_to_piece(int32_t id) const = 0;
  virtual bool is_control(int32_t id) const = 0;  // <s>, </s> and other control pieces
  virtual size_t size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
};

}  // namespace automodel::tokenizer
