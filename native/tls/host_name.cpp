#include "tls/host_name.h"

namespace lb::tls {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool host_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'; }

}  // namespace

size_t normalize_host_name(std::string_view name, char* out) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > max_host_name_length) return 0;
  size_t start = 0;
  if (name.starts_with("*.")) {
    out[0] = '*';
    out[1] = '.';
    start = 2;
    if (name.size() == 2) return 0;
  }
  for (size_t i = start; i < name.size(); ++i) {
    char c = lower(name[i]);
    if (!host_char(c)) return 0;
    // No empty label: a leading dot or two dots in a row name nothing.
    if (c == '.' && (i == start || name[i - 1] == '.')) return 0;
    out[i] = c;
  }
  return name.size();
}

bool normalize_host_name(std::string_view name, std::string& out) {
  char buffer[max_host_name_length];
  size_t length = normalize_host_name(name, buffer);
  if (length == 0) return false;
  out.assign(buffer, length);
  return true;
}

std::string_view wildcard_suffix_of(std::string_view host) {
  size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return host.substr(dot + 1);
}

}  // namespace lb::tls
