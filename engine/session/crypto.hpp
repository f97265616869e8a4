// HMAC-SHA256, randomness and key files for the session layer, through
// OpenSSL's libcrypto.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"

struct evp_mac_ctx_st;

namespace fgbi::session {

inline constexpr size_t kMacBytes = 32;
using Mac = std::array<uint8_t, kMacBytes>;

// HMAC-SHA256 under one key, reused for many messages.
class Hmac {
 public:
  Hmac() = default;
  ~Hmac();
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;
  Hmac(Hmac&& other) noexcept;
  Hmac& operator=(Hmac&& other) noexcept;

  // False if libcrypto could not set up HMAC-SHA256.
  bool set_key(std::span<const uint8_t> key);
  bool keyed() const { return ctx_ != nullptr; }
  // One message in parts: begin, update..., finish.
  void begin();
  void update(std::span<const uint8_t> data);
  Mac finish();
  Mac of(std::span<const uint8_t> data) {
    begin();
    update(data);
    return finish();
  }

 private:
  evp_mac_ctx_st* ctx_ = nullptr;
};

// The pre-shared key of a link or a backup: its bytes, wiped when replaced or
// destroyed, and the HMAC keyed with them. Empty means unauthenticated.
class PresharedKey {
 public:
  PresharedKey() = default;
  ~PresharedKey() { wipe(); }
  PresharedKey(const PresharedKey&) = delete;
  PresharedKey& operator=(const PresharedKey&) = delete;

  // A null key of size 0 clears it; FGBI_E_NULL_ARGUMENT, FGBI_E_KEY (bad
  // size) or FGBI_E_INTERNAL otherwise.
  fgbi_status set(const void* key, size_t size);
  bool empty() const { return bytes_.empty(); }
  Hmac& mac() { return mac_; }

 private:
  void wipe();
  std::vector<uint8_t> bytes_;
  Hmac mac_;
};

// Fills out with cryptographically secure random bytes; false on failure.
bool random_bytes(std::span<uint8_t> out);
// Compares in time independent of the contents.
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Reads a key file (its exact bytes); FGBI_E_KEY with a reason otherwise.
fgbi_status read_key_file(const char* path, std::vector<uint8_t>* key, std::string* why);
// FGBI_OK if the size is an acceptable key length.
fgbi_status check_key_size(size_t size);

}  // namespace fgbi::session
