// Small string helpers shared by parsers and error messages.
#pragma once

#include <string>
#include <string_view>
#include <cstdint>
#include <vector>

namespace automodel {

std::vector<std::string> split(std::string_view text, char sep);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `name`, or "" if none is reasonably close.
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);
std::string human_bytes(double bytes);
std::string human_count(double count);

}  // namespace automodel

namespace automodel {
// "[2, 24, 64]"
std::string format_shape(const std::vector<int64_t>& shape);
}  // namespace automodel
