#include "auth/jwt_key.h"

#include <array>
#include <cstring>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth/openssl_ptr.h"

namespace seraph {

namespace {

constexpr size_t kMinHmacSecretBytes = 32;
constexpr int kMinRsaBits = 2048;

using BioPtr = std::unique_ptr<BIO, OpensslFree<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpensslFree<X509, X509_free>>;
using MdContextPtr = std::unique_ptr<EVP_MD_CTX, OpensslFree<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpensslFree<ECDSA_SIG, ECDSA_SIG_free>>;

std::string describe(const std::string& kid) { return kid.empty() ? "key without kid" : fmt::format("key '{}'", kid); }

// The key in a PEM SubjectPublicKeyInfo, or failing that the key of a PEM certificate.
EvpPkeyPtr read_pem_public_key(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key) return key;
  bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return nullptr;
  return EvpPkeyPtr(X509_get_pubkey(certificate.get()));
}

bool is_p256(EVP_PKEY* key) {
  std::array<char, 64> group{};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &length) != 1) {
    return false;
  }
  return std::string_view(group.data(), length) == SN_X9_62_prime256v1;
}

// OpenSSL's own consistency checks of a public key (an EC point on its curve, a sane RSA modulus).
bool passes_public_check(EVP_PKEY* key) {
  PkeyContextPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return context && EVP_PKEY_public_check(context.get()) == 1;
}

// JOSE's ES256 signature is R || S, 32 bytes each (RFC 7518 section 3.4); OpenSSL verifies DER.
bool es256_signature_to_der(std::string_view raw, std::string& der) {
  if (raw.size() != 2 * kP256CoordinateBytes) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr signature(ECDSA_SIG_new());
  if (!signature) return false;
  BIGNUM* r = BN_bin2bn(bytes, kP256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kP256CoordinateBytes, kP256CoordinateBytes, nullptr);
  if (!r || !s || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  const int length = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (length <= 0) return false;
  der.resize(static_cast<size_t>(length));
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  return i2d_ECDSA_SIG(signature.get(), &out) == length;
}

}  // namespace

void EvpPkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void EvpMacContextFree::operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }

std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name) {
  if (name == "HS256") return JwtAlgorithm::kHs256;
  if (name == "RS256") return JwtAlgorithm::kRs256;
  if (name == "ES256") return JwtAlgorithm::kEs256;
  return std::nullopt;
}

std::string_view jwt_algorithm_name(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHs256: return "HS256";
    case JwtAlgorithm::kRs256: return "RS256";
    case JwtAlgorithm::kEs256: return "ES256";
  }
  return "unknown";
}

Status JwtKey::from_secret(std::string kid, std::string_view secret, std::optional<JwtKey>& out) {
  if (secret.size() < kMinHmacSecretBytes) {
    return invalid_argument(fmt::format("{}: an HS256 secret needs at least {} bytes, it has {}", describe(kid),
                                        kMinHmacSecretBytes, secret.size()));
  }
  std::unique_ptr<EVP_MAC, OpensslFree<EVP_MAC, EVP_MAC_free>> hmac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  EvpMacContextPtr keyed(hmac ? EVP_MAC_CTX_new(hmac.get()) : nullptr);
  char digest[] = OSSL_DIGEST_NAME_SHA2_256;
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!keyed ||
      EVP_MAC_init(keyed.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params) != 1) {
    ERR_clear_error();
    return internal_error("HMAC-SHA256 is unavailable");
  }
  out.emplace(JwtKey(std::move(kid), JwtAlgorithm::kHs256, std::move(keyed), nullptr));
  return {};
}

Status JwtKey::from_pem(std::string kid, JwtAlgorithm algorithm, std::string_view pem, std::optional<JwtKey>& out) {
  EvpPkeyPtr key = read_pem_public_key(pem);
  ERR_clear_error();  // the failed attempts leave their reasons on this thread's queue
  if (!key) {
    return invalid_argument(
        fmt::format("{}: not a PEM public key (SubjectPublicKeyInfo) or certificate", describe(kid)));
  }
  return from_public_key(std::move(kid), algorithm, std::move(key), out);
}

Status JwtKey::from_public_key(std::string kid, JwtAlgorithm algorithm, EvpPkeyPtr key, std::optional<JwtKey>& out) {
  const std::string name = describe(kid);
  switch (algorithm) {
    case JwtAlgorithm::kHs256: return invalid_argument(fmt::format("{}: HS256 takes a secret, not a public key", name));
    case JwtAlgorithm::kRs256:
      if (!EVP_PKEY_is_a(key.get(), "RSA")) return invalid_argument(fmt::format("{}: RS256 needs an RSA key", name));
      if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
        return invalid_argument(fmt::format("{}: an RSA key needs at least {} bits, it has {}", name, kMinRsaBits,
                                            EVP_PKEY_get_bits(key.get())));
      }
      break;
    case JwtAlgorithm::kEs256:
      if (!EVP_PKEY_is_a(key.get(), "EC") || !is_p256(key.get())) {
        return invalid_argument(fmt::format("{}: ES256 needs an EC key on P-256", name));
      }
      break;
  }
  const bool consistent = passes_public_check(key.get());
  ERR_clear_error();
  if (!consistent) return invalid_argument(fmt::format("{}: the public key fails OpenSSL's consistency check", name));
  out.emplace(JwtKey(std::move(kid), algorithm, {}, std::move(key)));
  return {};
}

Status JwtKey::verify(std::string_view signing_input, std::string_view signature) const {
  switch (algorithm_) {
    case JwtAlgorithm::kHs256: return verify_hmac(signing_input, signature);
    case JwtAlgorithm::kRs256: return verify_digest_signature(signing_input, signature);
    case JwtAlgorithm::kEs256: {
      std::string der;
      if (!es256_signature_to_der(signature, der)) {
        return {StatusCode::kUnauthenticated, "an ES256 signature is 64 bytes (R || S)"};
      }
      return verify_digest_signature(signing_input, der);
    }
  }
  return internal_error("unknown JWT algorithm");
}

Status JwtKey::verify_hmac(std::string_view signing_input, std::string_view signature) const {
  std::array<unsigned char, EVP_MAX_MD_SIZE> expected;
  size_t length = 0;
  const EvpMacContextPtr hmac(EVP_MAC_CTX_dup(keyed_hmac_.get()));
  if (!hmac ||
      EVP_MAC_update(hmac.get(), reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) !=
          1 ||
      EVP_MAC_final(hmac.get(), expected.data(), &length, expected.size()) != 1) {
    ERR_clear_error();
    return internal_error("HMAC-SHA256 is unavailable");
  }
  // The length is public (32 bytes); the comparison of the bytes must not leak where they differ.
  if (signature.size() != length || CRYPTO_memcmp(expected.data(), signature.data(), length) != 0) {
    return {StatusCode::kUnauthenticated, "signature does not match"};
  }
  return {};
}

Status JwtKey::verify_digest_signature(std::string_view signing_input, std::string_view der_signature) const {
  MdContextPtr context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, public_key_.get()) != 1) {
    ERR_clear_error();
    return internal_error("SHA-256 signature verification is unavailable");
  }
  // RS256 is PKCS #1 v1.5, OpenSSL's default padding for an RSA key.
  const int verdict = EVP_DigestVerify(
      context.get(), reinterpret_cast<const unsigned char*>(der_signature.data()), der_signature.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  if (verdict != 1) {
    ERR_clear_error();  // a malformed signature is a mismatch like any other
    return {StatusCode::kUnauthenticated, "signature does not match"};
  }
  return {};
}

}  // namespace seraph
