#include "node/push/web_push_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

namespace chatnode::push {

namespace {

constexpr std::size_t point_bytes = 65; ///< an uncompressed P-256 point
constexpr std::size_t auth_bytes = 16;  ///< a subscription's auth secret
constexpr std::size_t salt_bytes = 16;
constexpr std::uint32_t record_size = 4096;
constexpr std::size_t tag_bytes = 16;

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return {reinterpret_cast<const char*>(out.data()), length};
}

/// HKDF (RFC 5869) with SHA-256, for outputs of one block (32 bytes or less).
std::string hkdf(std::string_view salt, std::string_view ikm, std::string_view info, std::size_t length) {
  auto prk = hmac_sha256(salt, ikm);
  std::string block{info};
  block += '\x01';
  return hmac_sha256(prk, block).substr(0, length);
}

pkey_ptr new_p256_key() {
  return {EVP_EC_gen("P-256"), EVP_PKEY_free};
}

/// A public P-256 key from its uncompressed point; null when not on the curve.
pkey_ptr public_key_of(std::string_view point) {
  pkey_ptr none{nullptr, EVP_PKEY_free};
  if (point.size() != point_bytes || point[0] != '\x04')
    return none;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> build{OSSL_PARAM_BLD_new(),
                                                                        OSSL_PARAM_BLD_free};
  char group[] = "prime256v1";
  if (!build || !OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
    return none;
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params{OSSL_PARAM_BLD_to_param(build.get()),
                                                                 OSSL_PARAM_free};
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free};
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return none;
  pkey_ptr out{key, EVP_PKEY_free};
  // fromdata does not check that the point is on the curve: a check does.
  // The quick one (on the curve, not at infinity) is the whole check on
  // P-256, whose cofactor is 1; the full one adds a scalar multiplication.
  pkey_ctx_ptr check{EVP_PKEY_CTX_new(out.get(), nullptr), EVP_PKEY_CTX_free};
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1)
    return none;
  return out;
}

/// A key's public point, uncompressed.
std::string point_of(EVP_PKEY* key) {
  std::array<unsigned char, point_bytes> point{};
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(),
                                      &length) != 1)
    return {};
  return {reinterpret_cast<const char*>(point.data()), length};
}

std::optional<std::string> ecdh(EVP_PKEY* own, EVP_PKEY* peer) {
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new(own, nullptr), EVP_PKEY_CTX_free};
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_derive_set_peer(ctx.get(), peer) <= 0 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &length) <= 0)
    return std::nullopt;
  std::string secret(length, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) <= 0)
    return std::nullopt;
  secret.resize(length);
  return secret;
}

std::optional<std::string> aes128gcm_seal(std::string_view key, std::string_view nonce,
                                          std::string_view plain) {
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free};
  std::string out(plain.size() + tag_bytes, '\0');
  int length = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), dst, &length, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), dst + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, dst + plain.size()) != 1)
    return std::nullopt;
  return out;
}

/// An ECDSA signature (DER) as JWS writes ES256's: r and s, 32 bytes each.
std::optional<std::string> jose_signature(std::string_view der) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{
    d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())), ECDSA_SIG_free};
  if (!sig)
    return std::nullopt;
  std::string out(64, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), dst, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), dst + 32, 32) != 32)
    return std::nullopt;
  return out;
}

EVP_PKEY* key_of(const std::shared_ptr<void>& key) {
  return static_cast<EVP_PKEY*>(key.get());
}

std::shared_ptr<void> shared_key(EVP_PKEY* key) {
  return {key, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); }};
}

} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  auto length =
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                    reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(length));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string standard{text};
  for (auto& c : standard) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/')
      return std::nullopt; // base64url only
  }
  auto padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::string out(standard.size() / 4 * 3, '\0');
  auto length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(standard.data()),
                                static_cast<int>(standard.size()));
  if (length < 0)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(length) - padding); // DecodeBlock counts the padding's bytes
  return out;
}

encrypted encrypt(std::string_view plaintext, const subscription_keys& keys) {
  if (plaintext.size() > max_plaintext)
    return {{}, "a push message of more than " + std::to_string(max_plaintext) + " bytes"};
  auto ua_point = base64url_decode(keys.p256dh);
  auto auth = base64url_decode(keys.auth);
  if (!ua_point || !auth || auth->size() != auth_bytes)
    return {{}, "the subscription's keys are not base64url of the right sizes"};
  auto ua_public = public_key_of(*ua_point);
  if (!ua_public)
    return {{}, "the subscription's p256dh is not a P-256 public key"};
  auto own = new_p256_key();
  auto as_point = own ? point_of(own.get()) : std::string{};
  auto shared = own ? ecdh(own.get(), ua_public.get()) : std::nullopt;
  std::string salt(salt_bytes, '\0');
  if (!shared || as_point.size() != point_bytes ||
      RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1)
    return {{}, "the key agreement failed"};

  // RFC 8291 §3.4: the input keying material from the auth secret and both keys.
  std::string key_info = "WebPush: info";
  key_info += '\0';
  key_info += *ua_point;
  key_info += as_point;
  auto ikm = hkdf(*auth, *shared, key_info, 32);
  // RFC 8188 §2.2 and §2.3: the content key and the nonce.
  auto cek = hkdf(salt, ikm, std::string_view{"Content-Encoding: aes128gcm\0", 28}, 16);
  auto nonce = hkdf(salt, ikm, std::string_view{"Content-Encoding: nonce\0", 24}, 12);
  std::string record{plaintext};
  record += '\x02'; // the last (and only) record's delimiter
  auto sealed = aes128gcm_seal(cek, nonce, record);
  if (!sealed)
    return {{}, "the encryption failed"};

  encrypted out;
  out.body = salt;
  for (int shift = 24; shift >= 0; shift -= 8)
    out.body += static_cast<char>((record_size >> shift) & 0xFF);
  out.body += static_cast<char>(point_bytes);
  out.body += as_point;
  out.body += *sealed;
  return out;
}

vapid_key vapid_key::generate() {
  return vapid_key{shared_key(EVP_EC_gen("P-256"))};
}

std::optional<vapid_key> vapid_key::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                BIO_free};
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr)
    return std::nullopt;
  auto shared = shared_key(key);
  char group[32] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1 ||
      std::string_view{group, length} != "prime256v1")
    return std::nullopt;
  return vapid_key{std::move(shared)};
}

std::string vapid_key::to_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), BIO_free};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_of(key_), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  char* data = nullptr;
  auto length = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(length)};
}

std::string vapid_key::public_key() const {
  return base64url_encode(point_of(key_of(key_)));
}

std::string vapid_key::authorization(std::string_view audience, std::string_view subject,
                                     std::int64_t expires) const {
  auto header = base64url_encode(R"({"typ":"JWT","alg":"ES256"})");
  auto claims =
    base64url_encode(nlohmann::json{{"aud", audience}, {"exp", expires}, {"sub", subject}}.dump());
  auto signing_input = header + "." + claims;
  md_ctx_ptr ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_of(key_)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return {};
  std::string der(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return {};
  der.resize(length);
  auto signature = jose_signature(der);
  if (!signature)
    return {};
  return "vapid t=" + signing_input + "." + base64url_encode(*signature) + ", k=" + public_key();
}

} // namespace chatnode::push
