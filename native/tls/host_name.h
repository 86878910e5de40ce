// Host names as TLS compares them: ASCII case-insensitive, one trailing dot ignored, and
// a wildcard only as the whole leftmost label ("*.example.com" covers "a.example.com",
// not "example.com" nor "a.b.example.com").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lb::tls {

// The longest name accepted (RFC 1035 limits a DNS name to 253 characters).
inline constexpr size_t max_host_name_length = 253;

// Lowercases `name` into `out` and drops one trailing dot. Returns false for a name that
// is empty, too long, or holds a byte outside letters, digits, '-', '_', '.' and a
// leading "*." wildcard label.
bool normalize_host_name(std::string_view name, std::string& out);

// Same, into a caller's buffer of max_host_name_length bytes (no allocation: used on
// every handshake). Returns the normalized length, or 0 when the name is not acceptable.
size_t normalize_host_name(std::string_view name, char* out);

inline bool is_wildcard(std::string_view pattern) { return pattern.starts_with("*."); }

// For "a.example.com", "example.com": the suffix a wildcard pattern "*.<suffix>" must
// name to cover it. Empty when the host has a single label.
std::string_view wildcard_suffix_of(std::string_view host);

}  // namespace lb::tls
