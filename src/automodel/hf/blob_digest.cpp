#include "automodel/hf/blob_digest.h"

#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <vector>

#include "automodel/common/error.h"

namespace automodel::hf {

std::string sha256_hex(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  AM_CHECK(in.good(), "[hub] cannot read {} to check its sha256", file.string());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  AM_CHECK(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "[hub] sha256 is unavailable (OpenSSL)");
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(in.gcount()));
  }
  AM_CHECK(in.eof(), "[hub] reading {} failed while checking its sha256", file.string());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

bool etag_is_sha256(const std::string& etag) {
  if (etag.size() != 64) return false;
  for (char c : etag)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace automodel::hf
