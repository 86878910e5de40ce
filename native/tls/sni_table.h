// Which context serves a server name: exact names first, then "*.suffix" wildcards,
// else none (the caller keeps its default). Built once, then only read, so any number
// of worker threads may look up at once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lb::tls {

class SniTable {
 public:
  // `pattern` is a normalized name or "*.suffix" (see host_name.h). The first value added
  // for a pattern stays; returns false when the pattern was already there.
  bool add(std::string_view pattern, size_t value);

  // `server_name` as the client sent it (any case, maybe a trailing dot).
  std::optional<size_t> find(std::string_view server_name) const;

  size_t size() const { return exact_.size() + wildcard_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  using Map = std::unordered_map<std::string, size_t, Hash, std::equal_to<>>;

  Map exact_;
  Map wildcard_;  // keyed by the suffix after "*."
};

}  // namespace lb::tls
