// Session resumption: tickets sealed by one copy of a key ring open with another copy (so
// any worker of any process holding the same keys resumes), tickets from a key rotated
// out of first place still resume and are renewed, TLS 1.2 session IDs from the cache,
// and the client side offering the session it kept.
#include <cstring>
#include <string>

#include "tests/test_framework.h"
#include "tests/tls_test_support.h"
#include "tls/ticket_keys.h"
#include "tls/tls_stream.h"

namespace {

using namespace lb::tls;
using namespace lb::tls_testing;

TicketKeyRing ring_of(std::vector<TicketKey> keys) {
  TicketKeyRing ring;
  std::string error;
  TicketKeyRing::from_keys(std::move(keys), ring, error);
  return ring;
}

TicketKey new_key() {
  TicketKey key;
  TicketKey::generate(key);
  return key;
}

struct Connection {
  bool established = false;
  bool resumed = false;
  SslSessionPtr session;  // what the client keeps for next time
};

// One TLS 1.2 connection (where tickets and IDs are plain to see) from a raw client.
Connection connect_tls12(const std::shared_ptr<const TlsServerContext>& context, const TicketKeyRing* ring,
                         SSL_SESSION* offer, bool no_tickets = false) {
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, ring);
  RawClient client(sockets.client, {.max_version = TLS1_2_VERSION, .no_tickets = no_tickets, .session = offer});
  Connection out;
  out.established = drive(*server, step_of(client)) == Outcome::both_done;
  out.resumed = server->resumed();
  out.session = client.session();
  return out;
}

// One TLS 1.3 connection from our own client; the session is taken after a response has
// been read, when the server's tickets have arrived.
Connection connect_tls13(const std::shared_ptr<const TlsServerContext>& context, const TicketKeyRing* ring,
                         SSL_SESSION* offer) {
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, ring);
  std::string error;
  auto client = TlsStream::connect(client_context_trusting(fixtures().ca), sockets.client, "example.com", offer, error);
  Connection out;
  out.established = drive(*server, step_of(*client)) == Outcome::both_done;
  out.resumed = server->resumed() && client->resumed();
  CHECK_EQ(transfer(*server, *client, "HTTP/1.1 200 OK\r\n\r\n"), std::string("HTTP/1.1 200 OK\r\n\r\n"));
  out.session = client->resumable_session();
  return out;
}

// The key name a TLS 1.2 ticket was sealed with: OpenSSL puts it first.
std::string ticket_key_name(SSL_SESSION* session) {
  const unsigned char* ticket = nullptr;
  size_t length = 0;
  SSL_SESSION_get0_ticket(session, &ticket, &length);
  if (length < TicketKey::name_size) return {};
  return std::string(reinterpret_cast<const char*>(ticket), TicketKey::name_size);
}

std::string name_of(const TicketKey& key) {
  return std::string(reinterpret_cast<const char*>(key.name.data()), key.name.size());
}

}  // namespace

TEST(tls_ticket_from_one_ring_copy_resumes_on_another_context_and_copy) {
  const Fixtures& f = fixtures();
  TicketKeyRing worker_one = ring_of({new_key()});
  TicketKeyRing worker_two = worker_one;  // another worker's (or process's) copy
  // Two contexts built separately from the same settings, as two processes would.
  auto first_process = server_context({&f.example_ecdsa});
  auto second_process = server_context({&f.example_ecdsa});

  Connection full = connect_tls13(first_process, &worker_one, nullptr);
  CHECK(full.established && !full.resumed);
  CHECK(full.session != nullptr);
  Connection again = connect_tls13(second_process, &worker_two, full.session.get());
  CHECK(again.established);
  CHECK(again.resumed);

  // Other keys: the ticket cannot be opened and a full handshake follows.
  TicketKeyRing stranger = ring_of({new_key()});
  Connection refused = connect_tls13(second_process, &stranger, full.session.get());
  CHECK(refused.established);
  CHECK(!refused.resumed);
}

TEST(tls_ticket_from_a_rotated_out_key_resumes_and_is_renewed) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.example_ecdsa});
  TicketKey old_key = new_key();
  TicketKey new_key_now = new_key();
  TicketKeyRing before = ring_of({old_key});
  TicketKeyRing rotated = ring_of({new_key_now, old_key});  // new key current, old kept
  TicketKeyRing dropped = ring_of({new_key_now});

  Connection first = connect_tls12(context, &before, nullptr);
  CHECK(first.established && !first.resumed);
  CHECK(ticket_key_name(first.session.get()) == name_of(old_key));

  Connection second = connect_tls12(context, &rotated, first.session.get());
  CHECK(second.resumed);
  // Renewed: the client now holds a ticket sealed with the current key.
  CHECK(ticket_key_name(second.session.get()) == name_of(new_key_now));

  // Once the old key is gone from the ring, its tickets no longer open... but the session
  // ID cache of the same context still knows the session: turn the cache off to see it.
  TlsServerSettings no_cache;
  no_cache.certificates = {pem_of(f.example_ecdsa)};
  no_cache.session_cache_size = 0;
  auto uncached = server_context(no_cache);
  Connection third = connect_tls12(uncached, &before, nullptr);
  CHECK(third.established && !third.resumed);
  Connection fourth = connect_tls12(uncached, &dropped, third.session.get());
  CHECK(fourth.established);
  CHECK(!fourth.resumed);
}

TEST(tls_session_id_resumes_from_the_cache_for_tls12_clients_without_tickets) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.example_ecdsa});
  TicketKeyRing ring = ring_of({new_key()});
  Connection first = connect_tls12(context, &ring, nullptr, /*no_tickets=*/true);
  CHECK(first.established && !first.resumed);
  const unsigned char* ticket = nullptr;
  size_t ticket_length = 0;
  SSL_SESSION_get0_ticket(first.session.get(), &ticket, &ticket_length);
  CHECK_EQ(ticket_length, size_t{0});  // no ticket: only the session ID can resume it
  unsigned int id_length = 0;
  SSL_SESSION_get_id(first.session.get(), &id_length);
  CHECK(id_length > 0);

  Connection second = connect_tls12(context, &ring, first.session.get(), true);
  CHECK(second.resumed);

  // Without the cache there is nothing to resume from.
  TlsServerSettings no_cache;
  no_cache.certificates = {pem_of(f.example_ecdsa)};
  no_cache.session_cache_size = 0;
  auto uncached = server_context(no_cache);
  Connection third = connect_tls12(uncached, &ring, nullptr, true);
  Connection fourth = connect_tls12(uncached, &ring, third.session.get(), true);
  CHECK(fourth.established);
  CHECK(!fourth.resumed);
}

TEST(tls_no_ring_means_no_tickets_but_a_full_handshake_still_works) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.example_ecdsa});
  Connection first = connect_tls12(context, nullptr, nullptr);
  CHECK(first.established);
  const unsigned char* ticket = nullptr;
  size_t ticket_length = 0;
  SSL_SESSION_get0_ticket(first.session.get(), &ticket, &ticket_length);
  CHECK_EQ(ticket_length, size_t{0});
}

TEST(tls_sessions_do_not_resume_across_client_verification_policies) {
  const Fixtures& f = fixtures();
  TicketKeyRing ring = ring_of({new_key()});
  TlsServerSettings plain;
  plain.certificates = {pem_of(f.example_ecdsa)};
  TlsServerSettings mtls = plain;
  mtls.client_ca_pem = f.ca.cert_pem;
  mtls.client_verify = ClientVerify::optional;
  auto without = server_context(plain);
  auto with = server_context(mtls);
  Connection first = connect_tls12(without, &ring, nullptr);
  CHECK(first.established);
  // Same ring (the ticket opens), same certificate, but a session made without client
  // verification must not slip into a listener that verifies clients.
  Connection second = connect_tls12(with, &ring, first.session.get());
  CHECK(second.established);
  CHECK(!second.resumed);
}

// Regression: SSL_free evicts the session of a connection that sent no close_notify (a
// TLS 1.0 rule), so every client that just closes its socket, as browsers do, lost its
// cached session, and a backend connection closed by the pool spoiled the session kept
// for the next connect. TlsStream marks its shutdown done before freeing.
TEST(tls_session_stays_resumable_when_the_connection_closes_without_close_notify) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.example_ecdsa});
  {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, nullptr);
    RawClient client(sockets.client, {.max_version = TLS1_2_VERSION, .no_tickets = true});
    CHECK(drive(*server, step_of(client)) == Outcome::both_done);
    CHECK_EQ(SSL_CTX_sess_number(context->default_context()), 1L);
  }  // both ends freed without close_notify
  CHECK_EQ(SSL_CTX_sess_number(context->default_context()), 1L);

  SslSessionPtr kept;
  TicketKeyRing ring = ring_of({new_key()});
  {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, &ring);
    std::string error;
    auto client = TlsStream::connect(client_context_trusting(f.ca), sockets.client, "example.com", nullptr, error);
    CHECK(drive(*server, step_of(*client)) == Outcome::both_done);
    CHECK_EQ(transfer(*server, *client, "x"), std::string("x"));
    kept = client->resumable_session();
  }
  CHECK(kept != nullptr && SSL_SESSION_is_resumable(kept.get()) == 1);
}
