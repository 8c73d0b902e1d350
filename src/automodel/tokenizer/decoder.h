// tokenizer.json "decoder": token strings -> text (ByteLevel, Metaspace, ByteFallback, Fuse,
// Strip, Replace, WordPiece, BPEDecoder, Sequence), as HF's decode_chain.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace automodel::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec, const std::string& where);

}  // namespace automodel::tokenizer
