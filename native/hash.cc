// SHA-256 of a range of a Buffer, written as 64 hex digits into the same Buffer: the block log
// hashes every event line in place (src/audit/sha256-into.ts). node:crypto's hash() needs a
// view of the range (a Buffer object) and returns a new string, ~185 bytes of garbage per
// blocked query and twice the time; this allocates nothing.
//
// OpenSSL is Node's own: the node binary exports its symbols. They are declared weak, so the
// addon loads even where they are missing (a Node built without them); `available` then says
// false and dnsward hashes with node:crypto. SHA256_Init/Update/Final (in OpenSSL 1.1 and 3,
// deprecated in 3 but kept) rather than SHA256(): OpenSSL 3's one-shot fetches the algorithm
// on every call, slower than node:crypto. No OpenSSL header: the context is opaque storage.
#include <node_api.h>

#include <cstddef>
#include <cstdint>

extern "C" {
int SHA256_Init(void* ctx) __attribute__((weak));
int SHA256_Update(void* ctx, const void* data, size_t len) __attribute__((weak));
int SHA256_Final(unsigned char* md, void* ctx) __attribute__((weak));
}

namespace {

// SHA256_CTX is 112 bytes in OpenSSL 1.1 and 3; room to spare.
struct alignas(16) ShaContext {
  unsigned char bytes[256];
};

const char kHex[] = "0123456789abcdef";

napi_value Throw(napi_env env, const char* message) {
  napi_throw_range_error(env, "DNSWARD_ERR_INTERNAL", message);
  return nullptr;
}

// A JavaScript number as an index: a non-negative integer (napi_get_value_uint32 would wrap
// -1 and truncate 1.5 or 2^32 silently, hashing a range the caller did not mean).
bool ReadIndex(napi_env env, napi_value value, size_t* out) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok) return false;
  if (!(number >= 0 && number <= 9007199254740991.0)) return false;  // also rejects NaN
  const uint64_t whole = static_cast<uint64_t>(number);
  if (static_cast<double>(whole) != number) return false;
  *out = static_cast<size_t>(whole);
  return true;
}

// sha256HexInto(buf, start, end, at): hashes buf[start, end) and writes the hex digest at buf[at, at + 64).
napi_value Sha256HexInto(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4) return Throw(env, "sha256HexInto(buf, start, end, at)");
  void* data = nullptr;
  size_t length = 0;
  if (napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok) return Throw(env, "sha256HexInto: not a Buffer");
  size_t start = 0, end = 0, at = 0;
  if (!ReadIndex(env, argv[1], &start) || !ReadIndex(env, argv[2], &end) || !ReadIndex(env, argv[3], &at)) {
    return Throw(env, "sha256HexInto: start, end and at must be non-negative integers");
  }
  // The digest must not overlap what it hashes, and everything must lie inside the Buffer.
  // at <= length is checked first, so `at + 64` cannot wrap.
  if (start > end || end > length || at > length || length - at < 64 || (at < end && at + 64 > start)) {
    return Throw(env, "sha256HexInto: range outside the buffer or overlapping the digest");
  }
  unsigned char* bytes = static_cast<unsigned char*>(data);
  unsigned char digest[32];
  ShaContext ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, bytes + start, end - start) != 1 || SHA256_Final(digest, &ctx) != 1) {
    return Throw(env, "sha256HexInto: OpenSSL failed");
  }
  for (int i = 0; i < 32; i++) {
    bytes[at + 2 * i] = kHex[digest[i] >> 4];
    bytes[at + 2 * i + 1] = kHex[digest[i] & 15];
  }
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  const bool available = SHA256_Init != nullptr && SHA256_Update != nullptr && SHA256_Final != nullptr;
  napi_value flag;
  napi_get_boolean(env, available, &flag);
  napi_set_named_property(env, exports, "available", flag);
  if (available) {
    napi_value fn;
    napi_create_function(env, "sha256HexInto", NAPI_AUTO_LENGTH, Sha256HexInto, nullptr, &fn);
    napi_set_named_property(env, exports, "sha256HexInto", fn);
  }
  return exports;
}
