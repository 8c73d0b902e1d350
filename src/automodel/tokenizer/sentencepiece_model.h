// SentencePiece `tokenizer.model` files, read without libsentencepiece (whose bundled protobuf
// clashes with LibTorch's in one process) and converted the way transformers converts them to
// a fast tokenizer (LlamaConverter / SentencePieceExtractor), so ids match HF's AutoTokenizer.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <filesystem>

namespace automodel::tokenizer {

// The equivalent tokenizer.json: BPE models -> byte-fallback BPE with merges extracted from
// piece scores; Unigram models -> Unigram. Errors name the file and the unsupported feature.
nlohmann::json sentencepiece_to_tokenizer_json(const std::filesystem::path& model_file);

}  // namespace automodel::tokenizer
