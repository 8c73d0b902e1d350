// Base64 (RFC 4648, standard alphabet, padded): binary dataset columns (image bytes in Parquet
// and Arrow files) travel through JSON rows as base64 strings.
#pragma once

#include <string>
#include <string_view>

namespace automodel {

std::string base64_encode(std::string_view bytes);
// Throws automodel::Error on characters outside the alphabet or a bad length/padding.
std::string base64_decode(std::string_view text);

}  // namespace automodel
