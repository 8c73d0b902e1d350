// `automodel tokenize DIR`: one JSON string per input line -> one JSON array of ids per line
// (with --decode, the reverse), using the folder's tokenizer.json + tokenizer_config.json.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/common/json_parse.h"
#include "automodel/hf/model_source.h"
#include "automodel/tokenizer/tokenizer_config.h"
#include "commands.h"

namespace automodel::cli {
namespace {

struct TokenizeArgs {
  std::string model, input;
  bool add_special_tokens = false, decode = false, skip_special_tokens = false;
  int threads = 0;
};

int run_tokenize(const TokenizeArgs& args) {
  auto loaded = tokenizer::load_tokenizer(hf::resolve_model_folder(args.model));
  std::ifstream file;
  if (!args.input.empty() && args.input != "-") {
    file.open(args.input);
    AM_CHECK(file.good(), "[tokenize] cannot open --input {}", args.input);
  }
  std::istream& in = file.is_open() ? static_cast<std::istream&>(file) : std::cin;
  const std::string source = file.is_open() ? args.input : "stdin";
  // Lines are processed in blocks so encoding runs on all cores while output stays in order.
  constexpr size_t kBlock = 4096;
  std::string line;
  size_t line_no = 0;
  std::vector<std::string> texts;
  auto flush = [&] {
    for (const auto& ids : loaded.tokenizer.encode_batch(texts, args.add_special_tokens, args.threads))
      std::cout << nlohmann::json(ids).dump() << '\n';
    texts.clear();
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto value = parse_json_or_discarded(line, source, line_no);
    AM_CHECK(!value.is_discarded(), "[tokenize] {} line {}: not valid JSON", source, line_no);
    if (args.decode) {
      AM_CHECK(value.is_array(), "[tokenize] {} line {}: expected a JSON array of ids, found {}", source, line_no, value.type_name());
      // transformers' decode drops unknown ids silently; an id outside the vocabulary here is a
      // mistake (another model's ids), so it is named.
      const auto vocab = static_cast<int64_t>(loaded.tokenizer.vocab_size());
      std::vector<int32_t> ids;
      for (const auto& v : value) {
        AM_CHECK(v.is_number_integer(), "[tokenize] {} line {}: ids must be integers, found {}", source, line_no, v.dump());
        bool known = !v.is_number_unsigned() || v.get<uint64_t>() <= INT32_MAX;
        known = known && v.get<int64_t>() >= 0 && v.get<int64_t>() <= INT32_MAX &&
                loaded.tokenizer.id_to_token(static_cast<int32_t>(v.get<int64_t>())).has_value();
        AM_CHECK(known, "[tokenize] {} line {}: token id {} is not in the vocabulary, expected an id from 0 to {} "
                 "(vocabulary size {})", source, line_no, v.dump(), vocab - 1, vocab);
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
      }
      std::string text = loaded.tokenizer.decode(ids, args.skip_special_tokens);
      if (loaded.config.clean_up_tokenization_spaces) text = tokenizer::clean_up_tokenization(text);
      std::cout << nlohmann::json(text).dump() << '\n';
      continue;
    }
    AM_CHECK(value.is_string(), "[tokenize] {} line {}: expected a JSON string, found {}", source, line_no, value.type_name());
    texts.push_back(value.get<std::string>());
    if (texts.size() == kBlock) flush();
  }
  if (!texts.empty()) flush();
  return 0;
}

}  // namespace

void add_tokenize(CLI::App& app, Runner& run) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Encode JSON strings to ids (or decode ids) with a model folder's tokenizer");
  cmd->add_option("model", args->model, "HF model folder (or cached hub id) with tokenizer.json")->required();
  cmd->add_option("--input", args->input, "file with one JSON value per line (default: stdin)");
  cmd->add_flag("--add-special-tokens", args->add_special_tokens, "apply the post-processor (BOS/EOS...)");
  cmd->add_flag("--decode", args->decode, "read arrays of ids, write JSON strings");
  cmd->add_flag("--skip-special-tokens", args->skip_special_tokens, "with --decode: drop special tokens");
  cmd->add_option("--threads", args->threads, "encoding threads (default: all cores)");
  cmd->callback([args, &run] { run = [args] { return run_tokenize(*args); }; });
}

}  // namespace automodel::cli
