// H2ClientConnection and H2StreamExchange end to end under the sanitizers: a Balancer with
// h2c on, a real nghttp2 client session over a real socket, and a poll backend thread.
// Streams answered by their own backend exchange, a stream reset mid-response (its
// backend connection closed), a client gone with streams open, and HTTP/1.1 beside h2c.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "runtime/balancer.h"
#include "tests/http2_test_support.h"
#include "tests/test_framework.h"

namespace {

using lb::http2_testing::Fields;
using lb::http2_testing::TestClient;

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
  return fd;
}

// A backend thread serving many connections with poll: GET /stall answers a head and
// 10 of 1000 body bytes, then waits (and notes when the balancer closes it); any other
// path is answered with the path as body.
class PollBackend {
 public:
  PollBackend() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listen_fd_, 64);
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~PollBackend() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, pending] : connections_) ::close(fd);
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  std::atomic<int> stalled_closed{0};
  std::atomic<int> requests{0};

 private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& [fd, pending] : connections_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) connections_[fd] = {};
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        serve(fds[i].fd);
      }
    }
  }
  void serve(int fd) {
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    std::string& pending = connections_[fd];
    if (n <= 0) {
      if (pending == "stalled") ++stalled_closed;
      ::close(fd);
      connections_.erase(fd);
      return;
    }
    if (pending == "stalled") return;
    pending.append(chunk, static_cast<size_t>(n));
    size_t end = pending.find("\r\n\r\n");
    if (end == std::string::npos) return;
    ++requests;
    size_t path_start = pending.find(' ') + 1;
    std::string path = pending.substr(path_start, pending.find(' ', path_start) - path_start);
    pending.erase(0, end + 4);
    std::string response;
    if (path == "/stall") {
      response = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
      pending = "stalled";
    } else {
      response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(path.size()) + "\r\n\r\n" + path;
    }
    if (::write(fd, response.data(), response.size()) < 0) return;
  }
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::map<int, std::string> connections_;
  std::thread thread_;
};

struct H2cBalancer {
  lb::runtime::Balancer balancer;
  uint16_t port = 0;

  explicit H2cBalancer(uint16_t backend_port) {
    lb::runtime::ListenSettings listen;
    listen.addresses.resize(1);  // one plain listener; the config gives no policy: plain
    lb::net::SocketAddress::parse("127.0.0.1", 0, listen.addresses[0]);
    listen.workers = 1;
    lb::proxy::ProxyConfig config;
    lb::balancing::BackendSpec spec;
    spec.id = 1;
    lb::net::SocketAddress::parse("127.0.0.1", backend_port, spec.address);
    spec.label = "backend";
    config.upstream.backends.push_back(spec);
    config.http2.cleartext = true;
    lb::net::ListenError error;
    if (balancer.start(
            listen, std::move(config), [] {}, error))
      port = balancer.bound_port();
  }
  ~H2cBalancer() {
    balancer.request_stop(0);
    balancer.join();
  }
};

// Moves bytes between `client` and the socket until `done` or 5 s pass.
template <typename Done>
bool exchange(TestClient& client, int fd, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(client.session(), &data);
      if (n <= 0) break;
      if (::write(fd, data, static_cast<size_t>(n)) != n) return false;
    }
    if (done()) return true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    uint8_t chunk[16384];
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0) return done();
    nghttp2_session_mem_recv(client.session(), chunk, static_cast<size_t>(n));
  }
  return done();
}

Fields get_h2c(std::string path) {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "localhost"}, {":path", std::move(path)}};
}

}  // namespace

TEST(h2c_streams_each_get_their_own_backend_answer) {
  PollBackend backend;
  H2cBalancer lb(backend.port());
  CHECK(lb.port != 0);
  int fd = connect_to(lb.port);
  CHECK(fd >= 0);
  TestClient client;
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(client.request(get_h2c("/s" + std::to_string(i))));
  bool all = exchange(client, fd, [&] {
    for (int32_t id : ids) {
      if (!client.streams[id].closed) return false;
    }
    return true;
  });
  CHECK(all);
  for (size_t i = 0; i < ids.size(); ++i) {
    CHECK_EQ(client.streams[ids[i]].status, 200);
    CHECK_EQ(client.streams[ids[i]].body, "/s" + std::to_string(i));
  }
  ::close(fd);
}

TEST(h2c_stream_reset_mid_response_closes_its_backend_connection) {
  PollBackend backend;
  H2cBalancer lb(backend.port());
  int fd = connect_to(lb.port);
  CHECK(fd >= 0);
  TestClient client;
  int32_t stalled = client.request(get_h2c("/stall"));
  CHECK(exchange(client, fd, [&] { return client.streams[stalled].body.size() == 10; }));
  nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, stalled, NGHTTP2_CANCEL);
  int32_t after = client.request(get_h2c("/after"));
  CHECK(exchange(client, fd, [&] { return client.streams[after].closed && backend.stalled_closed.load() == 1; }));
  CHECK_EQ(client.streams[after].body, std::string("/after"));
  CHECK_EQ(backend.stalled_closed.load(), 1);
  ::close(fd);
}

TEST(h2c_client_gone_with_streams_open_cancels_them) {
  PollBackend backend;
  H2cBalancer lb(backend.port());
  int fd = connect_to(lb.port);
  CHECK(fd >= 0);
  TestClient client;
  int32_t first = client.request(get_h2c("/stall"));
  client.request(get_h2c("/stall"));
  CHECK(exchange(client, fd, [&] { return client.streams[first].body.size() == 10; }));
  ::close(fd);
  for (int i = 0; i < 250 && backend.stalled_closed.load() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK_EQ(backend.stalled_closed.load(), 2);
}

TEST(h2c_listener_still_speaks_http1) {
  PollBackend backend;
  H2cBalancer lb(backend.port());
  int fd = connect_to(lb.port);
  CHECK(fd >= 0);
  std::string request = "GET /plain HTTP/1.1\r\nHost: localhost\r\n\r\n";
  CHECK(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char chunk[4096];
  while (answer.find("/plain") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0) break;
    answer.append(chunk, static_cast<size_t>(n));
  }
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(answer.find("/plain") != std::string::npos);
  ::close(fd);
}
