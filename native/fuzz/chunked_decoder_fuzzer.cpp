// libFuzzer target: the chunked body validator (native/http1/chunked_decoder.h).
//
// Input: byte 0 seeds how the body is cut into reads, the rest is the body. The decoder
// is fed the body at once, a byte at a time, and in seeded random pieces; all three must
// agree with each other and with a reference validator written the plain way (recursive
// descent over the whole buffer, nothing incremental), on consumed, done and the error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "http1/chunked_decoder.h"

namespace {

using lb::http1::ChunkedDecoder;
using lb::http1::ChunkedError;

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

struct Outcome {
  size_t consumed = 0;
  bool done = false;
  ChunkedError error = ChunkedError::none;
  bool operator==(const Outcome& o) const { return consumed == o.consumed && done == o.done && error == o.error; }
};

// ---- the reference: RFC 9112 7.1 as recursive descent over the complete buffer ----

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
unsigned hex(char c) { return c <= '9' ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10); }
bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}
bool is_ws(char c) { return c == ' ' || c == '\t'; }
bool is_vchar_or_obs(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= 0x21 && u <= 0x7e) || u >= 0x80;
}
bool is_field_value(char c) { return is_ws(c) || is_vchar_or_obs(c); }
bool is_qdtext(char c) { return is_field_value(c) && c != '"' && c != '\\'; }

class Reference {
 public:
  Reference(const char* d, size_t n) : d_(d), n_(n) {}

  Outcome run() {
    size_t p = 0;
    for (;;) {
      uint64_t size = 0;
      if (!size_line(p, size)) return out_;
      if (size == 0) {
        trailers(p);
        return out_;
      }
      if (size > n_ - p) return incomplete(n_);
      p += static_cast<size_t>(size);
      if (p >= n_) return incomplete(p);
      if (d_[p] != '\r') return error(p, ChunkedError::bad_line_end);
      if (p + 1 >= n_) return incomplete(p + 1);
      if (d_[p + 1] != '\n') return error(p + 1, ChunkedError::bad_line_end);
      p += 2;
    }
  }

 private:
  Outcome incomplete(size_t at) {
    out_ = Outcome{at, false, ChunkedError::none};
    return out_;
  }
  Outcome error(size_t at, ChunkedError e) {
    out_ = Outcome{at, false, e};
    return out_;
  }

  // Reads byte q of the extension part of a size line: false (with out_ set) at the end
  // of the input or past the extension limit. The CR ending the line is not counted.
  bool ext_byte(size_t q) {
    if (q >= n_) {
      incomplete(q);
      return false;
    }
    if (d_[q] != '\r' && q - ext_start_ >= ChunkedDecoder::kMaxExtensionBytes) {
      error(q, ChunkedError::bad_extension);
      return false;
    }
    return true;
  }

  bool skip_bws(size_t& q) {
    for (;;) {
      if (!ext_byte(q)) return false;
      if (!is_ws(d_[q])) return true;
      ++q;
    }
  }

  bool ext_error(size_t q, ChunkedError otherwise) {
    error(q, d_[q] == '\n' ? ChunkedError::bad_line_end : otherwise);
    return false;
  }

  // chunk-size [ chunk-ext ] CRLF; p ends past the LF.
  bool size_line(size_t& p, uint64_t& size) {
    if (p >= n_) return incomplete(p), false;
    if (!is_hex(d_[p])) return error(p, ChunkedError::bad_size), false;
    uint32_t digits = 0;
    for (;;) {
      if (p >= n_) return incomplete(p), false;
      if (!is_hex(d_[p])) break;
      if (++digits > 32 || size > (~uint64_t{0} >> 4)) {
        return error(p, ChunkedError::bad_size), false;
      }
      size = size * 16 + hex(d_[p]);
      ++p;
    }
    ext_start_ = p;
    bool first = true;
    for (;;) {
      size_t q = p;
      if (!skip_bws(q)) return false;
      if (d_[q] == '\r' && q == p) break;
      if (d_[q] != ';') {
        return ext_error(q, first && q == p ? ChunkedError::bad_size : ChunkedError::bad_extension);
      }
      ++q;
      if (!skip_bws(q)) return false;
      if (!is_tchar(d_[q])) return ext_error(q, ChunkedError::bad_extension);
      for (;;) {
        if (!ext_byte(q)) return false;
        if (!is_tchar(d_[q])) break;
        ++q;
      }
      size_t r = q;
      if (!skip_bws(r)) return false;
      if (d_[r] == '=') {
        ++r;
        if (!skip_bws(r)) return false;
        if (d_[r] == '"') {
          ++r;
          for (;;) {
            if (!ext_byte(r)) return false;
            const char c = d_[r];
            if (c == '"') {
              ++r;
              break;
            }
            if (c == '\\') {
              ++r;
              if (!ext_byte(r)) return false;
              if (!is_field_value(d_[r])) return ext_error(r, ChunkedError::bad_extension);
            } else if (!is_qdtext(c)) {
              return ext_error(r, ChunkedError::bad_extension);
            }
            ++r;
          }
        } else if (is_tchar(d_[r])) {
          for (;;) {
            if (!ext_byte(r)) return false;
            if (!is_tchar(d_[r])) break;
            ++r;
          }
        } else {
          return ext_error(r, ChunkedError::bad_extension);
        }
        q = r;
      }
      p = q;
      first = false;
    }
    // p is at the CR.
    if (p + 1 >= n_) return incomplete(p + 1), false;
    if (d_[p + 1] != '\n') return error(p + 1, ChunkedError::bad_line_end), false;
    p += 2;
    return true;
  }

  // Reads byte q of the trailer section: false at the end of input or past the limit.
  bool trailer_byte(size_t q) {
    if (q >= n_) {
      incomplete(q);
      return false;
    }
    if (q - trailer_start_ >= ChunkedDecoder::kMaxTrailerBytes) {
      error(q, ChunkedError::trailer_too_large);
      return false;
    }
    return true;
  }

  ChunkedError line_or(size_t q, ChunkedError otherwise) const {
    return d_[q] == '\n' ? ChunkedError::bad_line_end : otherwise;
  }

  static bool forbidden(const char* name, size_t len) {
    const char* names[] = {"content-length", "transfer-encoding", "host"};
    for (const char* f : names) {
      if (std::strlen(f) != len) continue;
      bool same = true;
      for (size_t i = 0; i < len; ++i) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (c != f[i]) same = false;
      }
      if (same) return true;
    }
    return false;
  }

  void trailers(size_t p) {
    trailer_start_ = p;
    for (;;) {
      if (!trailer_byte(p)) return;
      if (d_[p] == '\r') {
        if (!trailer_byte(p + 1)) return;
        if (d_[p + 1] != '\n') return void(error(p + 1, ChunkedError::bad_line_end));
        out_ = Outcome{p + 2, true, ChunkedError::none};
        return;
      }
      if (d_[p] == '\n') return void(error(p, ChunkedError::bad_line_end));
      if (!is_tchar(d_[p])) return void(error(p, ChunkedError::bad_trailer));
      size_t q = p;
      for (;;) {
        if (!trailer_byte(q)) return;
        if (!is_tchar(d_[q])) break;
        ++q;
      }
      if (d_[q] != ':') {
        return void(error(q, line_or(q, ChunkedError::bad_trailer)));
      }
      if (forbidden(d_ + p, q - p)) return void(error(q, ChunkedError::bad_trailer));
      ++q;
      for (;;) {
        if (!trailer_byte(q)) return;
        if (!is_field_value(d_[q])) break;
        ++q;
      }
      if (d_[q] != '\r') {
        return void(error(q, line_or(q, ChunkedError::bad_trailer)));
      }
      if (!trailer_byte(q + 1)) return;
      if (d_[q + 1] != '\n') return void(error(q + 1, ChunkedError::bad_line_end));
      p = q + 2;
    }
  }

  const char* d_;
  size_t n_;
  size_t ext_start_ = 0;
  size_t trailer_start_ = 0;
  Outcome out_;
};

// ---- the decoder under test ----

template <typename NextPiece>
Outcome feed(const char* data, size_t len, NextPiece&& next_piece) {
  ChunkedDecoder d;
  Outcome o;
  size_t at = 0;
  while (at < len) {
    size_t n = next_piece();
    if (n == 0 || n > len - at) n = len - at;
    const ChunkedDecoder::Step step = d.feed(data + at, n);
    FUZZ_CHECK(step.consumed <= n);
    o.consumed += step.consumed;
    if (step.error != ChunkedError::none) {
      FUZZ_CHECK(!step.done);
      FUZZ_CHECK(step.consumed < n);  // the offending byte is in this piece
      o.error = step.error;
      // Sticky: the same error, nothing consumed.
      const ChunkedDecoder::Step again = d.feed(data, len);
      FUZZ_CHECK(again.error == step.error && again.consumed == 0 && !again.done);
      return o;
    }
    if (step.done) {
      FUZZ_CHECK(d.done());
      FUZZ_CHECK(d.remaining_in_chunk() == 0);
      o.done = true;
      const ChunkedDecoder::Step again = d.feed(data, len);
      FUZZ_CHECK(again.done && again.consumed == 0 && again.error == ChunkedError::none);
      return o;
    }
    FUZZ_CHECK(step.consumed == n);
    at += n;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 1) return 0;
  uint32_t x = 0x2545f491u ^ (static_cast<uint32_t>(bytes[0]) * 0x9e3779b9u);
  const uint32_t max_piece = 1u + bytes[0] % 17u;
  const char* data = reinterpret_cast<const char*>(bytes + 1);
  const size_t len = size - 1;

  const Outcome whole = feed(data, len, [] { return size_t{0}; });
  FUZZ_CHECK(whole.consumed <= len);
  if (whole.done) {
    FUZZ_CHECK(whole.consumed >= 5);
    FUZZ_CHECK(std::memcmp(data + whole.consumed - 2, "\r\n", 2) == 0);
  } else if (whole.error == ChunkedError::none) {
    FUZZ_CHECK(whole.consumed == len);
  }

  const Outcome bytewise = feed(data, len, [] { return size_t{1}; });
  FUZZ_CHECK(bytewise == whole);

  const Outcome pieces = feed(data, len, [&] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return static_cast<size_t>(x % max_piece + 1);
  });
  FUZZ_CHECK(pieces == whole);

  const Outcome reference = Reference(data, len).run();
  FUZZ_CHECK(reference == whole);
  return 0;
}
