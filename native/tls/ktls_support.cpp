#include "tls/ktls_support.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/opensslconf.h>
#include <sys/socket.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace lb::tls {
namespace {

// The probe socket, closed on every way out (tls/ sits below reactor/'s UniqueFd).
struct ProbeSocket {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  ~ProbeSocket() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

KtlsSupport detect_ktls_support() {
  KtlsSupport support;
#ifndef OPENSSL_NO_KTLS
  support.openssl = true;
#endif
  ProbeSocket probe;
  if (probe.fd < 0) {
    support.detail = std::string("cannot probe the kernel for the tls ULP: ") + std::strerror(errno);
  } else if (::setsockopt(probe.fd, IPPROTO_TCP, TCP_ULP, "tls", 3) == 0 || errno == ENOTCONN || errno == EEXIST) {
    support.kernel = true;
  } else {
    support.detail =
        std::string("the kernel offers no tls ULP (setsockopt TCP_ULP \"tls\": ") + std::strerror(errno) + ")";
  }
  if (!support.openssl) {
    if (!support.detail.empty()) support.detail += "; ";
    support.detail += "the linked OpenSSL is built without kTLS (OPENSSL_NO_KTLS)";
  }
  return support;
}

}  // namespace lb::tls
