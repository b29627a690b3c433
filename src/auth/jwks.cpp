#include "auth/jwks.h"

#include <set>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <simdjson.h>

#include "auth/openssl_ptr.h"
#include "auth/base64url.h"

namespace seraph {

namespace dom = simdjson::dom;

namespace {

constexpr size_t kMaxJwksDepth = 8;

using BignumPtr = std::unique_ptr<BIGNUM, OpensslFree<BIGNUM, BN_free>>;
using ParamBuilderPtr = std::unique_ptr<OSSL_PARAM_BLD, OpensslFree<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, OpensslFree<OSSL_PARAM, OSSL_PARAM_free>>;

// One JWK's members, read as strings where present.
class Jwk {
 public:
  Jwk(dom::object object, size_t index) : object_(object), index_(index) {}

  // The member `name` as a string: nullopt when absent, an error when present but not a string.
  Status optional_string(std::string_view name, std::optional<std::string_view>& out) const {
    dom::element value;
    if (object_.at_key(name).get(value) != simdjson::SUCCESS) {
      out.reset();
      return {};
    }
    std::string_view text;
    if (value.get(text) != simdjson::SUCCESS)
      return invalid_argument(fmt::format("{}: '{}' is not a string", label(), name));
    out = text;
    return {};
  }

  // The member `name`, base64url-decoded; an error when absent or malformed.
  Status bytes(std::string_view name, std::string& out) const {
    std::optional<std::string_view> text;
    if (Status status = optional_string(name, text); !status.is_ok()) return status;
    if (!text) return invalid_argument(fmt::format("{}: '{}' is missing", label(), name));
    out.clear();
    if (!base64url_decode(*text, out) || out.empty()) {
      return invalid_argument(fmt::format("{}: '{}' is not base64url", label(), name));
    }
    return {};
  }

  void set_kid(std::string_view kid) { kid_ = kid; }
  const std::string& kid() const { return kid_; }
  std::string label() const {
    return kid_.empty() ? fmt::format("JWKS key #{}", index_) : fmt::format("JWKS key #{} ('{}')", index_, kid_);
  }

 private:
  dom::object object_;
  size_t index_;
  std::string kid_;
};

Status key_from_params(const Jwk& jwk, const char* type, OSSL_PARAM_BLD* builder, EvpPkeyPtr& out) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(builder));
  PkeyContextPtr context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  const bool built = params && context && EVP_PKEY_fromdata_init(context.get()) == 1 &&
                     EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) == 1;
  ERR_clear_error();
  if (!built) return invalid_argument(fmt::format("{}: not a valid {} public key", jwk.label(), type));
  out.reset(key);
  return {};
}

Status rsa_key(const Jwk& jwk, EvpPkeyPtr& out) {
  std::string n, e;
  if (Status status = jwk.bytes("n", n); !status.is_ok()) return status;
  if (Status status = jwk.bytes("e", e); !status.is_ok()) return status;
  BignumPtr modulus(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  BignumPtr exponent(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  ParamBuilderPtr builder(OSSL_PARAM_BLD_new());
  if (!modulus || !exponent || !builder ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get())) {
    return internal_error(fmt::format("{}: out of memory building the key", jwk.label()));
  }
  return key_from_params(jwk, "RSA", builder.get(), out);
}

Status p256_key(const Jwk& jwk, EvpPkeyPtr& out) {
  std::string x, y;
  if (Status status = jwk.bytes("x", x); !status.is_ok()) return status;
  if (Status status = jwk.bytes("y", y); !status.is_ok()) return status;
  // RFC 7518 section 6.2.1.2: each coordinate is exactly the field size, leading zeros kept.
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return invalid_argument(fmt::format("{}: P-256 coordinates are {} bytes each", jwk.label(), kP256CoordinateBytes));
  }
  const std::string point = '\x04' + x + y;  // SEC 1 uncompressed point
  ParamBuilderPtr builder(OSSL_PARAM_BLD_new());
  if (!builder || !OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    return internal_error(fmt::format("{}: out of memory building the key", jwk.label()));
  }
  return key_from_params(jwk, "EC", builder.get(), out);
}

// Reads one JWK into `keys`, or names it in `ignored` when it is not a signature key we can use.
Status read_jwk(const Jwk& jwk, std::vector<JwtKey>& keys, std::vector<std::string>& ignored) {
  std::optional<std::string_view> kty, use, alg, crv;
  const std::pair<std::string_view, std::optional<std::string_view>*> members[] = {
      {"kty", &kty}, {"use", &use}, {"alg", &alg}, {"crv", &crv}};
  for (const auto& [name, value] : members) {
    if (Status status = jwk.optional_string(name, *value); !status.is_ok()) return status;
  }
  if (!kty) return invalid_argument(fmt::format("{}: 'kty' is missing", jwk.label()));
  if (use && *use != "sig") {
    ignored.push_back(fmt::format("{}: use '{}' is not for signatures", jwk.label(), *use));
    return {};
  }
  std::optional<JwtAlgorithm> algorithm;
  if (alg) {
    algorithm = parse_jwt_algorithm(*alg);
    if (!algorithm) {
      ignored.push_back(fmt::format("{}: alg '{}' is not one we verify", jwk.label(), *alg));
      return {};
    }
  }
  if (*kty == "oct") {
    if (!algorithm) return invalid_argument(fmt::format("{}: an oct key needs 'alg'", jwk.label()));
    if (*algorithm != JwtAlgorithm::kHs256) {
      return invalid_argument(fmt::format("{}: an oct key cannot be used with {}", jwk.label(), *alg));
    }
    std::string secret;
    if (Status status = jwk.bytes("k", secret); !status.is_ok()) return status;
    std::optional<JwtKey> key;
    if (Status status = JwtKey::from_secret(jwk.kid(), secret, key); !status.is_ok()) {
      return invalid_argument(fmt::format("JWKS: {}", status.message()));
    }
    keys.push_back(std::move(*key));
    return {};
  }
  EvpPkeyPtr public_key;
  if (*kty == "RSA") {
    if (Status status = rsa_key(jwk, public_key); !status.is_ok()) return status;
    algorithm = algorithm.value_or(JwtAlgorithm::kRs256);
  } else if (*kty == "EC") {
    if (!crv) return invalid_argument(fmt::format("{}: an EC key needs 'crv'", jwk.label()));
    if (*crv != "P-256") {
      if (algorithm == JwtAlgorithm::kEs256) {
        return invalid_argument(fmt::format("{}: ES256 needs curve P-256, not '{}'", jwk.label(), *crv));
      }
      ignored.push_back(fmt::format("{}: curve '{}' is not one we verify", jwk.label(), *crv));
      return {};
    }
    if (Status status = p256_key(jwk, public_key); !status.is_ok()) return status;
    algorithm = algorithm.value_or(JwtAlgorithm::kEs256);
  } else {
    ignored.push_back(fmt::format("{}: kty '{}' is not one we verify", jwk.label(), *kty));
    return {};
  }
  std::optional<JwtKey> key;
  if (Status status = JwtKey::from_public_key(jwk.kid(), *algorithm, std::move(public_key), key); !status.is_ok()) {
    return invalid_argument(fmt::format("JWKS: {}", status.message()));
  }
  keys.push_back(std::move(*key));
  return {};
}

}  // namespace

Status parse_jwks(std::string_view json, std::vector<JwtKey>& keys, std::vector<std::string>& ignored) {
  if (json.size() > kMaxJwksBytes) return invalid_argument(fmt::format("JWKS: larger than {} bytes", kMaxJwksBytes));
  dom::parser parser;
  if (parser.allocate(json.size(), kMaxJwksDepth) != simdjson::SUCCESS) {
    return internal_error("JWKS: JSON parser could not allocate");
  }
  const simdjson::padded_string padded(json);
  dom::element root;
  if (simdjson::error_code error = parser.parse(padded).get(root); error) {
    return invalid_argument(fmt::format("JWKS: malformed JSON: {}", simdjson::error_message(error)));
  }
  dom::array array;
  if (root.at_key("keys").get(array) != simdjson::SUCCESS) {
    return invalid_argument("JWKS: not an object with a 'keys' array");
  }
  std::set<std::string, std::less<>> kids;
  size_t index = 0;
  for (dom::element element : array) {
    dom::object object;
    if (element.get(object) != simdjson::SUCCESS) {
      return invalid_argument(fmt::format("JWKS key #{}: not an object", index));
    }
    Jwk jwk(object, index++);
    std::optional<std::string_view> kid;
    if (Status status = jwk.optional_string("kid", kid); !status.is_ok()) return status;
    if (kid) {
      jwk.set_kid(*kid);
      if (!kids.emplace(*kid).second) return invalid_argument(fmt::format("JWKS: kid '{}' appears twice", *kid));
    }
    if (Status status = read_jwk(jwk, keys, ignored); !status.is_ok()) return status;
  }
  return {};
}

}  // namespace seraph
