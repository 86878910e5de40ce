#include "tls/alpn.h"

namespace lb::tls {
namespace {

// Calls `visit(name)` for each entry; returns false on a zero length or an overrun.
template <typename Visit>
bool for_each_protocol(std::string_view wire, Visit&& visit) {
  size_t at = 0;
  while (at < wire.size()) {
    size_t length = static_cast<unsigned char>(wire[at]);
    if (length == 0 || length > wire.size() - at - 1) return false;
    if (visit(wire.substr(at + 1, length))) return true;
    at += 1 + length;
  }
  return true;
}

}  // namespace

bool encode_alpn(const std::vector<std::string>& protocols, std::string& wire, std::string& error) {
  wire.clear();
  if (protocols.empty()) {
    error = "the ALPN protocol list is empty";
    return false;
  }
  for (const std::string& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) {
      error = "ALPN protocol names must be 1-255 bytes, got '" + protocol + "'";
      return false;
    }
    wire.push_back(static_cast<char>(protocol.size()));
    wire.append(protocol);
  }
  return true;
}

AlpnChoice select_alpn(std::string_view server_wire, std::string_view client_wire, std::string_view& selected) {
  if (client_wire.empty() || !for_each_protocol(client_wire, [](std::string_view) { return false; })) {
    return AlpnChoice::malformed;
  }
  bool found = false;
  for_each_protocol(server_wire, [&](std::string_view ours) {
    for_each_protocol(client_wire, [&](std::string_view theirs) {
      found = theirs == ours;
      return found;
    });
    if (found) selected = ours;
    return found;
  });
  return found ? AlpnChoice::selected : AlpnChoice::no_overlap;
}

bool extension_offers(std::string_view extension, std::string_view protocol) {
  if (extension.size() < 2) return false;
  size_t length =
      (static_cast<size_t>(static_cast<unsigned char>(extension[0])) << 8) | static_cast<unsigned char>(extension[1]);
  std::string_view list = extension.substr(2);
  if (length != list.size() || list.empty()) return false;
  bool offered = false;
  bool well_formed = for_each_protocol(list, [&](std::string_view theirs) {
    offered = theirs == protocol;
    return offered;
  });
  return well_formed && offered;
}

}  // namespace lb::tls
