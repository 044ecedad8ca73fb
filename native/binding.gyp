# node-gyp build of the batched datagram addon (native/datagram.cc) and of the block log's
# in-place SHA-256 (native/hash.cc). Linux only: elsewhere native/build.ts skips the build
# and dnsward uses node:dgram and node:crypto. Node-API only (no V8 or Node internals besides
# libuv's stable C API and OpenSSL's SHA-256 functions, which Node exports and hash.cc links
# weakly), so one build serves Node 22 and later.
{
  "targets": [
    {
      "target_name": "dnsward_datagram",
      "sources": ["datagram.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "dnsward_hash",
      "sources": ["hash.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
