#include "jwt_signer.h"

#include <array>
#include <memory>
#include <stdexcept>
#include <vector>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/base64url.h"

namespace seraph::testing {

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL failed: ") + what);
}

std::string bignum_bytes(const BIGNUM* number, int width = 0) {
  const int size = width > 0 ? width : BN_num_bytes(number);
  std::string bytes(static_cast<size_t>(size), '\0');
  check(BN_bn2binpad(number, reinterpret_cast<unsigned char*>(bytes.data()), size) == size, "BN_bn2binpad");
  return bytes;
}

std::string bignum_param(EVP_PKEY* key, const char* name) {
  BIGNUM* value = nullptr;
  check(EVP_PKEY_get_bn_param(key, name, &value) == 1, name);
  std::string bytes = bignum_bytes(value);
  BN_free(value);
  return bytes;
}

std::string digest_sign(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  check(context && EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) == 1, "EVP_DigestSignInit");
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  check(EVP_DigestSign(context.get(), nullptr, &size, data, input.size()) == 1, "EVP_DigestSign size");
  std::string signature(size, '\0');
  check(
      EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data, input.size()) == 1,
      "EVP_DigestSign");
  signature.resize(size);
  return signature;
}

// DER ECDSA-Sig-Value -> JOSE's R || S.
std::string der_to_raw_es256(const std::string& der) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* signature = d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size()));
  check(signature != nullptr, "d2i_ECDSA_SIG");
  std::string raw = bignum_bytes(ECDSA_SIG_get0_r(signature), 32) + bignum_bytes(ECDSA_SIG_get0_s(signature), 32);
  ECDSA_SIG_free(signature);
  return raw;
}

std::string signing_input(std::string_view header_json, std::string_view payload_json) {
  return base64url_encode(header_json) + "." + base64url_encode(payload_json);
}

}  // namespace

EvpPkeyPtr generate_rsa_key(unsigned bits) {
  EvpPkeyPtr key(EVP_RSA_gen(bits));
  check(key != nullptr, "EVP_RSA_gen");
  return key;
}

EvpPkeyPtr generate_p256_key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

std::string public_key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  check(bio && PEM_write_bio_PUBKEY(bio.get(), key) == 1, "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string self_signed_certificate_pem(EVP_PKEY* key) {
  std::unique_ptr<X509, decltype(&X509_free)> certificate(X509_new(), X509_free);
  check(certificate && X509_set_version(certificate.get(), 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600) != nullptr &&
            X509_NAME_add_entry_by_txt(X509_get_subject_name(certificate.get()), "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("seraph-test"), -1, -1, 0) == 1 &&
            X509_set_issuer_name(certificate.get(), X509_get_subject_name(certificate.get())) == 1 &&
            X509_set_pubkey(certificate.get(), key) == 1 && X509_sign(certificate.get(), key, EVP_sha256()) > 0,
        "self-signed certificate");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  check(bio && PEM_write_bio_X509(bio.get(), certificate.get()) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string public_key_jwk(EVP_PKEY* key, std::string_view extra_members) {
  std::string members;
  if (EVP_PKEY_is_a(key, "RSA")) {
    members = R"("kty":"RSA","n":")" + base64url_encode(bignum_param(key, OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
              base64url_encode(bignum_param(key, OSSL_PKEY_PARAM_RSA_E)) + "\"";
  } else {
    std::array<unsigned char, 65> point{};
    size_t size = 0;
    check(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &size) == 1 &&
              size == 65,
          "EC public point");
    const std::string_view bytes(reinterpret_cast<const char*>(point.data()), size);
    members = R"("kty":"EC","crv":"P-256","x":")" + base64url_encode(bytes.substr(1, 32)) + R"(","y":")" +
              base64url_encode(bytes.substr(33, 32)) + "\"";
  }
  return "{" + members + (extra_members.empty() ? "" : ",") + std::string(extra_members) + "}";
}

std::string hs256_signature(std::string_view input, std::string_view secret) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  check(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), &size) != nullptr,
        "HMAC");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), size));
}

std::string hs256_token(std::string_view header_json, std::string_view payload_json, std::string_view secret) {
  const std::string input = signing_input(header_json, payload_json);
  return input + "." + hs256_signature(input, secret);
}

std::string signed_token(std::string_view header_json, std::string_view payload_json, EVP_PKEY* private_key) {
  const std::string input = signing_input(header_json, payload_json);
  std::string signature = digest_sign(private_key, input);
  if (EVP_PKEY_is_a(private_key, "EC")) signature = der_to_raw_es256(signature);
  return input + "." + base64url_encode(signature);
}

}  // namespace seraph::testing
