// nghttp2 is linked and works in the CMake builds: a client and a server session built
// from the library alone exchange a request's HEADERS through memory.
#include <cstring>

#include "http2/nghttp2_ptr.h"
#include "tests/test_framework.h"

namespace {

using namespace lb::http2;

// Moves everything `from` wants to send into `to`.
void pump(nghttp2_session* from, nghttp2_session* to) {
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(from, &data);
    CHECK(n >= 0);
    if (n <= 0) return;
    CHECK_EQ(nghttp2_session_mem_recv(to, data, static_cast<size_t>(n)), n);
  }
}

}  // namespace

TEST(http2_link_client_and_server_sessions_exchange_a_request) {
  int requests_seen = 0;
  CallbacksPtr callbacks;
  {
    nghttp2_session_callbacks* raw = nullptr;
    CHECK_EQ(nghttp2_session_callbacks_new(&raw), 0);
    callbacks.reset(raw);
  }
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      callbacks.get(), [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) ++*static_cast<int*>(user);
        return 0;
      });
  nghttp2_session* server_raw = nullptr;
  nghttp2_session* client_raw = nullptr;
  CHECK_EQ(nghttp2_session_server_new(&server_raw, callbacks.get(), &requests_seen), 0);
  CHECK_EQ(nghttp2_session_client_new(&client_raw, callbacks.get(), nullptr), 0);
  SessionPtr server(server_raw);
  SessionPtr client(client_raw);

  CHECK_EQ(nghttp2_submit_settings(client.get(), NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  CHECK_EQ(nghttp2_submit_settings(server.get(), NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  auto nv = [](const char* name, const char* value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value)), std::strlen(name), std::strlen(value),
                      NGHTTP2_NV_FLAG_NONE};
  };
  nghttp2_nv request[] = {nv(":method", "GET"), nv(":scheme", "http"), nv(":authority", "example.test"),
                          nv(":path", "/")};
  CHECK_EQ(nghttp2_submit_request(client.get(), nullptr, request, 4, nullptr, nullptr), 1);
  pump(client.get(), server.get());
  pump(server.get(), client.get());
  CHECK_EQ(requests_seen, 1);
}
