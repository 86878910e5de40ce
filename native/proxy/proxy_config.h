// One immutable configuration snapshot. The control plane builds a new one for every
// change and posts it to each worker's inbox; a worker adopts it between events, so the
// request path never takes a lock to read configuration. The defaults below are those of
// src/config/defaults.ts: the addon reads each option through native/addon/config_table.cpp,
// whose rows export them, and test/config/native-options.test.ts fails if the two differ.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http1/acme_challenge.h"
#include "http1/head_writer.h"
#include "http1/parser.h"
#include "http2/session_limits.h"
#include "net/socket_options.h"
#include "protection/edge_rules.h"
#include "tls/ticket_keys.h"
#include "tls/tls_server_context.h"
#include "upstream/upstream_settings.h"

namespace lb::proxy {

struct Timeouts {
  uint32_t connect_ms = 5000;
  uint32_t response_ms = 60000;
  uint32_t client_head_ms = 10000;
  uint32_t keep_alive_ms = 60000;
  // Below Node's default server keep-alive timeout (5 s), so that we close an idle pooled
  // connection before the backend does, rather than race it with a new request.
  uint32_t backend_idle_ms = 4000;
  // Time without a byte of request body from the client, then 408 (nginx's
  // client_body_timeout).
  uint32_t client_body_ms = 60000;
  // The whole request body must arrive within this, counted from the end of its head; then
  // 408 (0: no limit). The per-read timeout alone lets a client trickle a byte just under
  // it forever, holding a backend connection (slow POST). Node's http server, the usual
  // backend, ends a request after 300 s (server.requestTimeout): so does this.
  uint32_t client_body_total_ms = 300000;
  // An upgraded connection (WebSocket) with no byte either way for this long is closed.
  // Long by default, as HAProxy's `timeout tunnel` is usually set: idle WebSockets are
  // normal, and cutting them is a classic complaint against proxies.
  uint32_t tunnel_idle_ms = 3600000;
  // A client that keeps sending after we decided to close gets this long to go away.
  uint32_t lingering_close_ms = 2000;
};

struct Limits {
  http1::HeadLimits request_head;
  http1::HeadLimits response_head;
  uint64_t max_body_bytes = 0;          // 0: unlimited
  uint32_t max_client_connections = 0;  // per worker; 0: unlimited
};

struct BodySettings {
  // A Content-Length body with at least this many bytes still to move, between two plain
  // TCP sockets, goes through a pipe with splice(2) rather than through a buffer
  // (HAProxy's splice-auto idea): its bytes never enter user space. Chunked bodies, bodies
  // that must be de-chunked and TLS connections are always copied. 0 turns splicing off.
  uint32_t splice_min_bytes = 65536;
  // Pipes a worker may have in use at once (two descriptors each, up to 64 KiB of kernel
  // memory while full); beyond that bodies are copied.
  uint32_t max_pipes = 256;
};

struct PoolSettings {
  // Idle connections kept per backend for the idle timeout (0 turns pooling off). Beyond
  // this many, a parked connection is kept only `surplus_idle_ms`: a burst that just
  // returned them will likely need them again at once, and closing and reopening them
  // would cost more (0 closes them at once, a hard cap).
  uint32_t max_idle_per_backend = 64;
  uint32_t surplus_idle_ms = 1000;
  net::TcpKeepAlive tcp_keep_alive;
};

enum class ProxyMode : uint8_t {
  http,      // L7 reverse proxy
  redirect,  // answer every request with a redirect to a backend's public URL
  tcp,       // L4 relay, bytes untouched
};

enum class ProxyProtocol : uint8_t { none, v1, v2 };

// TLS on a listener. A certificate change is a new snapshot with a new context: each
// connection keeps the context it was accepted with, new ones take the new one.
struct ListenerTls {
  // nullptr: a plain listener, unless `awaiting_certificate`.
  std::shared_ptr<const tls::TlsServerContext> context;
  // A TLS listener with no certificate yet (its only source is ACME, not issued so far):
  // it is bound, and closes what it accepts until a certificate arrives (no placeholder),
  // except while TLS-ALPN-01 challenges are pending: its `context` (certificate-less)
  // then answers those, so the first certificate can be validated through it.
  bool awaiting_certificate = false;
  // The Strict-Transport-Security value added to relayed responses ("" for none); a
  // backend's own header is kept instead.
  std::string hsts;
  // mTLS: the request header that carries the verified client certificate's subject to
  // the backends ("" for none); a client's own copy is always dropped.
  std::string client_subject_header;

  bool enabled() const { return context != nullptr || awaiting_certificate; }
};

// A plain listener that sends every request to the same host over HTTPS.
struct HttpsRedirect {
  bool enabled = false;
  uint16_t status = 308;
  uint16_t port = 443;  // 443 is left out of the Location
};

// HTTP/2 to clients: over TLS when the client's ALPN picks "h2" (offered while `enabled`),
// and on plain listeners with prior knowledge when `cleartext` (h2c). Each stream is one
// HTTP/1.1 exchange with a backend (proxy/h2_client_connection.h). Balancer-wide: every
// listener offers the same.
struct Http2Settings {
  bool enabled = true;
  bool cleartext = false;
  http2::SessionLimits limits;
};

// What a connection accepted on one listener does at the protocol level: TLS or plain,
// and whether a plain one redirects to HTTPS. Addresses live with the sockets (runtime).
struct ListenerPolicy {
  ListenerTls tls;
  HttpsRedirect https_redirect;
};

struct ProxyConfig {
  ProxyMode mode = ProxyMode::http;
  uint16_t redirect_status = 307;                      // 301, 302, 303, 307 or 308
  ProxyProtocol proxy_protocol = ProxyProtocol::none;  // tcp mode: header sent to backends
  // Backends, strategy, passive health, retries: what each worker's upstream group runs on.
  upstream::UpstreamSettings upstream;
  Timeouts timeouts;
  Limits limits;
  PoolSettings pool;
  BodySettings bodies;
  http1::ForwardedPolicy forwarded;
  http1::HeaderPolicy headers;
  // One per listener, in configuration order; a connection keeps its listener's index.
  // Their number is fixed for a balancer's run (a snapshot with another count is refused).
  std::vector<ListenerPolicy> listeners;
  // Session ticket keys, the same for every worker and listener (a ticket resumes on any
  // of them); each worker copies them into its own ring. Filled by the Balancer.
  tls::TicketKeyRing ticket_keys;
  Http2Settings http2;
  // header-hash: the header whose value is hashed; cookie: the sticky cookie's name.
  std::string hash_header = "x-session-id";
  std::string cookie_name = "lb_backend";
  // Share of requests that produce an access-log record: 0 off, 1 all.
  double access_log_sample_rate = 0;
  // ACME HTTP-01 answers (set while ACME is configured, even empty): the balancer then
  // owns /.well-known/acme-challenge/ and answers 404 for tokens it does not know.
  // Null: that path is proxied like any other.
  std::shared_ptr<const http1::AcmeChallengeTable> acme_challenges;
  // ACME TLS-ALPN-01 challenges (RFC 8737), for every TLS listener: a connection whose
  // ClientHello offers acme-tls/1 for a name in the table gets that name's challenge
  // certificate and is closed after the handshake. Null or empty: none pending.
  std::shared_ptr<const tls::AcmeAlpnChallenges> acme_alpn_challenges;
  // Allow/deny lists, connections per client, rate limits (native/protection).
  protection::EdgeProtection protection;
};

}  // namespace lb::proxy
