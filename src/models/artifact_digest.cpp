#include "models/artifact_digest.h"

#include "core/hex.h"

#include <array>
#include <fstream>
#include <memory>

#include <openssl/evp.h>

namespace seraph {

Status sha256_of_file(const std::filesystem::path& file, std::string& hex) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return not_found("cannot read " + file.string());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) return internal_error("SHA-256 is unavailable");
  std::array<char, 1 << 16> chunk;
  while (in) {
    in.read(chunk.data(), chunk.size());
    if (in.gcount() > 0) EVP_DigestUpdate(context.get(), chunk.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return internal_error("error reading " + file.string());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int size = 0;
  EVP_DigestFinal_ex(context.get(), digest.data(), &size);
  hex = to_hex({digest.data(), size});
  return {};
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace seraph
