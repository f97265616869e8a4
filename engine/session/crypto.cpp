#include "session/crypto.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace fgbi::session {

Hmac::~Hmac() { EVP_MAC_CTX_free(ctx_); }

Hmac::Hmac(Hmac&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Hmac& Hmac::operator=(Hmac&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

bool Hmac::set_key(std::span<const uint8_t> key) {
  EVP_MAC_CTX_free(ctx_);
  ctx_ = nullptr;
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return false;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  if (ctx == nullptr) return false;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, key.data(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return false;
  }
  ctx_ = ctx;
  return true;
}

// Re-initialising with no key restarts HMAC under the key already set.
void Hmac::begin() { EVP_MAC_init(ctx_, nullptr, 0, nullptr); }

void Hmac::update(std::span<const uint8_t> data) { EVP_MAC_update(ctx_, data.data(), data.size()); }

Mac Hmac::finish() {
  Mac out{};
  size_t len = 0;
  EVP_MAC_final(ctx_, out.data(), &len, out.size());
  return out;
}

bool random_bytes(std::span<uint8_t> out) {
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

fgbi_status check_key_size(size_t size) {
  if (size < FGBI_KEY_MIN_BYTES || size > FGBI_KEY_MAX_BYTES) return FGBI_E_KEY;
  return FGBI_OK;
}

void PresharedKey::wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
  mac_ = Hmac{};
}

fgbi_status PresharedKey::set(const void* key, size_t size) {
  if (key == nullptr && size != 0) return FGBI_E_NULL_ARGUMENT;
  if (key != nullptr && check_key_size(size) != FGBI_OK) return FGBI_E_KEY;
  wipe();
  if (key == nullptr) return FGBI_OK;
  const auto* bytes = static_cast<const uint8_t*>(key);
  bytes_.assign(bytes, bytes + size);
  return mac_.set_key(bytes_) ? FGBI_OK : FGBI_E_INTERNAL;
}

fgbi_status read_key_file(const char* path, std::vector<uint8_t>* key, std::string* why) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = std::string("cannot open key file ") + path + ": " + std::strerror(errno);
    return FGBI_E_KEY;
  }
  std::vector<uint8_t> bytes(FGBI_KEY_MAX_BYTES + 1);
  size_t size = 0;
  while (size < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + size, bytes.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = std::string("cannot read key file ") + path + ": " + std::strerror(errno);
      close(fd);
      return FGBI_E_KEY;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  close(fd);
  if (check_key_size(size) != FGBI_OK) {
    *why = std::string("key file ") + path + " holds " +
           (size > FGBI_KEY_MAX_BYTES ? "more than " + std::to_string(FGBI_KEY_MAX_BYTES)
                                      : std::to_string(size)) +
           " bytes; a key needs " + std::to_string(FGBI_KEY_MIN_BYTES) + " to " +
           std::to_string(FGBI_KEY_MAX_BYTES);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return FGBI_E_KEY;
  }
  key->assign(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(size));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return FGBI_OK;
}

}  // namespace fgbi::session
