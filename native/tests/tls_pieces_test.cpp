// The pure pieces under the TLS layer: ALPN lists, the first-bytes check, host names and
// SNI lookup, ticket key rings. No sockets, no handshakes.
#include <string>

#include "tests/test_framework.h"
#include "tls/alpn.h"
#include "tls/first_bytes.h"
#include "tls/host_name.h"
#include "tls/sni_table.h"
#include "tls/ticket_keys.h"

namespace {

using namespace lb::tls;

std::string wire(std::initializer_list<std::string> protocols) {
  std::string out;
  std::string error;
  encode_alpn(protocols, out, error);
  return out;
}

}  // namespace

TEST(tls_alpn_server_preference_wins_over_client_order) {
  std::string ours = wire({"h2", "http/1.1"});
  std::string_view selected;
  CHECK(select_alpn(ours, wire({"http/1.1", "h2"}), selected) == AlpnChoice::selected);
  CHECK_EQ(selected, std::string_view("h2"));
  CHECK(select_alpn(ours, wire({"http/1.1"}), selected) == AlpnChoice::selected);
  CHECK_EQ(selected, std::string_view("http/1.1"));
  CHECK(select_alpn(ours, wire({"spdy/3", "h3"}), selected) == AlpnChoice::no_overlap);
}

TEST(tls_alpn_rejects_malformed_lists_and_names) {
  std::string ours = wire({"http/1.1"});
  std::string_view selected;
  CHECK(select_alpn(ours, std::string("\x05h2", 3), selected) == AlpnChoice::malformed);      // overrun
  CHECK(select_alpn(ours, std::string("\x00\x02h2", 4), selected) == AlpnChoice::malformed);  // empty name
  CHECK(select_alpn(ours, "", selected) == AlpnChoice::malformed);
  // "http/1" is a prefix of "http/1.1", not the same protocol.
  CHECK(select_alpn(ours, wire({"http/1"}), selected) == AlpnChoice::no_overlap);
  std::string out;
  std::string error;
  CHECK(!encode_alpn({}, out, error));
  CHECK(!encode_alpn({""}, out, error));
  CHECK(!encode_alpn({std::string(256, 'a')}, out, error));
  CHECK(error.find("1-255") != std::string::npos);
}

TEST(tls_first_bytes_tell_tls_from_http_and_noise) {
  CHECK(classify_first_bytes("\x16\x03\x01") == FirstBytes::tls_handshake);
  CHECK(classify_first_bytes("GET / HTTP/1.1\r\n") == FirstBytes::http_request);
  CHECK(classify_first_bytes("POST /x HTTP/1.1\r\n") == FirstBytes::http_request);
  CHECK(classify_first_bytes("OPTIONS * HTTP/1.1") == FirstBytes::http_request);
  CHECK(classify_first_bytes("PRI * HTTP/2.0") == FirstBytes::http_request);
  CHECK(classify_first_bytes("G") == FirstBytes::http_request);  // a prefix is enough
  CHECK(classify_first_bytes("GETX") == FirstBytes::other);
  CHECK(classify_first_bytes("get / HTTP/1.1") == FirstBytes::other);
  CHECK(classify_first_bytes("\x80\x2e\x01") == FirstBytes::other);  // SSLv2 ClientHello
  CHECK(classify_first_bytes("SSH-2.0-OpenSSH") == FirstBytes::other);
  CHECK(classify_first_bytes(std::string_view("\x15\x03\x03", 3)) == FirstBytes::other);  // an alert
}

TEST(tls_host_names_normalize_and_reject_junk) {
  std::string out;
  CHECK(normalize_host_name("WWW.Example.COM.", out));
  CHECK_EQ(out, std::string("www.example.com"));
  CHECK(normalize_host_name("*.Example.com", out));
  CHECK_EQ(out, std::string("*.example.com"));
  CHECK(!normalize_host_name("", out));
  CHECK(!normalize_host_name(".", out));
  CHECK(!normalize_host_name("a..b", out));
  CHECK(!normalize_host_name(".a", out));
  CHECK(!normalize_host_name("w*.example.com", out));
  CHECK(!normalize_host_name("a.*.example.com", out));
  CHECK(!normalize_host_name("*.", out));
  CHECK(!normalize_host_name("exa mple.com", out));
  CHECK(!normalize_host_name(std::string("a\0b", 3), out));
  CHECK(!normalize_host_name(std::string(254, 'a'), out));
  CHECK_EQ(wildcard_suffix_of("a.example.com"), std::string_view("example.com"));
  CHECK(wildcard_suffix_of("localhost").empty());
}

TEST(tls_sni_table_exact_then_one_label_wildcard) {
  SniTable table;
  CHECK(table.add("www.example.com", 1));
  CHECK(table.add("*.example.com", 2));
  CHECK(!table.add("*.example.com", 3));  // the first one stays
  CHECK(table.find("www.example.com") == std::optional<size_t>(1));
  CHECK(table.find("WWW.EXAMPLE.COM.") == std::optional<size_t>(1));
  CHECK(table.find("api.example.com") == std::optional<size_t>(2));
  CHECK(!table.find("example.com"));          // the wildcard needs a label
  CHECK(!table.find("a.b.example.com"));      // and covers exactly one
  CHECK(!table.find("*.example.com"));        // a client-sent wildcard names nothing
  CHECK(!table.find(std::string(300, 'a')));  // too long to be a name
  CHECK(!table.find(""));
}

TEST(tls_ticket_key_ring_parses_80_byte_keys_and_refuses_the_rest) {
  unsigned char bytes[160];
  for (size_t i = 0; i < sizeof(bytes); ++i) bytes[i] = static_cast<unsigned char>(i);
  TicketKeyRing ring;
  std::string error;
  CHECK(TicketKeyRing::parse(bytes, sizeof(bytes), ring, error));
  CHECK_EQ(ring.size(), size_t{2});
  CHECK(ring.current() != nullptr && ring.current()->name[0] == 0 && ring.current()->aes_key[0] == 48);
  CHECK(ring.find(bytes + 80) == ring.current() + 1);
  unsigned char unknown[16] = {0xff};
  CHECK(ring.find(unknown) == nullptr);
  CHECK(!TicketKeyRing::parse(bytes, 79, ring, error));
  CHECK(error.find("multiple of 80") != std::string::npos);
  CHECK(!TicketKeyRing::parse(bytes, 0, ring, error));
  unsigned char twins[160];
  for (size_t i = 0; i < sizeof(twins); ++i) twins[i] = static_cast<unsigned char>(i % 80);
  CHECK(!TicketKeyRing::parse(twins, sizeof(twins), ring, error));
  CHECK(error.find("same name") != std::string::npos);
  std::vector<TicketKey> many(TicketKeyRing::max_keys + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i].name[0] = static_cast<unsigned char>(i);
  CHECK(!TicketKeyRing::from_keys(many, ring, error));
  // A failed parse leaves the ring it was given alone.
  CHECK_EQ(ring.size(), size_t{2});
}

TEST(tls_ticket_keys_generated_are_distinct) {
  TicketKey a;
  TicketKey b;
  CHECK(TicketKey::generate(a));
  CHECK(TicketKey::generate(b));
  CHECK(a.name != b.name);
  CHECK(a.aes_key != b.aes_key);
}
