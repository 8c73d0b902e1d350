// One declaration per recipe key: name, type, default, doc and use, bound to the field of the typed
// section it fills. The declarations drive parsing, the schema (unknown keys, "no effect here"
// notes), docs/recipe-keys.md and the dataset cache key.
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "automodel/hf/json_fields.h"

namespace automodel::config {

// What a recipe key does here (DESIGN §1.4: no key accepted without effect).
enum class KeyUse {
  kEffect,     // read and acted on
  kValidated,  // read and checked against what this build does (e.g. amsgrad must be false)
  kNoEffect,   // accepted and reported at start with `reason`
};

// How a dataset key reaches the tokenized-dataset cache key (data/dataset_cache.h). Every dataset
// key says which, so a new one cannot silently reuse a stale cache.
enum class CacheKey {
  kNotDataset,  // keys of other sections
  kValue,       // shapes the samples: its typed value is hashed
  kContent,     // names files whose bytes are hashed instead of the name (data files, tokenizer)
  kNone,        // does not change the samples (batch-time padding, keys without effect)
};

// The untyped view of a declaration: what the schema, the "no effect" report and the docs read.
struct KeySpec {
  std::string name;
  KeyUse use = KeyUse::kEffect;
  std::string reason;         // why it has no effect (kNoEffect only)
  std::string type;           // for the docs: "integer", "string", ...
  std::string default_value;  // for the docs; "" = none
  std::string doc;
  CacheKey cache = CacheKey::kNotDataset;
};

namespace key_detail {

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
template <typename>
inline constexpr bool kNoReader = false;

// The field's value as read from the recipe; errors name the field and what was found.
template <typename T>
T read_as(const hf::JsonFields& f, const std::string& key) {
  if constexpr (std::is_same_v<T, std::string>) return f.get_string(key);
  else if constexpr (std::is_same_v<T, bool>) return f.get_bool(key);
  else if constexpr (std::is_same_v<T, double>) return f.get_double(key);
  else if constexpr (std::is_same_v<T, int64_t>) return f.get_int(key);
  else if constexpr (std::is_same_v<T, uint64_t>) return static_cast<uint64_t>(f.get_int(key));
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return f.get_string_list(key);
  else if constexpr (is_optional<T>::value) return T(read_as<typename T::value_type>(f, key));
  else static_assert(kNoReader<T>, "no generic reader for this field type: declare the key with a reader");
}

template <typename T>
std::string type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_floating_point_v<T>) return "number";
  else if constexpr (std::is_integral_v<T>) return "integer";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "list of strings";
  else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) return "mapping";
  else if constexpr (is_optional<T>::value) return type_name<typename T::value_type>() + " or null";
  else return "";
}

// The default as the docs show it; "" where the type has no plain spelling (the declaration says).
template <typename T>
std::string default_text(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return v;
  else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else if constexpr (std::is_arithmetic_v<T>) return fmt::format("{}", v);
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return nlohmann::json(v).dump();
  else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) return v.empty() ? "{}" : "";
  else if constexpr (is_optional<T>::value) return v ? default_text(*v) : "null";
  else return "";
}

template <typename T>
nlohmann::json json_of(const T& v) {
  if constexpr (std::is_enum_v<T>) return static_cast<int64_t>(v);
  else if constexpr (is_optional<T>::value) return v ? json_of(*v) : nlohmann::json();
  else return nlohmann::json(v);
}

}  // namespace key_detail

// A typed declaration. Build one with field / checked / no_effect, refine it with the setters.
template <typename S>
struct Key {
  using Reader = std::function<void(const hf::JsonFields&, S&)>;

  KeySpec spec;
  Reader read;                          // null: never read (no effect)
  std::function<bool(const S&)> when;   // read only when it holds (keys of one dataset format)
  std::function<nlohmann::json(const S&)> value;  // the field's value (dataset cache key)
  bool early = false;                   // read before the others (a key that turns the section off)

  // A key that fills `member` when present: its type, default (the field's initialiser) and value
  // come from the field.
  template <typename T>
  static Key field(std::string name, T S::*member, std::string doc) {
    return generic<T>(std::move(name), std::move(doc), [member](auto& s) -> auto& { return s.*member; });
  }
  // The same, through `read`: another spelling of the value, an enumeration, a cross-check.
  template <typename T>
  static Key field(std::string name, T S::*member, std::string doc, Reader read) {
    Key k = describe<T>(std::move(name), std::move(doc), [member](auto& s) -> auto& { return s.*member; });
    k.read = std::move(read);
    return k;
  }
  // A field of a section struct inside S (RecipeConfig::optimizer.lr).
  template <typename Sub, typename T>
  static Key field(std::string name, Sub S::*outer, T Sub::*member, std::string doc) {
    return generic<T>(std::move(name), std::move(doc), [outer, member](auto& s) -> auto& { return s.*outer.*member; });
  }
  template <typename Sub, typename T>
  static Key field(std::string name, Sub S::*outer, T Sub::*member, std::string doc, Reader read) {
    Key k = describe<T>(std::move(name), std::move(doc),
                        [outer, member](auto& s) -> auto& { return s.*outer.*member; });
    k.read = std::move(read);
    return k;
  }
  // A key read through `read` alone: it fills several fields, or none (a value that must be the
  // one this build supports, `allowed`, which is also its default).
  static Key custom(std::string name, KeyUse use, std::string type, std::string default_value, std::string doc,
                    Reader read) {
    return Key{KeySpec{std::move(name), use, "", std::move(type), std::move(default_value), std::move(doc)},
               std::move(read)};
  }
  static Key checked(std::string name, std::string type, std::string allowed, std::string doc, Reader read) {
    return custom(std::move(name), KeyUse::kValidated, std::move(type), std::move(allowed), std::move(doc),
                  std::move(read));
  }
  static Key no_effect(std::string name, std::string reason) {
    Key k;
    k.spec.name = std::move(name);
    k.spec.use = KeyUse::kNoEffect;
    k.spec.reason = std::move(reason);
    return k;
  }

  Key& validated() {
    spec.use = KeyUse::kValidated;
    return *this;
  }
  Key& type(std::string text) {
    spec.type = std::move(text);
    return *this;
  }
  // A default that depends on other keys or the environment, in words.
  Key& def(std::string text) {
    spec.default_value = std::move(text);
    return *this;
  }
  Key& cache(CacheKey how) {
    spec.cache = how;
    return *this;
  }
  Key& only_when(std::function<bool(const S&)> pred) {
    when = std::move(pred);
    return *this;
  }
  Key& first() {
    early = true;
    return *this;
  }
  // Runs after the read, whether or not the recipe sets the key: a range check, a default that
  // depends on other keys.
  Key& then(Reader after) {
    read = [before = std::move(read), after = std::move(after)](const hf::JsonFields& f, S& s) {
      if (before) before(f, s);
      after(f, s);
    };
    return *this;
  }

 private:
  // Type, default and value from the field `get(s)` refers to.
  template <typename T, typename Get>
  static Key describe(std::string name, std::string doc, Get get) {
    S defaults{};
    Key k{KeySpec{std::move(name), KeyUse::kEffect, "", key_detail::type_name<T>(),
                  key_detail::default_text(get(defaults)), std::move(doc)}};
    k.value = [get](const S& s) { return key_detail::json_of(get(s)); };
    return k;
  }
  template <typename T, typename Get>
  static Key generic(std::string name, std::string doc, Get get) {
    Key k = describe<T>(std::move(name), std::move(doc), get);
    k.read = [get, key = k.spec.name](const hf::JsonFields& f, S& s) {
      if (f.has(key)) get(s) = key_detail::read_as<T>(f, key);
    };
    return k;
  }
};

// Reads every declared key of a section from `f` into `s`, in declaration order (`first()` keys
// before the rest).
template <typename S>
void read_keys(const std::vector<Key<S>>& keys, const hf::JsonFields& f, S& s) {
  for (bool early : {true, false})
    for (const auto& k : keys)
      if (k.early == early && k.read && (!k.when || k.when(s))) k.read(f, s);
}

template <typename S>
std::vector<KeySpec> specs_of(const std::vector<Key<S>>& keys) {
  std::vector<KeySpec> out;
  for (const auto& k : keys) out.push_back(k.spec);
  return out;
}

// A section's declarations, what it is for (the docs) and the checks across its keys.
template <typename S>
struct Section {
  std::string name;
  std::string doc;
  std::vector<Key<S>> keys;
  typename Key<S>::Reader finish;  // after every key is read (null: none)

  void read(const hf::JsonFields& f, S& s) const {
    read_keys(keys, f, s);
    if (finish) finish(f, s);
  }
};

}  // namespace automodel::config
