// A TLS listener end to end under the sanitizers: a Balancer whose snapshot carries a
// TlsServerContext, a real backend thread, and clients that handshake, send plain HTTP,
// stay silent or stop mid-ClientHello. Covers ClientConnection's handshaking state.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "runtime/balancer.h"
#include "tests/test_framework.h"
#include "tests/tls_test_support.h"

namespace {

using lb::tls_testing::fixtures;

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval limit{5, 0};  // no test read waits longer
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  return fd;
}

// Reads until the peer closes (or the receive timeout); returns what came. `closed`: the
// peer closed (EOF or reset), rather than the receive timeout passing.
std::string read_until_close(int fd, bool* closed = nullptr) {
  std::string out;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      if (closed) *closed = n == 0 || errno == ECONNRESET;
      return out;
    }
    out.append(chunk, static_cast<size_t>(n));
  }
}

// A one-thread backend: answers each request with the X-Forwarded-Proto it saw.
class ProtoBackend {
 public:
  ProtoBackend() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listen_fd_, 16);
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ProtoBackend() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }

 private:
  void run() {
    while (!stop_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::string pending;
      char chunk[4096];
      while (!stop_) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        ssize_t n = ::read(fd, chunk, sizeof(chunk));
        if (n <= 0) break;
        pending.append(chunk, static_cast<size_t>(n));
        size_t end = pending.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        std::string proto = "none";
        size_t at = pending.find("X-Forwarded-Proto: ");
        if (at != std::string::npos && at < end) proto = pending.substr(at + 19, pending.find("\r\n", at) - at - 19);
        pending.erase(0, end + 4);
        std::string response =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(proto.size()) + "\r\n\r\n" + proto;
        if (::write(fd, response.data(), response.size()) < 0) break;
      }
      ::close(fd);
    }
  }
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct TlsBalancer {
  lb::runtime::Balancer balancer;
  uint16_t port = 0;

  explicit TlsBalancer(uint16_t backend_port) {
    lb::runtime::ListenSettings listen;
    listen.addresses.resize(1);
    lb::net::SocketAddress::parse("127.0.0.1", 0, listen.addresses[0]);
    listen.workers = 2;
    lb::proxy::ProxyConfig config;
    lb::balancing::BackendSpec spec;
    spec.id = 1;
    lb::net::SocketAddress::parse("127.0.0.1", backend_port, spec.address);
    spec.label = "backend";
    config.upstream.backends.push_back(spec);
    config.timeouts.client_head_ms = 300;
    config.listeners.resize(1);
    config.listeners[0].tls.context = lb::tls_testing::server_context({&fixtures().address});
    lb::net::ListenError error;
    if (balancer.start(
            listen, std::move(config), [] {}, error))
      port = balancer.bound_port();
  }
  ~TlsBalancer() {
    balancer.request_stop(0);
    balancer.join();
  }
};

}  // namespace

TEST(client_tls_handshake_then_keep_alive_requests_say_https) {
  ProtoBackend backend;
  TlsBalancer lb(backend.port());
  CHECK(lb.port != 0);
  int fd = connect_to(lb.port);
  CHECK(fd >= 0);
  {
    lb::tls_testing::RawClient client(fd, {.server_name = "localhost"});
    CHECK_EQ(client.handshake_step(), 1);
    for (int i = 0; i < 3; ++i) {
      CHECK(client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      std::string response;
      for (int tries = 0; tries < 20 && response.find("https") == std::string::npos; ++tries) {
        response += client.receive_available();
      }
      CHECK_EQ(response, std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhttps"));
    }
  }
  ::close(fd);
}

TEST(client_tls_plain_http_on_the_tls_port_gets_a_400_and_a_close) {
  ProtoBackend backend;
  TlsBalancer lb(backend.port());
  int fd = connect_to(lb.port);
  CHECK(fd >= 0);
  std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  CHECK(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string answer = read_until_close(fd);
  CHECK(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(answer.find("This port speaks HTTPS") != std::string::npos);
  ::close(fd);
}

TEST(client_tls_silent_and_half_hello_clients_are_closed_at_the_handshake_timeout) {
  ProtoBackend backend;
  TlsBalancer lb(backend.port());
  int silent = connect_to(lb.port);
  int half = connect_to(lb.port);
  CHECK(silent >= 0 && half >= 0);
  // A record header announcing 512 bytes of ClientHello, and 6 of them.
  const unsigned char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  CHECK(::write(half, partial, sizeof(partial)) == static_cast<ssize_t>(sizeof(partial)));
  // Closed by the balancer (after 300 ms, plus the listener's deferred accept for the
  // silent one), not left open until the 5 s receive timeout.
  bool half_closed = false;
  bool silent_closed = false;
  CHECK_EQ(read_until_close(half, &half_closed), std::string());
  CHECK_EQ(read_until_close(silent, &silent_closed), std::string());
  CHECK(half_closed);
  CHECK(silent_closed);
  ::close(silent);
  ::close(half);
}
