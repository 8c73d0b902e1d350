// Integrity of downloaded hub blobs: an LFS file's etag is the sha256 of its bytes, so a blob
// whose bytes hash otherwise (a corrupted transfer, a broken proxy, a bad resumed part) is caught
// before it enters the cache.
#pragma once

#include <filesystem>
#include <string>

namespace automodel::hf {

// Lower-case hex sha256 of the file's bytes (read in chunks).
std::string sha256_hex(const std::filesystem::path& file);

// Whether `etag` names its blob by content (a 64-hex-digit LFS sha256) so it can be checked.
bool etag_is_sha256(const std::string& etag);

}  // namespace automodel::hf
