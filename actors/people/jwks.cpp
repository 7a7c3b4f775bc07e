#include "actors/people/jwks.hpp"

#include "actors/contracts/signing.hpp"

#include <nlohmann/json.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace chatnode {

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using bn_ptr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using param_build_ptr = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using params_ptr = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

pkey_ptr none() {
  return {nullptr, EVP_PKEY_free};
}

bn_ptr number(std::string_view big_endian) {
  return {BN_bin2bn(bytes(big_endian), static_cast<int>(big_endian.size()), nullptr), BN_free};
}

/// A public key built from its parameters, and checked to be one.
pkey_ptr from_params(const char* type, OSSL_PARAM_BLD* build) {
  params_ptr params{OSSL_PARAM_BLD_to_param(build), OSSL_PARAM_free};
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), EVP_PKEY_CTX_free};
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return none();
  pkey_ptr out{key, EVP_PKEY_free};
  pkey_ctx_ptr check{EVP_PKEY_CTX_new(out.get(), nullptr), EVP_PKEY_CTX_free};
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return none();
  return out;
}

/// A JWK member that is base64url bytes; none when absent or not that.
/// A member that is a string, or "" (absent, or another type: a JWKS is
/// outside bytes, and nlohmann's value() throws on a wrong type).
std::string text_member(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::optional<std::string> member_bytes(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string())
    return std::nullopt;
  return from_base64url(it->get_ref<const std::string&>());
}

pkey_ptr rsa_key(const nlohmann::json& jwk) {
  auto n = member_bytes(jwk, "n");
  auto e = member_bytes(jwk, "e");
  // Keys under 2048 bits are forgeable; over 8192 they only cost time.
  if (!n || !e || e->empty() || e->size() > 8)
    return none();
  auto modulus = number(*n);
  auto exponent = number(*e);
  if (!modulus || !exponent || BN_num_bits(modulus.get()) < 2048 || BN_num_bits(modulus.get()) > 8192)
    return none();
  param_build_ptr build{OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free};
  if (!build || !OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) ||
      !OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()))
    return none();
  return from_params("RSA", build.get());
}

pkey_ptr p256_key(const nlohmann::json& jwk) {
  if (text_member(jwk, "crv") != "P-256")
    return none();
  auto x = member_bytes(jwk, "x");
  auto y = member_bytes(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32)
    return none();
  std::string point = "\x04" + *x + *y;
  param_build_ptr build{OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free};
  if (!build || !OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
    return none();
  return from_params("EC", build.get());
}

pkey_ptr ed25519_key(const nlohmann::json& jwk) {
  if (text_member(jwk, "crv") != "Ed25519")
    return none();
  auto x = member_bytes(jwk, "x");
  if (!x || x->size() != 32)
    return none();
  return {EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(*x), x->size()), EVP_PKEY_free};
}

/// ES256's raw R || S as the DER that OpenSSL verifies; none when it is
/// not 64 bytes.
std::optional<std::string> der_of_p256_signature(std::string_view raw) {
  if (raw.size() != 64)
    return std::nullopt;
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{ECDSA_SIG_new(), ECDSA_SIG_free};
  auto r = BN_bin2bn(bytes(raw), 32, nullptr);
  auto s = BN_bin2bn(bytes(raw.substr(32)), 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0)
    return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

} // namespace

struct jwk_set::key {
  std::string kid;
  jws_algorithm alg;
  pkey_ptr pkey{nullptr, EVP_PKEY_free};
};

std::optional<jws_algorithm> jws_algorithm_named(std::string_view alg) {
  if (alg == "RS256")
    return jws_algorithm::rs256;
  if (alg == "ES256")
    return jws_algorithm::es256;
  if (alg == "EdDSA")
    return jws_algorithm::eddsa;
  return std::nullopt;
}

jwk_set::jwk_set() = default;
jwk_set::~jwk_set() = default;
jwk_set::jwk_set(jwk_set&&) noexcept = default;
jwk_set& jwk_set::operator=(jwk_set&&) noexcept = default;

bool jwk_set::has(std::string_view kid) const {
  for (const auto& k : keys_)
    if (k->kid == kid)
      return true;
  return false;
}

std::size_t jwk_set::size() const {
  return keys_.size();
}

bool jwk_set::verifies(jws_algorithm alg, std::string_view kid, std::string_view signed_part,
                       std::string_view signature) const {
  std::string der;
  if (alg == jws_algorithm::es256) {
    auto converted = der_of_p256_signature(signature);
    if (!converted)
      return false;
    der = std::move(*converted);
    signature = der;
  }
  for (const auto& k : keys_) {
    if (k->alg != alg || (!kid.empty() && k->kid != kid))
      continue;
    md_ctx_ptr ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    // Ed25519 hashes inside the signature: no digest is named.
    const EVP_MD* digest = alg == jws_algorithm::eddsa ? nullptr : EVP_sha256();
    if (ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, k->pkey.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(signed_part),
                         signed_part.size()) == 1)
      return true;
  }
  return false;
}

result<jwk_set, std::string> jwk_set::parse(std::string_view document, std::size_t max_keys) {
  auto doc = nlohmann::json::parse(document, nullptr, false);
  if (!doc.is_object())
    return std::string{"the JWKS is not a JSON object"};
  auto listed = doc.find("keys");
  if (listed == doc.end() || !listed->is_array())
    return std::string{"the JWKS has no \"keys\" array"};
  jwk_set out;
  for (const auto& jwk : *listed) {
    if (out.keys_.size() == max_keys)
      break;
    if (!jwk.is_object())
      continue;
    if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig")
      continue; // an encryption key
    auto kty = text_member(jwk, "kty");
    auto k = std::make_unique<key>();
    if (kty == "RSA") {
      k->alg = jws_algorithm::rs256;
      k->pkey = rsa_key(jwk);
    } else if (kty == "EC") {
      k->alg = jws_algorithm::es256;
      k->pkey = p256_key(jwk);
    } else if (kty == "OKP") {
      k->alg = jws_algorithm::eddsa;
      k->pkey = ed25519_key(jwk);
    }
    if (!k->pkey)
      continue;
    // A key whose `alg` names another algorithm is for that one alone.
    if (auto alg = jwk.find("alg"); alg != jwk.end()) {
      auto named = alg->is_string() ? jws_algorithm_named(alg->get_ref<const std::string&>()) : std::nullopt;
      if (named != k->alg)
        continue;
    }
    if (auto kid = jwk.find("kid"); kid != jwk.end() && kid->is_string())
      k->kid = kid->get<std::string>();
    out.keys_.push_back(std::move(k));
  }
  if (out.keys_.empty())
    return std::string{"the JWKS has no RSA (2048 bits or more), P-256 or Ed25519 signing key"};
  return out;
}

} // namespace chatnode
