// Owning pointers for the nghttp2 objects lb-native holds, each freed exactly once with
// its own nghttp2 function.
//
// The header is Debian's libnghttp2-dev (1.52); inside node the functions are node's own
// copy of nghttp2 (docs/http2.md says why and what keeps the two compatible).
#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>

namespace lb::http2 {

template <auto Free>
struct Nghttp2Free {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

using SessionPtr = std::unique_ptr<nghttp2_session, Nghttp2Free<nghttp2_session_del>>;
using OptionPtr = std::unique_ptr<nghttp2_option, Nghttp2Free<nghttp2_option_del>>;
using CallbacksPtr = std::unique_ptr<nghttp2_session_callbacks, Nghttp2Free<nghttp2_session_callbacks_del>>;

}  // namespace lb::http2
