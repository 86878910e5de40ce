// Finds one cookie in a Cookie header value ("a=1; b=2"), for sticky sessions.
#pragma once

#include <string_view>

namespace lb::http1 {

// The value of cookie `name` in `header_value`, or an empty view.
inline std::string_view find_cookie(std::string_view header_value, std::string_view name) {
  while (!header_value.empty()) {
    size_t end = header_value.find(';');
    std::string_view pair = header_value.substr(0, end);
    header_value = end == std::string_view::npos ? std::string_view() : header_value.substr(end + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return pair.substr(equals + 1);
    }
  }
  return {};
}

}  // namespace lb::http1
