#include "tls/sni_table.h"

#include "tls/host_name.h"

namespace lb::tls {

bool SniTable::add(std::string_view pattern, size_t value) {
  if (is_wildcard(pattern)) return wildcard_.emplace(std::string(pattern.substr(2)), value).second;
  return exact_.emplace(std::string(pattern), value).second;
}

std::optional<size_t> SniTable::find(std::string_view server_name) const {
  char buffer[max_host_name_length];
  size_t length = normalize_host_name(server_name, buffer);
  // A client-sent wildcard is not a name: it matches nothing.
  if (length == 0 || buffer[0] == '*') return std::nullopt;
  std::string_view host(buffer, length);
  if (auto exact = exact_.find(host); exact != exact_.end()) return exact->second;
  std::string_view suffix = wildcard_suffix_of(host);
  if (suffix.empty()) return std::nullopt;
  if (auto wildcard = wildcard_.find(suffix); wildcard != wildcard_.end()) return wildcard->second;
  return std::nullopt;
}

}  // namespace lb::tls
