#pragma once
// OpenSSL objects owned by std::unique_ptr, freed by their own free function.
#include <openssl/evp.h>

#include <memory>

namespace seraph {

template <class T, void (*Free)(T*)>
struct OpensslFree {
  void operator()(T* p) const { Free(p); }
};

using PkeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslFree<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;

// ES256's curve: JOSE writes each coordinate (and each half of a signature) in 32 bytes.
inline constexpr size_t kP256CoordinateBytes = 32;

}  // namespace seraph
