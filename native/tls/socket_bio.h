// The BIO OpenSSL reads and writes a connection through: a non-blocking socket the
// caller owns (never closed here). Unlike OpenSSL's own socket BIO it sends with
// MSG_NOSIGNAL, so a write to a closed peer is EPIPE and never a process-killing
// SIGPIPE, and it keeps the errno of the last failed call for the caller to report.
#pragma once

#include "tls/openssl_ptr.h"

namespace lb::tls {

// What one connection's BIO works on; lives in the connection's TlsStream.
struct SocketBioState {
  int fd = -1;
  int last_error = 0;  // errno of the last failed read or write, 0 if none
};

// The BIO method; each TLS context makes one at creation and its streams share it.
BioMethodPtr make_socket_bio_method();

// A BIO over `state` (which must outlive it).
BioPtr new_socket_bio(const BIO_METHOD* method, SocketBioState* state);

}  // namespace lb::tls
