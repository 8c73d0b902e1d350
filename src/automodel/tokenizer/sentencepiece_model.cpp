#include "automodel/tokenizer/sentencepiece_model.h"

#include <sentencepiece_processor.h>

#include "automodel/common/error.h"

namespace automodel::tokenizer {
namespace {

class LibSentencePiece : public SentencePieceModel {
 public:
  explicit LibSentencePiece(const std::filesystem::path& path) {
    auto status = processor_.Load(path.string());
    AM_CHECK(status.ok(), "[tokenizer] {}: cannot load SentencePiece model: {}", path.string(), status.ToString());
  }
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int> ids;
    auto status = processor_.Encode(std::string(text), &ids);
    AM_CHECK(status.ok(), "[tokenizer] SentencePiece encode failed: {}", status.ToString());
    return {ids.begin(), ids.end()};
  }
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string text;
    auto status = processor_.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
    AM_CHECK(status.ok(), "[tokenizer] SentencePiece decode failed: {}", status.ToString());
    return text;
  }
  std::optional<int32_t> piece_to_id(std::string_view piece) const override {
    int id = processor_.PieceToId(std::string(piece));
    if (id == processor_.unk_id() && processor_.IdToPiece(id) != piece) return std::nullopt;
    return id;
  }
  std::optional<std::string> id_to_piece(int32_t id) const override {
    if (id < 0 || id >= processor_.GetPieceSize()) return std::nullopt;
    return processor_.IdToPiece(id);
  }
  bool is_control(int32_t id) const override {
    return id >= 0 && id < processor_.GetPieceSize() && processor_.IsControl(id);
  }
  size_t size() const override { return static_cast<size_t>(processor_.GetPieceSize()); }
  std::optional<int32_t> bos_id() const override { return processor_.bos_id() >= 0 ? std::optional<int32_t>(processor_.bos_id()) : std::nullopt; }
  std::optional<int32_t> eos_id() const override { return processor_.eos_id() >= 0 ? std::optional<int32_t>(processor_.eos_id()) : std::nullopt; }

 private:
  sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace

std::shared_ptr<SentencePieceModel> SentencePieceModel::load(const std::filesystem::path& path) {
  AM_CHECK(std::filesystem::exists(path), "[tokenizer] {}: no such file", path.string());
  return std::make_shared<LibSentencePiece>(path);
}

}  // namespace automodel::tokenizer
