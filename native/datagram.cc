// dnsward's batched UDP socket (Linux): one recvmmsg or sendmmsg per batch of up to 64
// datagrams, and one JavaScript call per received batch, where node:dgram makes one
// recvmsg, one sendmsg and one JavaScript callback per datagram each way.
//
// The addon owns a non-blocking UDP socket. A uv_poll_t on it (in Node's own event loop)
// says when it is readable; the callback drains it with recvmmsg, at most kBatchesPerEvent
// batches per event so timers and other sockets get their turn, and hands each batch to
// JavaScript in one Buffer (the datagrams and their senders' addresses as text, copied
// after the batches before it into a receive area they share) plus offsets in a shared
// Int32Array. Answers go out with sendBatch(): JavaScript packs them
// into a shared area (bytes, address text, port) and one sendmmsg sends them.
//
// Everything from outside is bounded and checked: datagram and batch sizes, every offset
// and length JavaScript passes (nothing is trusted), address text. Nothing throws into the
// event loop: errors on the receive path are counted, errors of open() and sendBatch()
// arguments throw to their (synchronous) caller. src/server/datagram-addon.ts is the
// JavaScript side; it falls back to node:dgram when this file is not built.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <new>

namespace {

constexpr unsigned kMaxBatch = 64;            // datagrams per recvmmsg / sendmmsg
constexpr size_t kSlot = 65536;               // one receive slot: any UDP payload fits (IPv4 65507, IPv6 65527)
constexpr unsigned kBatchesPerEvent = 4;      // then back to the event loop (level-triggered: it calls again)
constexpr unsigned kMetaInts = 5;             // per datagram: data offset, data length, address offset, address length, port
constexpr size_t kAddrText = INET6_ADDRSTRLEN + 1 + IF_NAMESIZE;  // "addr" or "fe80::1%eth0"
constexpr size_t kMaxDatagram = 65535;
constexpr size_t kRecvArea = 256 * 1024;      // batches are copied one after another into an area this big

struct Socket {
  napi_env env = nullptr;
  int fd = -1;
  int family = AF_INET;
  uv_poll_t poll;
  bool pollInit = false;
  bool closing = false;
  bool handleClosed = false;  // uv_close's callback ran (or the poll was never initialised)
  bool wrapperGone = false;   // the JavaScript object was collected
  bool hookAdded = false;     // the environment cleanup hook is registered
  bool inCallback = false;    // JavaScript is running onBatch (close() from there defers one step)
  napi_ref onBatch = nullptr;
  napi_async_context async = nullptr;
  // Shared with JavaScript (kept alive by references, never resized).
  napi_ref recvMetaRef = nullptr, sendAreaRef = nullptr, sendMetaRef = nullptr;
  int32_t* recvMeta = nullptr;
  size_t recvMetaLen = 0;
  uint8_t* sendArea = nullptr;
  size_t sendAreaLen = 0;
  int32_t* sendMeta = nullptr;
  size_t sendMetaLen = 0;
  // The JavaScript Buffer batches are copied into, and how much of it is written (see TakeReceiveArea).
  napi_ref recvAreaRef = nullptr;
  size_t recvAreaLen = 0;
  size_t recvAreaUsed = 0;
  // Receive slots: mapped once, committed by the kernel only where datagrams land.
  uint8_t* slots = nullptr;
  mmsghdr rmsgs[kMaxBatch];
  iovec riov[kMaxBatch];
  sockaddr_storage rfrom[kMaxBatch];
  mmsghdr smsgs[kMaxBatch];
  iovec siov[kMaxBatch];
  sockaddr_storage sto[kMaxBatch];
  int lastSendErrno = 0;
  double counters[4] = {0, 0, 0, 0};  // receive errors, datagrams dropped unread (truncated, unreadable sender), send errors, sends dropped (buffer full)
};

void MaybeFree(Socket* s) {
  if (!s->handleClosed || !s->wrapperGone) return;
  if (s->slots != nullptr) munmap(s->slots, kMaxBatch * kSlot);
  delete s;
}

void OnHandleClosed(uv_handle_t* handle) {
  Socket* s = static_cast<Socket*>(handle->data);
  s->handleClosed = true;
  MaybeFree(s);
}

void DeleteRef(napi_env env, napi_ref* ref) {
  if (*ref != nullptr) napi_delete_reference(env, *ref);
  *ref = nullptr;
}

void CleanupHook(void* arg);

// Stops polling, closes the descriptor and drops every reference into JavaScript. The
// struct itself lives until both the uv handle is closed and the wrapper is collected.
void CloseSocket(Socket* s) {
  if (s->closing) return;
  s->closing = true;
  if (s->hookAdded) napi_remove_env_cleanup_hook(s->env, CleanupHook, s);
  s->hookAdded = false;
  if (s->pollInit) {
    uv_poll_stop(&s->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnHandleClosed);
  } else {
    s->handleClosed = true;
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  DeleteRef(s->env, &s->onBatch);
  DeleteRef(s->env, &s->recvMetaRef);
  DeleteRef(s->env, &s->sendAreaRef);
  DeleteRef(s->env, &s->sendMetaRef);
  DeleteRef(s->env, &s->recvAreaRef);
  s->recvMeta = nullptr;
  s->sendArea = nullptr;
  s->sendMeta = nullptr;
  // The async context is in use while onBatch runs: ReceiveOnce destroys it after.
  if (s->async != nullptr && !s->inCallback) napi_async_destroy(s->env, s->async);
  if (!s->inCallback) s->async = nullptr;
}

// The environment is going away (process exit, worker end): close what is still open.
// The wrapper's finalizer still runs after this (Node-API finalizes at teardown) and frees.
void CleanupHook(void* arg) {
  CloseSocket(static_cast<Socket*>(arg));
}

void Finalize(napi_env, void* data, void*) {
  Socket* s = static_cast<Socket*>(data);
  s->wrapperGone = true;
  if (!s->closing) CloseSocket(s);
  MaybeFree(s);
}

// ---- errors for the synchronous callers -------------------------------------------

napi_value ThrowErrno(napi_env env, const char* what, int err) {
  char msg[256];
  const char* name = uv_err_name(uv_translate_sys_error(err));
  snprintf(msg, sizeof msg, "%s %s (%s)", what, name, strerror(err));
  napi_throw_error(env, name, msg);  // sets error.code, like node:dgram's errors
  return nullptr;
}

napi_value ThrowType(napi_env env, const char* msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return nullptr;
}

bool GetInt(napi_env env, napi_value v, int32_t* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// A typed array of the given kind with at least `minLength` elements; keeps a reference.
bool GetTyped(napi_env env, napi_value v, napi_typedarray_type want, size_t minLength, void** data, size_t* length, napi_ref* ref) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok) return false;
  if (type != want || *length < minLength || *data == nullptr) return false;
  return napi_create_reference(env, v, 1, ref) == napi_ok;
}

Socket* Unwrap(napi_env env, napi_value v) {
  void* p = nullptr;
  if (napi_unwrap(env, v, &p) != napi_ok || p == nullptr) return nullptr;
  Socket* s = static_cast<Socket*>(p);
  return s->closing ? nullptr : s;
}

// ---- receive ------------------------------------------------------------------------

// Dotted decimal, as inet_ntop writes it. By hand: glibc's inet_ntop formats IPv4 with
// sprintf: ~3% of the DNS thread's time at full rate, for every datagram (docs/BENCHMARKS.md, stop 37).
size_t Ipv4Text(const uint8_t* octets, char* out) {
  char* p = out;
  for (int k = 0; k < 4; k++) {
    unsigned v = octets[k];
    if (k > 0) *p++ = '.';
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
  }
  *p = '\0';
  return static_cast<size_t>(p - out);
}

// The sender as text, like node:dgram's rinfo.address ("fe80::1%eth0" for a scoped IPv6).
size_t AddressText(const sockaddr_storage& from, char* out, int* port) {
  if (from.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&from);
    *port = ntohs(a->sin_port);
    return Ipv4Text(reinterpret_cast<const uint8_t*>(&a->sin_addr), out);
  }
  if (from.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&from);
    *port = ntohs(a->sin6_port);
    if (inet_ntop(AF_INET6, &a->sin6_addr, out, kAddrText) == nullptr) return 0;
    size_t n = strlen(out);
    char ifname[IF_NAMESIZE];
    if (a->sin6_scope_id != 0 && if_indextoname(a->sin6_scope_id, ifname) != nullptr) {
      n += static_cast<size_t>(snprintf(out + n, kAddrText - n, "%%%s", ifname));
    }
    return n < kAddrText ? n : 0;
  }
  return 0;
}

// Where a batch of `total` bytes goes: the current receive area, after what earlier batches
// wrote, or a new area when it has no room left (at least kRecvArea, or the batch's size).
// A Buffer per batch cost ~170 bytes of V8 heap (an ArrayBuffer and its view) at every
// recvmmsg; at 20k queries a second that was a sixth of what the query path allocated, and
// young-generation GC pauses are what a p99 is made of. JavaScript keeps views into an area
// (a forwarded query until it is answered): bytes once written are never written again, so
// those views stay valid, and an area lives while one of them does.
bool TakeReceiveArea(Socket* s, size_t total, napi_value* buffer, size_t* at) {
  napi_env env = s->env;
  if (s->recvAreaRef != nullptr && s->recvAreaLen - s->recvAreaUsed >= total &&
      napi_get_reference_value(env, s->recvAreaRef, buffer) == napi_ok && *buffer != nullptr) {
    *at = s->recvAreaUsed;
    s->recvAreaUsed += total;
    return true;
  }
  size_t size = total > kRecvArea ? total : kRecvArea;
  void* data = nullptr;
  if (napi_create_buffer(env, size, &data, buffer) != napi_ok) return false;
  DeleteRef(env, &s->recvAreaRef);
  s->recvAreaLen = 0;
  s->recvAreaUsed = 0;
  // Without a reference the area serves this batch only; the next makes another.
  if (napi_create_reference(env, *buffer, 1, &s->recvAreaRef) == napi_ok) {
    s->recvAreaLen = size;
    s->recvAreaUsed = total;
  }
  *at = 0;
  return true;
}

// Points every receive header at its slot and its sender's room, once, when the socket opens.
void PrepareReceive(Socket* s) {
  for (unsigned i = 0; i < kMaxBatch; i++) {
    s->riov[i].iov_base = s->slots + i * kSlot;
    s->riov[i].iov_len = kSlot;
    memset(&s->rmsgs[i], 0, sizeof(mmsghdr));
    s->rmsgs[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsgs[i].msg_hdr.msg_iovlen = 1;
    s->rmsgs[i].msg_hdr.msg_name = &s->rfrom[i];
    s->rmsgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
}

// One recvmmsg; hands the batch to JavaScript. Returns the number of datagrams read (0: drained).
int ReceiveOnce(Socket* s) {
  // The headers are set up once (PrepareReceive); of what the kernel writes back (msg_len,
  // msg_flags, msg_namelen), only the sender's room is an input: reset it, 64 stores, instead of
  // rebuilding all 64 headers (4 KB) for batches that at 20k qps hold one to three datagrams.
  for (unsigned i = 0; i < kMaxBatch; i++) s->rmsgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  int n;
  do {
    n = recvmmsg(s->fd, s->rmsgs, kMaxBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) s->counters[0]++;
    return 0;
  }
  // Address texts first (they decide the size), then one Buffer: datagrams, then texts.
  char texts[kMaxBatch][kAddrText];
  size_t textLen[kMaxBatch];
  int ports[kMaxBatch];
  bool keep[kMaxBatch];
  size_t total = 0;
  unsigned kept = 0;
  for (int i = 0; i < n; i++) {
    const msghdr& h = s->rmsgs[i].msg_hdr;
    size_t len = s->rmsgs[i].msg_len;
    ports[i] = 0;
    textLen[i] = 0;
    keep[i] = false;
    if ((h.msg_flags & MSG_TRUNC) != 0 || len > kMaxDatagram || h.msg_namelen > sizeof(sockaddr_storage)) {
      s->counters[1]++;
      continue;
    }
    textLen[i] = AddressText(s->rfrom[i], texts[i], &ports[i]);
    if (textLen[i] == 0) {
      s->counters[1]++;
      continue;
    }
    keep[i] = true;
    kept++;
    total += len + textLen[i];
  }
  if (kept == 0 || s->recvMeta == nullptr) return n;

  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return n;
  napi_value buffer;
  size_t at = 0;
  uint8_t* out = nullptr;
  if (!TakeReceiveArea(s, total, &buffer, &at) || napi_get_buffer_info(env, buffer, reinterpret_cast<void**>(&out), nullptr) != napi_ok || out == nullptr) {
    s->counters[0]++;
    napi_close_handle_scope(env, scope);
    return n;
  }
  unsigned j = 0;
  for (int i = 0; i < n; i++) {
    if (!keep[i]) continue;
    int32_t* m = s->recvMeta + j * kMetaInts;
    size_t len = s->rmsgs[i].msg_len;
    memcpy(out + at, s->slots + i * kSlot, len);
    m[0] = static_cast<int32_t>(at);
    m[1] = static_cast<int32_t>(len);
    m[4] = ports[i];
    at += len;
    j++;
  }
  j = 0;
  for (int i = 0; i < n; i++) {
    if (!keep[i]) continue;
    int32_t* m = s->recvMeta + j * kMetaInts;
    memcpy(out + at, texts[i], textLen[i]);
    m[2] = static_cast<int32_t>(at);
    m[3] = static_cast<int32_t>(textLen[i]);
    at += textLen[i];
    j++;
  }
  napi_value fn, global, count, result;
  if (napi_get_reference_value(env, s->onBatch, &fn) == napi_ok && fn != nullptr) {
    napi_get_global(env, &global);
    napi_create_uint32(env, kept, &count);
    napi_value argv[2] = {buffer, count};
    // make_callback: like Node's own callbacks, runs the microtasks and nextTicks after it.
    s->inCallback = true;
    napi_status st = napi_make_callback(env, s->async, global, fn, 2, argv, &result);
    s->inCallback = false;
    if (s->closing && s->async != nullptr) {
      napi_async_destroy(env, s->async);
      s->async = nullptr;
    }
    if (st == napi_pending_exception) {
      // The JavaScript side catches everything; should it not, behave as Node does for
      // an exception in an event callback: 'uncaughtException'.
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
  return n;
}

void OnReadable(uv_poll_t* handle, int status, int events) {
  Socket* s = static_cast<Socket*>(handle->data);
  if (status < 0) {
    s->counters[0]++;
    return;
  }
  if ((events & UV_READABLE) == 0) return;
  for (unsigned b = 0; b < kBatchesPerEvent && !s->closing; b++) {
    int n = ReceiveOnce(s);
    if (n < static_cast<int>(kMaxBatch)) break;  // drained (or an error): wait for the next event
  }
}

// Address text (from JavaScript: never trusted) to a socket address of the socket's family,
// port 0. Returns the address length, 0 when the text is not an address.
socklen_t ParseHost(int family, const uint8_t* bytes, size_t length, sockaddr_storage* out) {
  char text[kAddrText];
  if (length == 0 || length >= sizeof text) return 0;
  memcpy(text, bytes, length);
  text[length] = '\0';
  memset(out, 0, sizeof *out);
  if (family == AF_INET) {
    sockaddr_in* a = reinterpret_cast<sockaddr_in*>(out);
    a->sin_family = AF_INET;
    return inet_pton(AF_INET, text, &a->sin_addr) == 1 ? sizeof(sockaddr_in) : 0;
  }
  sockaddr_in6* a = reinterpret_cast<sockaddr_in6*>(out);
  a->sin6_family = AF_INET6;
  char* pct = strchr(text, '%');
  if (pct != nullptr) {
    *pct = '\0';
    a->sin6_scope_id = if_nametoindex(pct + 1);
    if (a->sin6_scope_id == 0) return 0;
  }
  return inet_pton(AF_INET6, text, &a->sin6_addr) == 1 ? sizeof(sockaddr_in6) : 0;
}

// ---- JavaScript API -------------------------------------------------------------------

constexpr size_t kMaxArgs = 10;

// open(family, host, port, reusePort, recvBufferSize, sendBufferSize, recvMeta, sendArea, sendMeta, onBatch)
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_value self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, nullptr) != napi_ok || argc != kMaxArgs) return ThrowType(env, "open() takes 10 arguments");
  int32_t family, port, reusePort, rcvbuf, sndbuf;
  if (!GetInt(env, argv[0], &family) || (family != 4 && family != 6)) return ThrowType(env, "family must be 4 or 6");
  char host[kAddrText];
  size_t hostLen = 0;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_string || napi_get_value_string_latin1(env, argv[1], host, sizeof host, &hostLen) != napi_ok || hostLen == 0 || hostLen >= sizeof host - 1) {
    return ThrowType(env, "host must be an address string");
  }
  if (!GetInt(env, argv[2], &port) || port < 0 || port > 65535) return ThrowType(env, "port must be 0-65535");
  if (!GetInt(env, argv[3], &reusePort) || !GetInt(env, argv[4], &rcvbuf) || !GetInt(env, argv[5], &sndbuf)) return ThrowType(env, "socket options must be numbers");
  napi_typeof(env, argv[9], &t);
  if (t != napi_function) return ThrowType(env, "onBatch must be a function");

  Socket* s = new (std::nothrow) Socket();
  if (s == nullptr) return ThrowErrno(env, "open", ENOMEM);
  s->env = env;
  s->family = family == 4 ? AF_INET : AF_INET6;
  s->poll.data = s;
  s->handleClosed = true;  // until the poll handle exists
  s->wrapperGone = true;   // until the wrapper exists
  auto fail = [&](napi_value thrown) {
    CloseSocket(s);
    MaybeFree(s);
    return thrown;
  };
  void* p;
  if (!GetTyped(env, argv[6], napi_int32_array, kMaxBatch * kMetaInts, &p, &s->recvMetaLen, &s->recvMetaRef)) return fail(ThrowType(env, "recvMeta must be an Int32Array of 320+"));
  s->recvMeta = static_cast<int32_t*>(p);
  if (!GetTyped(env, argv[7], napi_uint8_array, kMaxDatagram, &p, &s->sendAreaLen, &s->sendAreaRef)) return fail(ThrowType(env, "sendArea must be a Uint8Array of 65535+"));
  s->sendArea = static_cast<uint8_t*>(p);
  if (!GetTyped(env, argv[8], napi_int32_array, kMaxBatch * kMetaInts, &p, &s->sendMetaLen, &s->sendMetaRef)) return fail(ThrowType(env, "sendMeta must be an Int32Array of 320+"));
  s->sendMeta = static_cast<int32_t*>(p);

  sockaddr_storage addr;
  socklen_t addrLen = ParseHost(s->family, reinterpret_cast<const uint8_t*>(host), hostLen, &addr);
  if (addrLen == 0) return fail(ThrowType(env, family == 4 ? "host is not an IPv4 address" : "host is not an IPv6 address"));
  reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(static_cast<uint16_t>(port));
  s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) return fail(ThrowErrno(env, "socket", errno));
  int one = 1;
  // Like node:dgram with ipv6Only: an IPv6 listener serves IPv6 only; IPv4 has its own.
  if (s->family == AF_INET6 && setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) return fail(ThrowErrno(env, "setsockopt IPV6_V6ONLY", errno));
  if (reusePort != 0 && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return fail(ThrowErrno(env, "setsockopt SO_REUSEPORT", errno));
  if (bind(s->fd, reinterpret_cast<sockaddr*>(&addr), addrLen) != 0) return fail(ThrowErrno(env, "bind", errno));
  // Best effort: the kernel caps these at net.core.rmem_max / wmem_max.
  if (rcvbuf > 0) setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  void* slots = mmap(nullptr, kMaxBatch * kSlot, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (slots == MAP_FAILED) return fail(ThrowErrno(env, "mmap", errno));
  s->slots = static_cast<uint8_t*>(slots);
  PrepareReceive(s);

  if (napi_create_reference(env, argv[9], 1, &s->onBatch) != napi_ok) return fail(ThrowType(env, "onBatch"));
  napi_value resourceName, resource;
  napi_create_string_utf8(env, "dnsward:udp", NAPI_AUTO_LENGTH, &resourceName);
  napi_create_object(env, &resource);
  if (napi_async_init(env, resource, resourceName, &s->async) != napi_ok) return fail(ThrowType(env, "async context"));

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return fail(ThrowType(env, "no event loop"));
  int rc = uv_poll_init(loop, &s->poll, s->fd);
  if (rc != 0) return fail(ThrowErrno(env, "uv_poll_init", -rc));
  s->pollInit = true;
  s->handleClosed = false;
  s->poll.data = s;
  rc = uv_poll_start(&s->poll, UV_READABLE, OnReadable);
  if (rc != 0) return fail(ThrowErrno(env, "uv_poll_start", -rc));
  if (napi_add_env_cleanup_hook(env, CleanupHook, s) == napi_ok) s->hookAdded = true;

  napi_value handle;
  napi_create_object(env, &handle);
  if (napi_wrap(env, handle, s, Finalize, nullptr, nullptr) != napi_ok) return fail(ThrowType(env, "wrap"));
  s->wrapperGone = false;
  return handle;
}

// sendBatch(handle, count): sends the `count` messages described in sendMeta
// (data offset, data length, host offset, host length, port)
// from sendArea. Returns how many were sent; the rest failed (see lastSendError).
napi_value SendBatch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 2) return ThrowType(env, "sendBatch(handle, count)");
  Socket* s = Unwrap(env, argv[0]);
  if (s == nullptr) return ThrowErrno(env, "sendBatch", EBADF);
  int32_t count;
  if (!GetInt(env, argv[1], &count) || count < 0 || count > static_cast<int32_t>(kMaxBatch)) return ThrowType(env, "count must be 0-64");
  unsigned valid = 0;
  // JavaScript writes a host's text once for a run of datagrams to it (DatagramSendQueue): the
  // same offset and length as the message before are the same text, parsed once.
  int64_t lastHostOff = -1, lastHostLen = -1;
  socklen_t lastHostAddrLen = 0;
  sockaddr_storage host;
  for (int32_t i = 0; i < count; i++) {
    const int32_t* m = s->sendMeta + i * kMetaInts;
    int64_t dataOff = m[0], dataLen = m[1], hostOff = m[2], hostLen = m[3], port = m[4];
    socklen_t hostAddrLen = lastHostAddrLen;
    if (hostOff != lastHostOff || hostLen != lastHostLen) {
      bool inside = hostLen > 0 && hostLen < static_cast<int64_t>(kAddrText) && hostOff >= 0 && hostOff + hostLen <= static_cast<int64_t>(s->sendAreaLen);
      hostAddrLen = inside ? ParseHost(s->family, s->sendArea + hostOff, static_cast<size_t>(hostLen), &host) : 0;
      lastHostOff = hostOff;
      lastHostLen = hostLen;
      lastHostAddrLen = hostAddrLen;
    }
    bool ok = hostAddrLen != 0 && dataOff >= 0 && dataLen >= 0 && dataLen <= static_cast<int64_t>(kMaxDatagram) && dataOff + dataLen <= static_cast<int64_t>(s->sendAreaLen) && port > 0 && port <= 65535;
    if (!ok) {
      s->counters[2]++;
      s->lastSendErrno = EINVAL;
      continue;
    }
    sockaddr_storage* to = &s->sto[valid];
    memcpy(to, &host, hostAddrLen);
    // sin_port and sin6_port share an offset.
    reinterpret_cast<sockaddr_in*>(to)->sin_port = htons(static_cast<uint16_t>(port));
    s->siov[valid].iov_base = s->sendArea + dataOff;
    s->siov[valid].iov_len = static_cast<size_t>(dataLen);
    memset(&s->smsgs[valid].msg_hdr, 0, sizeof(msghdr));
    s->smsgs[valid].msg_hdr.msg_name = to;
    s->smsgs[valid].msg_hdr.msg_namelen = hostAddrLen;
    s->smsgs[valid].msg_hdr.msg_iov = &s->siov[valid];
    s->smsgs[valid].msg_hdr.msg_iovlen = 1;
    valid++;
  }
  unsigned done = 0, sent = 0;
  while (done < valid) {
    int r = sendmmsg(s->fd, s->smsgs + done, valid - done, MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<unsigned>(r);
      sent += static_cast<unsigned>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    int err = r < 0 ? errno : EIO;
    s->lastSendErrno = err;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      // The send buffer is full: drop the rest, as the network would (bounded, counted).
      s->counters[3] += valid - done;
      break;
    }
    // This message alone failed (EMSGSIZE, EPERM, unreachable ...): skip it, send the rest.
    s->counters[2]++;
    done++;
  }
  napi_value result;
  napi_create_uint32(env, sent, &result);
  return result;
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1) return ThrowType(env, "close(handle)");
  void* p = nullptr;
  if (napi_unwrap(env, argv[0], &p) == napi_ok && p != nullptr) CloseSocket(static_cast<Socket*>(p));
  return nullptr;
}

napi_value LocalPort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1) return ThrowType(env, "localPort(handle)");
  Socket* s = Unwrap(env, argv[0]);
  if (s == nullptr) return ThrowErrno(env, "localPort", EBADF);
  sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (getsockname(s->fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return ThrowErrno(env, "getsockname", errno);
  napi_value result;
  napi_create_uint32(env, ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port), &result);
  return result;
}

// stats(handle): [receive errors, datagrams dropped unread, send errors, sends dropped, last send errno name]
napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1) return ThrowType(env, "stats(handle)");
  void* p = nullptr;
  if (napi_unwrap(env, argv[0], &p) != napi_ok || p == nullptr) return ThrowErrno(env, "stats", EBADF);
  Socket* s = static_cast<Socket*>(p);
  napi_value result, v;
  napi_create_array_with_length(env, 5, &result);
  for (uint32_t i = 0; i < 4; i++) {
    napi_create_double(env, s->counters[i], &v);
    napi_set_element(env, result, i, v);
  }
  const char* name = s->lastSendErrno == 0 ? "" : uv_err_name(uv_translate_sys_error(s->lastSendErrno));
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_element(env, result, 4, v);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value v;
  const napi_property_descriptor props[] = {
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sendBatch", nullptr, SendBatch, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"localPort", nullptr, LocalPort, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stats", nullptr, Stats, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_create_uint32(env, kMaxBatch, &v);
  napi_set_named_property(env, exports, "MAX_BATCH", v);
  napi_create_uint32(env, kMetaInts, &v);
  napi_set_named_property(env, exports, "META_INTS", v);
  napi_create_uint32(env, kMaxDatagram, &v);
  napi_set_named_property(env, exports, "MAX_DATAGRAM", v);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
