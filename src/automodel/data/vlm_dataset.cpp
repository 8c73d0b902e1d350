#include "automodel/data/vlm_dataset.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <algorithm>
#include <map>

#include "automodel/common/atomic_file.h"
#include "automodel/common/base64.h"
#include "automodel/common/error.h"
#include "automodel/common/fnv_hash.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/data/dataset_cache.h"
#include "automodel/data/formats.h"
#include "automodel/data/hub_dataset.h"
#include "automodel/data/packing.h"
#include "automodel/data/parallel.h"
#include "automodel/data/recipe_loader.h"
#include "automodel/data/rows.h"
#include "automodel/data/token_ids.h"
#include "automodel/tokenizer/assistant_mask.h"

namespace automodel::data {
namespace {

namespace fs = std::filesystem;
using config::Component;
using nlohmann::json;

// How datasets write an image's place in a text turn (LLaVA, ShareGPT, LLaMA-Factory, UniMM-Chat).
constexpr std::string_view kPlaceholder = "<image>";

const json& required(const json& row, const std::string& name) {
  if (!row.is_object() || !row.contains(name) || row[name].is_null())
    throw InvalidSample(fmt::format("missing field '{}'", name));
  return row[name];
}

std::string text_of(const json& row, const std::string& name) {
  const auto& v = required(row, name);
  if (!v.is_string()) throw InvalidSample(fmt::format("field '{}' must be a string, found {}", name, v.type_name()));
  return v.get<std::string>();
}

// A path string, {"path": ...}, or {"bytes": ...} (an image column of a Parquet/Arrow file, whose
// bytes our readers give as base64).
ImageSource image_source(const json& v, const fs::path& base) {
  ImageSource out;
  if (v.is_object() && v.contains("bytes") && v["bytes"].is_string()) {
    out.bytes = base64_decode(v["bytes"].get<std::string>());
    if (!out.bytes.empty()) return out;
  }
  const json* path = v.is_string() ? &v : (v.is_object() && v.contains("path") ? &v["path"] : nullptr);
  if (!path || !path->is_string() || path->get<std::string>().empty())
    throw InvalidSample(fmt::format("an image must be a path or {{bytes|path}}, found {}", v.dump().substr(0, 80)));
  out.path = path->get<std::string>();
  if (out.path.is_relative()) out.path = base / out.path;
  return out;
}

json text_item(const std::string& text) { return {{"type", "text"}, {"text", text}}; }
json image_item() { return {{"type", "image"}}; }

// A text turn with <image> placeholders -> content items in order.
json split_placeholders(const std::string& text) {
  json items = json::array();
  size_t at = 0;
  for (size_t p; (p = text.find(kPlaceholder, at)) != std::string::npos; at = p + kPlaceholder.size()) {
    if (p > at) items.push_back(text_item(text.substr(at, p - at)));
    items.push_back(image_item());
  }
  if (at < text.size()) items.push_back(text_item(text.substr(at)));
  return items;
}

// Messages of a conversation row, every content a list of items; images named inside items are
// appended to `images` in order, the row's own list (`images` / `image`) fills the others.
VlmConversation conversation_row(const json& row, const fs::path& base) {
  if (!row.is_object()) throw InvalidSample(fmt::format("expected a JSON object, found {}", row.type_name()));
  json messages;
  if (row.contains("messages")) messages = row["messages"];
  else if (row.contains("conversation")) messages = row["conversation"];
  else if (row.contains("conversations")) messages = sharegpt_to_messages(row["conversations"]);
  else throw InvalidSample("missing field 'messages' (or 'conversation', or ShareGPT 'conversations')");
  if (!messages.is_array() || messages.empty()) throw InvalidSample("'messages' must be a non-empty list");
  std::vector<ImageSource> listed;
  if (row.contains("images") && !row["images"].is_null()) {
    if (!row["images"].is_array()) throw InvalidSample("'images' must be a list");
    for (const auto& v : row["images"]) listed.push_back(image_source(v, base));
  } else if (row.contains("image") && !row["image"].is_null()) {
    listed.push_back(image_source(row["image"], base));
  }
  VlmConversation out;
  out.messages = json::array();
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw InvalidSample("every message needs a string 'role'");
    json items = json::array();
    const auto& content = m.contains("content") ? m["content"] : json();
    if (content.is_string()) {
      items = split_placeholders(content.get<std::string>());
    } else if (content.is_array()) {
      for (const auto& item : content) {
        const auto type = item.is_object() ? item.value("type", std::string()) : "";
        if (type == "text") {
          items.push_back(text_item(text_of(item, "text")));
        } else if (type == "image" || type == "image_url") {
          for (const char* key : {"image", "path", "url", "image_url"})
            if (item.contains(key) && !item[key].is_null()) {
              out.images.push_back(image_source(item[key], base));
              break;
            }
          items.push_back(image_item());
        } else {
          throw InvalidSample(fmt::format("content items must be of type text or image, found {}", item.dump().substr(0, 80)));
        }
      }
    } else {
      throw InvalidSample("message content must be a string or a list of items");
    }
    out.messages.push_back({{"role", m["role"]}, {"content", items}});
  }
  // Image items without a source of their own take the row's list, in order.
  size_t items_total = 0;
  for (const auto& m : out.messages)
    for (const auto& item : m["content"]) items_total += item["type"] == "image";
  if (!out.images.empty() && !listed.empty())
    throw InvalidSample("images are named both inside the messages and in the row's 'images'; use one or the other");
  if (out.images.empty()) out.images = std::move(listed);
  if (items_total != out.images.size())
    throw InvalidSample(fmt::format("the messages have {} image placeholder(s) but the row gives {} image(s)",
                                    items_total, out.images.size()));
  return out;
}

// AutoModel's single-image builders: a fixed user prompt and the image, then the answer.
VlmConversation question_answer(ImageSource image, const std::string& question, const std::string& answer) {
  VlmConversation out;
  out.images.push_back(std::move(image));
  out.messages = json::array({{{"role", "user"}, {"content", json::array({image_item(), text_item(question)})}},
                              {{"role", "assistant"}, {"content", json::array({text_item(answer)})}}});
  return out;
}

// cord-v2's ground_truth: a JSON string whose gt_parse (or the first of gt_parses) is the target.
std::string cord_target(const json& row) {
  auto ground_truth = json::parse(text_of(row, "ground_truth"), nullptr, false);
  if (ground_truth.is_discarded() || !ground_truth.is_object())
    throw InvalidSample("'ground_truth' is not a JSON object");
  if (ground_truth.contains("gt_parses") && ground_truth["gt_parses"].is_array() && !ground_truth["gt_parses"].empty())
    return json_to_tokens(ground_truth["gt_parses"][0]);
  if (!ground_truth.contains("gt_parse")) throw InvalidSample("'ground_truth' has no gt_parse");
  return json_to_tokens(ground_truth["gt_parse"]);
}

// Rows of a file, with the folder its relative image paths start from.
fs::path image_base(const std::string& path) {
  fs::path p(path);
  return fs::is_directory(p) ? p : p.parent_path();
}

}  // namespace

std::string vlm_chat_template(const vision::VlmProcessorConfig& processor, const tokenizer::LoadedTokenizer& tok) {
  if (!processor.chat_template.empty()) return processor.chat_template;
  return tok.config.chat_templates.count("default") ? tok.chat_template() : std::string();
}

void expand_image_tokens(std::vector<int32_t>& ids, std::vector<uint8_t>* supervised, int32_t image_token,
                         const std::vector<const vision::PixelValues*>& images,
                         const vision::VlmProcessorConfig& processor) {
  const auto placeholders = static_cast<size_t>(std::count(ids.begin(), ids.end(), image_token));
  if (processor.textual()) {  // already expanded in the text
    size_t expected = 0;
    for (const auto* image : images) expected += static_cast<size_t>(processor.tokens_for(*image));
    if (placeholders != expected)
      throw InvalidSample(fmt::format("{} image tokens '{}' for {} image(s) that take {}", placeholders,
                                      processor.image_token, images.size(), expected));
    if (supervised)
      for (size_t t = 0; t < ids.size(); ++t)
        if (ids[t] == image_token) (*supervised)[t] = 0;
    return;
  }
  if (placeholders != images.size())
    throw InvalidSample(fmt::format("the chat template rendered {} image token(s) '{}' for {} image(s)", placeholders,
                                    processor.image_token, images.size()));
  std::vector<int32_t> out_ids;
  std::vector<uint8_t> out_supervised;
  size_t next = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    const bool image = ids[t] == image_token;
    const auto copies = image ? static_cast<size_t>(processor.tokens_for(*images[next++])) : 1;
    out_ids.insert(out_ids.end(), copies, ids[t]);
    if (supervised) out_supervised.insert(out_supervised.end(), copies, image ? 0 : (*supervised)[t]);
  }
  ids = std::move(out_ids);
  if (supervised) *supervised = std::move(out_supervised);
}

std::string ImageSource::key() const {
  if (bytes.empty()) return "path:" + path.lexically_normal().string();
  Fnv1a hash;
  hash.add(bytes);
  return fmt::format("bytes:{}:{}", hash.hex(), bytes.size());
}

std::string json_to_tokens(const json& value) {
  if (value.is_object()) {
    if (value.size() == 1 && value.contains("text_sequence")) return json_to_tokens(value["text_sequence"]);
    std::vector<std::string> keys;
    for (const auto& [k, _] : value.items()) keys.push_back(k);
    std::sort(keys.rbegin(), keys.rend());
    std::string out;
    for (const auto& k : keys) out += "<s_" + k + ">" + json_to_tokens(value[k]) + "</s_" + k + ">";
    return out;
  }
  if (value.is_array()) {
    std::vector<std::string> parts;
    for (const auto& v : value) parts.push_back(json_to_tokens(v));
    return join(parts, "<sep/>");
  }
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";  // Python's str()
  if (value.is_null()) return "None";
  return value.dump();
}

VlmConversation vlm_conversation(const config::DatasetSection& section, const json& row, const fs::path& base) {
  switch (section.kind) {
    case Component::kVlmConversationDataset:
      return conversation_row(row, base);
    case Component::kVlmRdrDataset:
      return question_answer(image_source(required(row, "image"), base), "Describe this image.", text_of(row, "text"));
    case Component::kVlmCordV2Dataset:
      return question_answer(image_source(required(row, "image"), base), "Describe this image.", cord_target(row));
    case Component::kVlmMedpixDataset:
      return question_answer(image_source(required(row, "image_id"), base), text_of(row, "question"),
                             text_of(row, "answer"));
    default:
      AM_FAIL("[data] {}: not a VLM dataset", section.label);
  }
}

// Preprocessed images on disk: "AMIMG2", then per image its shape, grid, tiles and values (native
// endianness: a cache is this machine's). A file that does not read back whole is a miss.
constexpr std::string_view kImageCacheMagic = "AMIMG2";

static void save_cached_images(const fs::path& file, const std::vector<vision::PixelValues>& images) {
  std::string out(kImageCacheMagic);
  auto put = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  auto put_list = [&](const auto& v) {
    const uint64_t n = v.size();
    put(&n, sizeof n);
    put(v.data(), n * sizeof(v[0]));
  };
  const uint64_t count = images.size();
  put(&count, sizeof count);
  for (const auto& image : images) {
    put_list(image.shape);
    put_list(image.grid_thw);
    put_list(image.tiles);
    put_list(image.values);
  }
  fs::create_directories(file.parent_path());
  write_file_atomic(file, out);
}

static bool load_cached_images(const fs::path& file, std::vector<vision::PixelValues>& images) {
  if (!fs::is_regular_file(file)) return false;
  const auto data = read_file(file);
  size_t at = kImageCacheMagic.size();
  if (data.compare(0, at, kImageCacheMagic) != 0) return false;
  auto take = [&](void* p, size_t n) {
    if (at + n > data.size()) return false;
    std::memcpy(p, data.data() + at, n);
    at += n;
    return true;
  };
  auto take_list = [&](auto& v) {
    uint64_t n = 0;
    if (!take(&n, sizeof n) || n > (data.size() - at) / sizeof(v[0])) return false;
    v.resize(n);
    return take(v.data(), n * sizeof(v[0]));
  };
  uint64_t count = 0;
  if (!take(&count, sizeof count) || count != images.size()) return false;
  std::vector<vision::PixelValues> read(count);
  for (auto& image : read)
    if (!take_list(image.shape) || !take_list(image.grid_thw) || !take_list(image.tiles) ||
        !take_list(image.values)) return false;
  if (at != data.size()) return false;
  images = std::move(read);
  return true;
}

// A textual expansion (Gemma 3, Idefics3): the rendered text with every placeholder expanded, tokenized
// again, and the assistant spans moved with it (a token is supervised when it starts inside one,
// as for the plain render).
static void expand_image_text(tokenizer::MaskedConversation& rendered, const tokenizer::LoadedTokenizer& tok,
                              const vision::VlmProcessorConfig& processor,
                              const std::vector<const vision::PixelValues*>& images) {
  size_t placeholders = 0;
  for (size_t at = 0; (at = rendered.text.find(processor.placeholder, at)) != std::string::npos;
       at += processor.placeholder.size())
    ++placeholders;
  if (placeholders != images.size())
    throw InvalidSample(fmt::format("the chat template rendered {} image placeholder(s) '{}' for {} image(s)",
                                    placeholders, processor.placeholder, images.size()));
  std::vector<size_t> shift;
  rendered.text = processor.expand_text(rendered.text, images, &shift);
  rendered.ids = tok.tokenizer.encode(rendered.text, false);
  const auto offsets = tok.tokenizer.offsets(rendered.text, rendered.ids);
  rendered.supervised.assign(rendered.ids.size(), 0);
  for (auto& span : rendered.spans) {
    span.chars = {shift[span.chars.first], shift[span.chars.second]};
    for (size_t t = 0; t < rendered.ids.size(); ++t) {
      const auto [s, e] = offsets[t];
      if (e > s && s >= span.chars.first && s < span.chars.second) rendered.supervised[t] = 1;
    }
  }
}

VlmDataset build_vlm_dataset(const config::DatasetSection& section, const tokenizer::LoadedTokenizer& tok,
                             const vision::VlmProcessorConfig& processor) {
  VlmDataset out;
  out.images = std::make_shared<std::vector<vision::PixelValues>>();
  auto rows = read_rows(section.path, section.split,
                        section.limit_samples >= 0 ? static_cast<size_t>(section.limit_samples) : SIZE_MAX);
  out.tokens.stats.rows = rows.size();
  const auto base = image_base(section.path);
  const auto image_token = tok.tokenizer.token_to_id(processor.image_token);
  AM_CHECK(image_token, "[data] {}: the processor's image token '{}' is not in the tokenizer's vocabulary",
           section.label, processor.image_token);
  const auto template_source =
      !section.chat_template.empty() ? section.chat_template : vlm_chat_template(processor, tok);
  AM_CHECK(!template_source.empty(), "[data] {}: VLM rows need a chat template: neither the processor nor the "
           "tokenizer has one; set {}.chat_template", section.label, section.label);
  tokenizer::ChatTemplate chat_template(template_source, section.label + ".chat_template");

  // Rows -> conversations (cheap), their images listed once each.
  std::vector<VlmConversation> conversations(rows.size());
  std::vector<std::vector<uint32_t>> row_images(rows.size());
  std::vector<std::string> errors(rows.size());
  std::map<std::string, uint32_t> image_index;
  std::vector<ImageSource> sources;
  for (size_t i = 0; i < rows.size(); ++i) {
    try {
      conversations[i] = vlm_conversation(section, rows[i].value, base);
      for (const auto& image : conversations[i].images) {
        auto [it, added] = image_index.emplace(image.key(), static_cast<uint32_t>(sources.size()));
        if (added) sources.push_back(image);
        row_images[i].push_back(it->second);
      }
    } catch (const InvalidSample& e) {
      errors[i] = e.what();
    }
  }

  // Decode and preprocess every image once, on all cores, or read them all from the cache.
  out.images->resize(sources.size());
  std::vector<std::string> image_errors(sources.size());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> bytes(sources.size());  // read once: hashed for the cache key, then decoded
  for (size_t i = 0; i < sources.size(); ++i) {
    try {
      bytes[i] = sources[i].bytes.empty() ? read_file(sources[i].path) : sources[i].bytes;
    } catch (const std::exception& e) {
      image_errors[i] = e.what();
    }
  }
  const auto cache_dir = dataset_cache_dir();
  fs::path cache_file;
  if (!cache_dir.empty()) {
    Fnv1a key;
    key.add(vision::fingerprint(processor.image));
    for (size_t i = 0; i < sources.size(); ++i) key.add(image_errors[i].empty() ? bytes[i] : "unreadable");
    cache_file = cache_dir / ("images-" + key.hex() + ".bin");
  }
  if (!cache_file.empty() && load_cached_images(cache_file, *out.images)) {
    log_info("{}: {} preprocessed images from the cache ({})", section.label, sources.size(), cache_file.string());
  } else {
    parallel_chunks(sources.size(), 1, "preprocessing images of " + section.label, "images", [&](size_t i, size_t) {
      if (!image_errors[i].empty()) return;
      const auto& s = sources[i];
      try {
        auto image = vision::decode_image(bytes[i], s.bytes.empty() ? s.path.string() : "an embedded image");
        (*out.images)[i] = vision::preprocess(processor.image, image);
      } catch (const std::exception& e) {
        image_errors[i] = e.what();
      }
      bytes[i].clear();
      bytes[i].shrink_to_fit();
    });
    const bool all_good = std::all_of(image_errors.begin(), image_errors.end(), [](const auto& e) { return e.empty(); });
    if (!cache_file.empty() && all_good) {
      try {
        save_cached_images(cache_file, *out.images);
      } catch (const std::exception& e) {
        log_warn("{}: could not write the image cache: {}", section.label, e.what());
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.images_per_second = seconds > 0 ? static_cast<double>(sources.size()) / seconds : 0;

  // Render, tokenize, expand the image placeholders.
  std::vector<Sample> samples(rows.size());
  enum class Drop : uint8_t { kNone, kTooLong };
  std::vector<Drop> dropped(rows.size(), Drop::kNone);
  {
    parallel_chunks(rows.size(), 1, "tokenizing " + section.label, "rows", [&](size_t i, size_t) {
      if (!errors[i].empty()) return;
      try {
        for (auto image : row_images[i])
          if (!image_errors[image].empty()) throw InvalidSample(image_errors[image]);
        auto context = tokenizer::chat_template_context(tok.config, conversations[i].messages, json(), false);
        auto rendered = tokenizer::render_with_assistant_masks(chat_template, tok.tokenizer, context,
                                                               tokenizer::AssistantMaskRule::kContentAndEndOfTurn);
        std::vector<const vision::PixelValues*> images;
        for (auto image : row_images[i]) images.push_back(&(*out.images)[image]);
        if (processor.textual()) expand_image_text(rendered, tok, processor, images);
        auto ids = std::move(rendered.ids);
        auto supervised = std::move(rendered.supervised);
        if (!section.answer_only_loss_mask) supervised.assign(ids.size(), 1);
        expand_image_tokens(ids, &supervised, *image_token, images, processor);
        if (section.seq_length > 0 && static_cast<int64_t>(ids.size()) > section.seq_length) {
          dropped[i] = Drop::kTooLong;
          return;
        }
        samples[i] = make_sample(std::move(ids), supervised);
      } catch (const std::runtime_error& e) {  // InvalidSample, or an Error of the template or tokenizer
        errors[i] = e.what();
      }
    });
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (dropped[i] == Drop::kTooLong) {
      ++out.longer_than_seq_length;
      continue;
    }
    if (!errors[i].empty()) {
      auto where = fmt::format("{} {}", section.path, rows[i].position());
      AM_CHECK(section.skip_invalid_samples, "[data] {}: {}: {} (set {}.skip_invalid_samples: true to skip such rows)",
               section.label, where, errors[i], section.label);
      if (out.tokens.stats.skipped++ == 0) out.tokens.stats.first_skip_reason = fmt::format("{}: {}", rows[i].position(), errors[i]);
      continue;
    }
    out.tokens.stats.tokens += static_cast<int64_t>(samples[i].ids.size());
    out.tokens.stats.target_tokens += count_targets(samples[i]);
    out.tokens.samples.push_back(std::move(samples[i]));
    out.sample_images.push_back(std::move(row_images[i]));
  }
  out.tokens.stats.samples = out.tokens.samples.size();
  return out;
}

DataLoader make_vlm_loader(const config::DatasetSection& given, const tokenizer::LoadedTokenizer& tokenizer,
                           const vision::VlmProcessorConfig& processor, const LoaderOptions& o) {
  config::DatasetSection section = given;
  section.path = resolve_dataset_path(section.path, section.split);
  auto dataset = build_vlm_dataset(section, tokenizer, processor);
  const auto& st = dataset.tokens.stats;
  log_info("{}: {} samples from {} rows, {} images ({:.1f} images/s), {} tokens ({} in the loss){}", section.label,
           st.samples, st.rows, dataset.images->size(), dataset.images_per_second,
           human_count(static_cast<double>(st.tokens)), human_count(static_cast<double>(st.target_tokens)),
           st.skipped ? fmt::format("; skipped {} invalid (first: {})", st.skipped, st.first_skip_reason) : "");
  if (dataset.longer_than_seq_length)
    log_info("{}: dropped {} sample(s) longer than seq_length {} with their image tokens", section.label,
             dataset.longer_than_seq_length, section.seq_length);
  AM_CHECK(!dataset.tokens.samples.empty(), "[data] {}: no usable sample in {}", section.label, section.path);
  check_token_ids(dataset.tokens, section, o.vocab_size, o.vocab_source, static_cast<int64_t>(tokenizer.tokenizer.vocab_size()));
  std::vector<TrainingRow> rows;
  for (size_t i = 0; i < dataset.tokens.samples.size(); ++i) {
    rows.push_back(to_row(dataset.tokens.samples[i]));
    rows.back().images = dataset.sample_images[i];
  }
  const int32_t pad = tokenizer.pad_id.value_or(tokenizer.eos_id.value_or(0));
  BatchShape shape;
  if (section.pad_to_max_length) shape.min_length = section.seq_length;
  shape.multiple = section.pad_to_multiple_of;
  return DataLoader(std::move(rows), o.batch_size, o.shuffle, o.seed, pad, o.drop_last, shape, dataset.images);
}

}  // namespace automodel::data
