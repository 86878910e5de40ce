#include "proxy/socket_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace lb::proxy {

IoResult read_some(int fd, char* into, size_t capacity) {
  for (;;) {
    ssize_t n = ::read(fd, into, capacity);
    if (n > 0) return {IoStatus::progress, static_cast<size_t>(n), 0};
    if (n == 0) return {IoStatus::eof, 0, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::would_block, 0, 0};
    return {IoStatus::failed, 0, errno};
  }
}

IoResult write_some(int fd, const iovec* parts, int count) {
  for (;;) {
    // sendmsg rather than writev: MSG_NOSIGNAL turns a write to a closed peer into EPIPE
    // instead of a process-killing SIGPIPE.
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(parts);
    message.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return {IoStatus::progress, static_cast<size_t>(n), 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::would_block, 0, 0};
    return {IoStatus::failed, 0, errno};
  }
}

bool input_pending(int fd) {
  char byte;
  ssize_t n;
  do {
    n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

}  // namespace lb::proxy
