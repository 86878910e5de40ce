// Chunked body validator: see chunked_decoder.h for the contract.
//
// A state machine over bytes, so input may be split anywhere: every state is a point in
// the grammar and nothing is buffered. The grammar accepted (RFC 9112 7.1):
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size   = 1*HEXDIG       ; at most 16 significant digits, 32 in all
//   last-chunk   = 1*"0" [ chunk-ext ] CRLF
//   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
//   ext-val      = token / quoted-string
//
// BWS (SP / HTAB) is allowed where the RFC allows it and nowhere else: whitespace right
// before a CRLF ("5 \r\n") is refused, as are bare LF and bare CR. With CRLF strictly
// required, BWS cannot hide a line end from another parser, so allowing it costs nothing.
// Trailer fields follow the header-field rules (no obs-fold, no CTL in values) and may
// not be Content-Length, Transfer-Encoding or Host: a recipient that merges trailers into
// the header section would otherwise let them re-frame or re-route the message.
#include "http1/chunked_decoder.h"

#include "http1/char_classes.h"

namespace lb::http1 {

namespace {

using chars::is;

// A chunk-size may have leading zeros, but a size line of only digits longer than this
// is not something a real sender produces.
constexpr uint32_t kMaxSizeDigits = 32;

// Trailer names refused (lower case); bit i of name_match_ tracks kForbiddenTrailers[i].
constexpr const char* kForbiddenTrailers[] = {"content-length", "transfer-encoding", "host"};
constexpr uint32_t kForbiddenTrailerLengths[] = {14, 17, 4};
constexpr uint8_t kAllForbiddenTrailers = 0b111;

// Clears from `mask` the forbidden trailer names whose byte `index` is not `c`.
uint8_t narrow_forbidden(uint8_t mask, uint32_t index, char c) {
  for (uint32_t i = 0; i < 3; ++i) {
    const uint8_t bit = static_cast<uint8_t>(1u << i);
    if ((mask & bit) && (index >= kForbiddenTrailerLengths[i] ||
                         chars::lower(c) != static_cast<uint8_t>(kForbiddenTrailers[i][index]))) {
      mask = static_cast<uint8_t>(mask & ~bit);
    }
  }
  return mask;
}

inline bool is_ws(char c) { return c == ' ' || c == '\t'; }

}  // namespace

void ChunkedDecoder::reset() {
  state_ = State::size_first;
  error_ = ChunkedError::none;
  name_match_ = 0;
  remaining_ = 0;
  size_ = 0;
  size_digits_ = 0;
  line_bytes_ = 0;
  trailer_bytes_ = 0;
}

ChunkedDecoder::Step ChunkedDecoder::fail(Step step, size_t at, ChunkedError e) {
  state_ = State::error;
  error_ = e;
  step.consumed = at;  // the offending byte is not part of a valid body
  step.error = e;
  return step;
}

ChunkedDecoder::Step ChunkedDecoder::feed(const char* data, size_t len) {
  Step step;
  if (state_ == State::done) {
    step.done = true;
    return step;
  }
  if (state_ == State::error) {
    step.error = error_;
    return step;
  }

  size_t p = 0;
  while (p < len) {
    // Fast path: chunk data is skipped in one step, never looked at.
    if (state_ == State::data) {
      const size_t available = len - p;
      const size_t n = remaining_ < available ? static_cast<size_t>(remaining_) : available;
      p += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::data_cr;
      continue;
    }

    const char c = data[p];
    switch (state_) {
      // ---- chunk-size ----
      case State::size_first:
        if (!is(c, chars::kHex)) return fail(step, p, ChunkedError::bad_size);
        size_ = chars::hex_value(c);
        size_digits_ = 1;
        state_ = State::size;
        break;

      case State::size:
        if (is(c, chars::kHex)) {
          // size_ <= 2^60 - 1 keeps size_ * 16 + 15 within 64 bits: 16 significant digits.
          if (++size_digits_ > kMaxSizeDigits || size_ > (~uint64_t{0} >> 4)) {
            return fail(step, p, ChunkedError::bad_size);
          }
          size_ = size_ * 16 + chars::hex_value(c);
        } else if (c == '\r') {
          state_ = State::size_line_lf;
        } else if (c == ';') {
          line_bytes_ = 1;
          state_ = State::ext_pre_name;
        } else if (is_ws(c)) {
          line_bytes_ = 1;
          state_ = State::ext_bws;
        } else if (c == '\n') {
          return fail(step, p, ChunkedError::bad_line_end);
        } else {
          return fail(step, p, ChunkedError::bad_size);
        }
        break;

      // ---- chunk-ext ----
      case State::ext_bws:
      case State::ext_pre_name:
      case State::ext_name:
      case State::ext_after_name:
      case State::ext_pre_value:
      case State::ext_token_value:
      case State::ext_quoted:
      case State::ext_quoted_pair:
      case State::ext_after_quoted: {
        // The CR ending the line is not counted against the extension limit.
        if (c != '\r' && ++line_bytes_ > kMaxExtensionBytes) {
          return fail(step, p, ChunkedError::bad_extension);
        }
        State next = State::error;
        switch (state_) {
          case State::ext_bws:  // only BWS ";" may follow: no whitespace before CRLF
            if (is_ws(c))
              next = State::ext_bws;
            else if (c == ';')
              next = State::ext_pre_name;
            break;
          case State::ext_pre_name:
            if (is_ws(c))
              next = State::ext_pre_name;
            else if (is(c, chars::kTchar))
              next = State::ext_name;
            break;
          case State::ext_name:
            if (is(c, chars::kTchar))
              next = State::ext_name;
            else if (c == '=')
              next = State::ext_pre_value;
            else if (c == ';')
              next = State::ext_pre_name;
            else if (is_ws(c))
              next = State::ext_after_name;
            else if (c == '\r')
              next = State::size_line_lf;
            break;
          case State::ext_after_name:
            if (is_ws(c))
              next = State::ext_after_name;
            else if (c == '=')
              next = State::ext_pre_value;
            else if (c == ';')
              next = State::ext_pre_name;
            break;
          case State::ext_pre_value:
            if (is_ws(c))
              next = State::ext_pre_value;
            else if (c == '"')
              next = State::ext_quoted;
            else if (is(c, chars::kTchar))
              next = State::ext_token_value;
            break;
          case State::ext_token_value:
            if (is(c, chars::kTchar))
              next = State::ext_token_value;
            else if (c == ';')
              next = State::ext_pre_name;
            else if (is_ws(c))
              next = State::ext_bws;
            else if (c == '\r')
              next = State::size_line_lf;
            break;
          case State::ext_quoted:
            if (c == '"')
              next = State::ext_after_quoted;
            else if (c == '\\')
              next = State::ext_quoted_pair;
            else if (is(c, chars::kQdText))
              next = State::ext_quoted;
            break;
          case State::ext_quoted_pair:  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            if (is(c, chars::kFieldValue)) next = State::ext_quoted;
            break;
          case State::ext_after_quoted:
            if (c == ';')
              next = State::ext_pre_name;
            else if (is_ws(c))
              next = State::ext_bws;
            else if (c == '\r')
              next = State::size_line_lf;
            break;
          default: break;
        }
        if (next == State::error) {
          const bool lf = c == '\n';
          return fail(step, p, lf ? ChunkedError::bad_line_end : ChunkedError::bad_extension);
        }
        state_ = next;
        break;
      }

      case State::size_line_lf:
        if (c != '\n') return fail(step, p, ChunkedError::bad_line_end);
        line_bytes_ = 0;
        if (size_ == 0) {
          trailer_bytes_ = 0;
          state_ = State::trailer_start;
        } else {
          remaining_ = size_;
          state_ = State::data;
        }
        break;

      // ---- chunk-data CRLF ----
      case State::data_cr:
        if (c != '\r') return fail(step, p, ChunkedError::bad_line_end);
        state_ = State::data_lf;
        break;

      case State::data_lf:
        if (c != '\n') return fail(step, p, ChunkedError::bad_line_end);
        state_ = State::size_first;
        break;

      // ---- trailer-section CRLF ----
      case State::trailer_start:
      case State::trailer_name:
      case State::trailer_value:
      case State::trailer_lf:
      case State::final_lf:
        if (++trailer_bytes_ > kMaxTrailerBytes) {
          return fail(step, p, ChunkedError::trailer_too_large);
        }
        switch (state_) {
          case State::trailer_start:
            if (c == '\r') {
              state_ = State::final_lf;
            } else if (c == '\n') {
              return fail(step, p, ChunkedError::bad_line_end);
            } else if (is(c, chars::kTchar)) {
              name_match_ = narrow_forbidden(kAllForbiddenTrailers, 0, c);
              line_bytes_ = 1;
              state_ = State::trailer_name;
            } else {
              return fail(step, p, ChunkedError::bad_trailer);  // obs-fold, empty name, CTL
            }
            break;
          case State::trailer_name:
            if (is(c, chars::kTchar)) {
              if (name_match_ != 0) name_match_ = narrow_forbidden(name_match_, line_bytes_, c);
              ++line_bytes_;
            } else if (c == ':') {
              for (uint32_t i = 0; i < 3; ++i) {
                if ((name_match_ & (1u << i)) && line_bytes_ == kForbiddenTrailerLengths[i]) {
                  return fail(step, p, ChunkedError::bad_trailer);
                }
              }
              state_ = State::trailer_value;
            } else if (c == '\n') {
              return fail(step, p, ChunkedError::bad_line_end);
            } else {
              return fail(step, p, ChunkedError::bad_trailer);  // SP before ':', no ':', ...
            }
            break;
          case State::trailer_value:
            if (c == '\r') {
              state_ = State::trailer_lf;
            } else if (c == '\n') {
              return fail(step, p, ChunkedError::bad_line_end);
            } else if (!is(c, chars::kFieldValue)) {
              return fail(step, p, ChunkedError::bad_trailer);
            }
            break;
          case State::trailer_lf:
            if (c != '\n') return fail(step, p, ChunkedError::bad_line_end);
            state_ = State::trailer_start;
            break;
          case State::final_lf:
            if (c != '\n') return fail(step, p, ChunkedError::bad_line_end);
            state_ = State::done;
            step.consumed = p + 1;
            step.done = true;
            return step;
          default: break;
        }
        break;

      case State::data:
      case State::done:
      case State::error: break;  // handled before the switch
    }
    ++p;
  }
  step.consumed = p;
  return step;
}

}  // namespace lb::http1
