// Incremental validator for a chunked body (RFC 9112 section 7.1).
//
// The proxy forwards chunked bodies byte for byte once they are validated, so this does
// not copy data out: it walks the bytes, says how many belong to the body so far and
// whether the body (last chunk and trailers included) is complete. Strict: chunk sizes
// are hex digits only (no sign, no "0x", no whitespace), at most 16 significant hex
// digits (leading zeros allowed, 32 digits in all) without overflow; extensions must be
// `;name` or `;name=value` with token or quoted-string values, with BWS only where
// RFC 9112 puts it (never right before the CRLF); every line ends in CRLF (no bare LF,
// no bare CR); trailer fields follow the header-field rules and may not be
// Content-Length, Transfer-Encoding or Host. After an error, feed() repeats the error
// and consumes nothing until reset().
#pragma once

#include <cstddef>
#include <cstdint>

namespace lb::http1 {

enum class ChunkedError : uint8_t {
  none,
  bad_size,       // no hex digit, a non-hex byte, or overflow
  bad_extension,  // malformed chunk extension
  bad_line_end,   // CR not followed by LF, bare LF, or data not followed by CRLF
  bad_trailer,    // malformed trailer field
  trailer_too_large,
};

class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;  // bytes of `data` that belong to the chunked body
    bool done = false;    // the body ended within those bytes (after the final CRLF)
    ChunkedError error = ChunkedError::none;
  };

  // Walks data[0, len). Stops at the end of the body (done) or of the input, or at an
  // error. Bytes past the end of the body are not consumed (they are the next message).
  Step feed(const char* data, size_t len);

  bool done() const { return state_ == State::done; }
  // Bytes of chunk data still expected in the current chunk (0 outside chunk data).
  uint64_t remaining_in_chunk() const { return remaining_; }
  void reset();

  static constexpr uint32_t kMaxTrailerBytes = 8192;
  static constexpr uint32_t kMaxExtensionBytes = 1024;

 private:
  // Where the decoder is in the grammar; the first one is the initial state. Defined
  // here rather than only declared because done() above compares against it.
  enum class State : uint8_t {
    size_first,        // first hex digit of a chunk-size
    size,              // further hex digits
    ext_bws,           // BWS after the size or an extension: only more BWS or ';'
    ext_pre_name,      // after ';': BWS, then the extension name
    ext_name,          // extension name (token)
    ext_after_name,    // BWS after the name: '=' or ';'
    ext_pre_value,     // after '=': BWS, then a token or a quoted-string
    ext_token_value,   // token value
    ext_quoted,        // inside a quoted-string value
    ext_quoted_pair,   // after a backslash inside a quoted-string
    ext_after_quoted,  // after the closing quote
    size_line_lf,      // CR of the chunk-size line seen, LF expected
    data,              // chunk data, remaining_ bytes to go
    data_cr,           // CR expected after the data
    data_lf,           // LF expected after the data
    trailer_start,     // start of a trailer line, or of the final CRLF
    trailer_name,      // trailer field name
    trailer_value,     // trailer field value
    trailer_lf,        // CR of a trailer line seen, LF expected
    final_lf,          // CR of the final CRLF seen, LF expected
    done,
    error,
  };

  Step fail(Step step, size_t at, ChunkedError e);

  State state_{};
  ChunkedError error_ = ChunkedError::none;  // repeated by feed() once in State::error
  uint8_t name_match_ = 0;                   // trailer names still matching a forbidden name (bit mask)
  uint64_t remaining_ = 0;
  uint64_t size_ = 0;  // chunk-size accumulated so far
  uint32_t size_digits_ = 0;
  uint32_t line_bytes_ = 0;  // bytes in the current extension or trailer line
  uint32_t trailer_bytes_ = 0;
};

}  // namespace lb::http1
