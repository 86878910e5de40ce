#include "http1/acme_challenge.h"

#include <algorithm>
#include <charconv>

#include "http1/head_writer.h"

namespace lb::http1 {

namespace {

bool is_base64url(std::string_view text, bool allow_dot) {
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              (allow_dot && c == '.');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool AcmeChallengeTable::assign(std::vector<std::pair<std::string, std::string>> entries, std::string& error) {
  for (const auto& [token, key_authorization] : entries) {
    if (token.empty() || token.size() > kAcmeMaxTokenLength || !is_base64url(token, false)) {
      error = "acme challenge token '" + token.substr(0, 64) + "': expected 1 to 256 base64url characters";
      return false;
    }
    // The key authorization goes into a response body as is: only base64url and dots, so
    // nothing a client could read as framing.
    if (key_authorization.empty() || key_authorization.size() > kAcmeMaxKeyAuthorizationLength ||
        !is_base64url(key_authorization, true)) {
      error = "acme challenge '" + token.substr(0, 64) +
              "': expected a key authorization of 1 to 512 base64url characters and dots";
      return false;
    }
  }
  std::sort(entries.begin(), entries.end());
  auto duplicate = std::adjacent_find(entries.begin(), entries.end(),
                                      [](const auto& a, const auto& b) { return a.first == b.first; });
  if (duplicate != entries.end()) {
    error = "acme challenge token '" + duplicate->first.substr(0, 64) + "': given twice";
    return false;
  }
  entries_ = std::move(entries);
  return true;
}

std::optional<std::string_view> AcmeChallengeTable::find(std::string_view token) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), token,
                             [](const auto& entry, std::string_view key) { return entry.first < key; });
  if (it == entries_.end() || it->first != token) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> acme_challenge_token(std::string_view target) {
  std::string_view authority;
  std::string_view path = target;
  if (!split_absolute_form(target, authority, path)) path = target;
  size_t query = path.find('?');
  if (query != std::string_view::npos) path = path.substr(0, query);
  if (!path.starts_with(kAcmeChallengePrefix)) return std::nullopt;
  std::string_view token = path.substr(kAcmeChallengePrefix.size());
  if (token.empty() || token.find('/') != std::string_view::npos) return std::nullopt;
  return token;
}

bool write_acme_challenge_response(std::optional<std::string_view> key_authorization, bool head_only, bool close_client,
                                   bool client_keep_alive_10, buffer::ByteBuffer& out) {
  std::string_view body = key_authorization ? *key_authorization : std::string_view("Not Found\n");
  char length[24];
  auto written = std::to_chars(length, length + sizeof(length), body.size());
  bool ok = out.append(key_authorization ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n");
  ok = ok && out.append("Content-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: ");
  ok = ok && out.append(std::string_view(length, static_cast<size_t>(written.ptr - length)));
  ok = ok && out.append("\r\n");
  if (close_client) {
    ok = ok && out.append("Connection: close\r\n");
  } else if (client_keep_alive_10) {
    ok = ok && out.append("Connection: keep-alive\r\n");
  }
  ok = ok && out.append("\r\n");
  if (!head_only) ok = ok && out.append(body);
  return ok;
}

}  // namespace lb::http1
