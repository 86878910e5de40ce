// libFuzzer target: the ALPN pieces a ClientHello reaches (native/tls/alpn.h):
// extension_offers on arbitrary extension bodies and select_alpn on arbitrary client
// lists, each checked against a plain reference walk of the same bytes.
//
// Input: the first byte chooses the protocol looked for ("acme-tls/1", "h2" or the next
// byte's worth of the input), the rest is the extension body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tls/alpn.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// The entries of a wire-format list, or false if it is not well formed up to the end.
bool entries_of(std::string_view list, std::vector<std::string_view>& out) {
  size_t at = 0;
  while (at < list.size()) {
    size_t length = static_cast<unsigned char>(list[at]);
    if (length == 0 || at + 1 + length > list.size()) return false;
    out.push_back(list.substr(at + 1, length));
    at += 1 + length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view protocol = lb::tls::acme_tls_protocol;
  if (data[0] % 3 == 1) protocol = "h2";
  if (data[0] % 3 == 2 && !input.empty()) {
    size_t length = std::min<size_t>(static_cast<unsigned char>(input[0]) % 16 + 1, input.size() - 1);
    protocol = input.substr(1, length);
    input = input.substr(1 + length);
    if (protocol.empty()) return 0;
  }

  bool offered = lb::tls::extension_offers(input, protocol);
  if (offered) {
    FUZZ_CHECK(input.size() >= 3);
    size_t declared =
        (static_cast<size_t>(static_cast<unsigned char>(input[0])) << 8) | static_cast<unsigned char>(input[1]);
    FUZZ_CHECK(declared == input.size() - 2);
    // The protocol is a whole entry, reached through well-formed entries before it.
    std::vector<std::string_view> entries;
    entries_of(input.substr(2), entries);
    bool found = false;
    for (std::string_view entry : entries) found = found || entry == protocol;
    FUZZ_CHECK(found);
  } else if (input.size() >= 2) {
    std::vector<std::string_view> entries;
    std::string_view list = input.substr(2);
    size_t declared =
        (static_cast<size_t>(static_cast<unsigned char>(input[0])) << 8) | static_cast<unsigned char>(input[1]);
    if (declared == list.size() && !list.empty() && entries_of(list, entries)) {
      for (std::string_view entry : entries) FUZZ_CHECK(entry != protocol);
    }
  }

  // select_alpn on the same bytes as a client list: a choice is ours and theirs.
  static const std::string server_wire = std::string("\x02h2\x08http/1.1", 12);
  std::string_view selected;
  lb::tls::AlpnChoice choice = lb::tls::select_alpn(server_wire, input, selected);
  std::vector<std::string_view> theirs;
  bool well_formed = !input.empty() && entries_of(input, theirs);
  FUZZ_CHECK((choice == lb::tls::AlpnChoice::malformed) == !well_formed);
  if (choice == lb::tls::AlpnChoice::selected) {
    FUZZ_CHECK(selected == "h2" || selected == "http/1.1");
    bool offered_by_them = false;
    for (std::string_view entry : theirs) offered_by_them = offered_by_them || entry == selected;
    FUZZ_CHECK(offered_by_them);
  }
  return 0;
}
