/* Preloaded into wrk (LD_PRELOAD) for the full-handshake scenario. wrk keeps one SSL object
 * per connection slot and, when it reconnects, calls SSL_shutdown then SSL_clear, which keeps
 * the last session: the next connection offers it and resumes (a TLS 1.3 PSK handshake, no
 * certificate, no signature). Dropping the session before SSL_clear makes every new
 * connection a full handshake. Nothing else in wrk changes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
int SSL_set_session(SSL *ssl, SSL_SESSION *session);

int SSL_clear(SSL *ssl) {
    static int (*next_clear)(SSL *);
    if (!next_clear) next_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
    SSL_set_session(ssl, NULL);
    return next_clear(ssl);
}
