// The worker/control-plane boundary under real threads: a Balancer with two workers
// carries keep-alive traffic from client threads to a backend thread while the main
// thread publishes configurations, reads stats, moves the listener and drains events.
// Built with -fsanitize=thread by scripts/tsan-tests.sh (and with ASan by the others).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "runtime/balancer.h"
#include "tests/test_framework.h"

namespace {

int listen_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::listen(fd, 128);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

// A tiny keep-alive HTTP backend: one thread per connection, answers each request head
// with the request's target as the body.
class Backend {
 public:
  Backend() { listen_fd_ = listen_loopback(port_); }
  ~Backend() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
  }
  void run() {
    acceptor_ = std::thread([this] {
      while (!stop_) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        connections_.emplace_back([this, fd] { serve(fd); });
      }
    });
  }
  uint16_t port() const { return port_; }

 private:
  void serve(int fd) {
    std::string pending;
    char chunk[4096];
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::read(fd, chunk, sizeof(chunk));
      if (n <= 0) break;
      pending.append(chunk, static_cast<size_t>(n));
      size_t end;
      while ((end = pending.find("\r\n\r\n")) != std::string::npos) {
        size_t first_space = pending.find(' ');
        size_t second_space = pending.find(' ', first_space + 1);
        std::string target = pending.substr(first_space + 1, second_space - first_space - 1);
        pending.erase(0, end + 4);
        std::string response =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(target.size()) + "\r\n\r\n" + target;
        if (::write(fd, response.data(), response.size()) < 0) break;
      }
    }
    ::close(fd);
  }
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

lb::proxy::ProxyConfig make_config(uint16_t backend_port, uint32_t weight) {
  lb::proxy::ProxyConfig config;
  lb::balancing::BackendSpec spec;
  spec.id = 1;
  lb::net::SocketAddress::parse("127.0.0.1", backend_port, spec.address);
  spec.label = "127.0.0.1:" + std::to_string(backend_port);
  spec.weight = weight;
  config.upstream.backends.push_back(spec);
  config.forwarded.mode = lb::http1::ForwardedPolicy::Mode::none;
  return config;
}

// Sends `count` keep-alive requests with unique targets; returns how many came back
// with exactly their own target as the body.
int run_client(uint16_t port, int id, int count) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return 0;
  }
  int correct = 0;
  std::string pending;
  char chunk[4096];
  for (int i = 0; i < count; ++i) {
    std::string target = "/c" + std::to_string(id) + "/r" + std::to_string(i);
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
    if (::write(fd, request.data(), request.size()) < 0) break;
    std::string expected = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(target.size()) + "\r\n\r\n" + target;
    while (pending.size() < expected.size()) {
      ssize_t n = ::read(fd, chunk, sizeof(chunk));
      if (n <= 0) break;
      pending.append(chunk, static_cast<size_t>(n));
    }
    if (pending.compare(0, expected.size(), expected) == 0) ++correct;
    pending.erase(0, std::min(pending.size(), expected.size()));
  }
  ::close(fd);
  return correct;
}

}  // namespace

TEST(balancer_threads_control_plane_while_serving) {
  Backend backend;
  backend.run();
  lb::runtime::Balancer balancer;
  // Two listeners, each with its own port 0: every worker accepts on both.
  lb::runtime::ListenSettings listen;
  listen.addresses.resize(2);
  lb::net::SocketAddress::parse("127.0.0.1", 0, listen.addresses[0]);
  lb::net::SocketAddress::parse("127.0.0.1", 0, listen.addresses[1]);
  listen.workers = 2;
  std::atomic<int> notifications{0};
  lb::net::ListenError error;
  CHECK(balancer.start(
      listen, make_config(backend.port(), 1), [&] { notifications++; }, error));
  CHECK_EQ(balancer.listener_count(), size_t{2});
  std::atomic<uint16_t> port{balancer.bound_port(0)};
  const uint16_t second_port = balancer.bound_port(1);
  CHECK(second_port != 0 && second_port != port.load());

  constexpr int kClients = 8;
  constexpr int kRequests = 200;
  std::atomic<int> correct{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] { correct += run_client(c % 2 == 0 ? port.load() : second_port, c, kRequests); });
  }
  // The control plane at work while requests flow.
  for (int round = 0; round < 50; ++round) {
    std::string update_error;
    CHECK(balancer.update(make_config(backend.port(), 1 + round % 3), update_error));
    lb::runtime::BalancerStats stats = balancer.stats();
    CHECK_EQ(stats.workers, 2u);
    balancer.drain_events([](const lb::stats::Event&) {});
    balancer.drain_access_log([](const lb::stats::AccessRecord&) {});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& client : clients) client.join();
  CHECK_EQ(correct.load(), kClients * kRequests);

  // A listener move while idle, then traffic on the new port.
  lb::net::SocketAddress next;
  uint16_t free_port = 0;
  ::close(listen_loopback(free_port));
  lb::net::SocketAddress::parse("127.0.0.1", free_port, next);
  CHECK(balancer.rebind(0, next, 0, error));
  port = balancer.bound_port(0);
  CHECK_EQ(port.load(), free_port);
  CHECK_EQ(balancer.bound_port(1), second_port);  // the other listener stays where it was
  CHECK_EQ(run_client(port, 99, 20), 20);

  lb::runtime::BalancerStats stats = balancer.stats();
  CHECK_EQ(stats.requests, uint64_t{kClients * kRequests + 20});
  CHECK_EQ(stats.responses_by_class[2], uint64_t{kClients * kRequests + 20});
  balancer.request_stop(1000);
  balancer.join();
  CHECK(!balancer.running());
}
