// ALPN (RFC 7301) protocol lists in wire format: each name prefixed by its length byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lb::tls {

// Encodes `protocols` (in preference order). Fails for an empty list or a name that is
// empty or longer than 255 bytes.
bool encode_alpn(const std::vector<std::string>& protocols, std::string& wire, std::string& error);

enum class AlpnChoice {
  selected,    // `selected` names the protocol (a view into server_wire)
  no_overlap,  // the client offered only protocols the server does not speak
  malformed,   // the client's list is not valid wire format
};

// The server's choice: the first protocol in the server's preference order that the
// client also offered (so the client's order never overrides the server's).
AlpnChoice select_alpn(std::string_view server_wire, std::string_view client_wire, std::string_view& selected);

// RFC 8737: the protocol an ACME validator asks for to see a TLS-ALPN-01 challenge
// certificate. Never in a listener's own list: only a pending challenge selects it.
inline constexpr std::string_view acme_tls_protocol = "acme-tls/1";

// Whether a ClientHello's ALPN extension body (RFC 7301: a two-byte length, then the
// protocol list in wire format) offers `protocol`. False when the body is malformed.
bool extension_offers(std::string_view extension, std::string_view protocol);

}  // namespace lb::tls
