// ACME HTTP-01 challenges (RFC 8555 section 8.3): the table of token -> key authorization
// the control plane publishes, and the matcher that finds a challenge request's token.
// The table is immutable once built and travels inside the configuration snapshot, so a
// worker reads it without a lock.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "buffer/byte_buffer.h"

namespace lb::http1 {

inline constexpr std::string_view kAcmeChallengePrefix = "/.well-known/acme-challenge/";
// Tokens are base64url (RFC 8555 asks for at least 128 bits, 22 characters); a key
// authorization is the token, a dot and a base64url thumbprint. The bounds keep a table
// entry, and the response written from it, small.
inline constexpr size_t kAcmeMaxTokenLength = 256;
inline constexpr size_t kAcmeMaxKeyAuthorizationLength = 512;

class AcmeChallengeTable {
 public:
  // Checks and sorts the entries. False with `error` naming the first bad entry (a token
  // or key authorization that is empty, too long, or not base64url; a duplicate token).
  bool assign(std::vector<std::pair<std::string, std::string>> entries, std::string& error);
  // The key authorization for `token`, or nothing.
  std::optional<std::string_view> find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // sorted by token
};

// The token of a challenge request: the path (origin or absolute form, query ignored) is
// the prefix followed by one non-empty segment. Nothing for any other target.
std::optional<std::string_view> acme_challenge_token(std::string_view target);

// Writes the complete response to a challenge request: 200 with the key authorization as
// text/plain, or 404 for a token not in the table. HEAD gets the head alone. False if
// `out` could not take it.
bool write_acme_challenge_response(std::optional<std::string_view> key_authorization, bool head_only, bool close_client,
                                   bool client_keep_alive_10, buffer::ByteBuffer& out);

}  // namespace lb::http1
