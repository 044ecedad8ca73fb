# node-gyp build of the batched datagram addon (native/datagram.cc). Linux only: elsewhere
# native/build.ts skips the build and dnsward uses node:dgram. Node-API only (no V8 or
# Node internals besides libuv's stable C API), so one build serves Node 22 and later.
{
  "targets": [
    {
      "target_name": "dnsward_datagram",
      "sources": ["datagram.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
