#include "tls/socket_bio.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace lb::tls {
namespace {

SocketBioState* state_of(BIO* bio) { return static_cast<SocketBioState*>(BIO_get_data(bio)); }

bool retryable(int error_number) { return error_number == EAGAIN || error_number == EWOULDBLOCK; }

int bio_write(BIO* bio, const char* data, size_t length, size_t* written) {
  SocketBioState* state = state_of(bio);
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::send(state->fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *written = static_cast<size_t>(n);
    return 1;
  }
  if (retryable(errno)) {
    BIO_set_retry_write(bio);
  } else {
    state->last_error = errno;
  }
  *written = 0;
  return 0;
}

int bio_read(BIO* bio, char* into, size_t capacity, size_t* got) {
  SocketBioState* state = state_of(bio);
  BIO_clear_retry_flags(bio);
  *got = 0;
  ssize_t n;
  do {
    n = ::read(state->fd, into, capacity);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    *got = static_cast<size_t>(n);
    return 1;
  }
  if (n == 0) {
    // OpenSSL asks BIO_eof() to tell a peer that closed without close_notify from an error.
    BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
    return 0;
  }
  if (retryable(errno)) {
    BIO_set_retry_read(bio);
  } else {
    state->last_error = errno;
  }
  return 0;
}

long bio_ctrl(BIO* bio, int command, long, void* argument) {
  switch (command) {
    case BIO_CTRL_FLUSH: return 1;  // nothing is buffered here
    case BIO_CTRL_EOF: return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_C_GET_FD: {
      int fd = state_of(bio)->fd;
      if (argument != nullptr) *static_cast<int*>(argument) = fd;
      return fd;
    }
    default: return 0;  // unsupported (kTLS queries included: answering 0 means "not offloaded")
  }
}

int bio_create(BIO* bio) {
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 0);
  return 1;
}

int bio_destroy(BIO*) { return 1; }  // the fd belongs to the caller

}  // namespace

BioMethodPtr make_socket_bio_method() {
  int type = BIO_get_new_index();
  if (type == -1) return nullptr;
  BioMethodPtr method(BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "lb-native socket"));
  if (!method) return nullptr;
  if (BIO_meth_set_write_ex(method.get(), bio_write) != 1 || BIO_meth_set_read_ex(method.get(), bio_read) != 1 ||
      BIO_meth_set_ctrl(method.get(), bio_ctrl) != 1 || BIO_meth_set_create(method.get(), bio_create) != 1 ||
      BIO_meth_set_destroy(method.get(), bio_destroy) != 1) {
    return nullptr;
  }
  return method;
}

BioPtr new_socket_bio(const BIO_METHOD* method, SocketBioState* state) {
  BioPtr bio(BIO_new(method));
  if (!bio) return nullptr;
  BIO_set_data(bio.get(), state);
  BIO_set_init(bio.get(), 1);
  return bio;
}

}  // namespace lb::tls
