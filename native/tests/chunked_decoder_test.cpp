// Unit tests of the chunked body validator (native/http1/chunked_decoder.h): the grammar
// it accepts, every error with its offset, the limits, and that any split of the input
// gives the same answer as feeding it at once.
#include <cstdint>
#include <string>
#include <string_view>

#include "http1/chunked_decoder.h"
#include "tests/test_framework.h"

namespace {

using lb::http1::ChunkedDecoder;
using lb::http1::ChunkedError;

struct Outcome {
  size_t consumed = 0;
  bool done = false;
  ChunkedError error = ChunkedError::none;
  bool operator==(const Outcome& o) const { return consumed == o.consumed && done == o.done && error == o.error; }
};

// Feeds `s` in pieces of the given sizes (the last piece takes the rest) until the body
// ends or fails, as a connection would, and sums what was consumed.
template <typename NextPiece>
Outcome feed_in_pieces(std::string_view s, NextPiece&& next_piece) {
  ChunkedDecoder d;
  Outcome o;
  size_t at = 0;
  while (at < s.size()) {
    size_t n = next_piece();
    if (n == 0 || n > s.size() - at) n = s.size() - at;
    ChunkedDecoder::Step step = d.feed(s.data() + at, n);
    o.consumed += step.consumed;
    if (step.error != ChunkedError::none) {
      o.error = step.error;
      return o;
    }
    if (step.done) {
      o.done = true;
      CHECK(d.done());
      return o;
    }
    CHECK_EQ(step.consumed, n);  // not done, no error: everything belongs to the body
    at += n;
  }
  return o;
}

Outcome feed_all(std::string_view s) {
  return feed_in_pieces(s, [] { return size_t{0}; });
}

Outcome feed_bytewise(std::string_view s) {
  return feed_in_pieces(s, [] { return size_t{1}; });
}

ChunkedError error_of(std::string_view s) { return feed_all(s).error; }

bool complete(std::string_view s) {
  Outcome o = feed_all(s);
  return o.done && o.error == ChunkedError::none && o.consumed == s.size();
}

// Small deterministic generator for the random splits.
struct Rng {
  uint64_t state;
  uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

const char* const kSamples[] = {
    "5\r\nhello\r\n0\r\n\r\n",
    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
    "A;name=value;flag\r\n0123456789\r\n0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n",
    "1 ; a = \"q\\\"uoted\" ;b\r\nx\r\n0\r\n\r\n",
    "00000000000000000000000000000003\r\nabc\r\n0\r\n\r\n",
    "5\r\nhel",
    "5\r\nhelloX\r\n",
    "5 \r\nhello\r\n0\r\n\r\n",
    "0\r\nContent-Length: 5\r\n\r\n",
    "3\r\nabc\r\n0\r\nbad trailer\r\n\r\n",
    "ffffffffffffffffff\r\n",
    "2\r\nab\r\n0\r\n\r",
};

}  // namespace

TEST(chunked_simple_body) {
  const std::string s = "5\r\nhello\r\n0\r\n\r\n";
  ChunkedDecoder d;
  ChunkedDecoder::Step step = d.feed(s.data(), s.size());
  CHECK(step.done);
  CHECK(step.error == ChunkedError::none);
  CHECK_EQ(step.consumed, s.size());
  CHECK(d.done());
  CHECK_EQ(d.remaining_in_chunk(), 0u);
  // Once done, nothing more is consumed.
  step = d.feed("x", 1);
  CHECK(step.done);
  CHECK_EQ(step.consumed, 0u);
  CHECK(complete("0\r\n\r\n"));
  CHECK(complete("1\r\nx\r\n0\r\n\r\n"));
  CHECK(complete("a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n"));
}

TEST(chunked_consumed_stops_at_the_end) {
  const std::string body = "3\r\nabc\r\n0\r\n\r\n";
  Outcome o = feed_all(body + "GET / HTTP/1.1\r\n\r\n");
  CHECK(o.done);
  CHECK_EQ(o.consumed, body.size());
  o = feed_bytewise(body + "garbage");
  CHECK(o.done);
  CHECK_EQ(o.consumed, body.size());
}

TEST(chunked_incomplete_is_not_done) {
  const std::string s = "5\r\nhello\r\n0\r\n\r\n";
  for (size_t k = 0; k < s.size(); ++k) {
    ChunkedDecoder d;
    ChunkedDecoder::Step step = d.feed(s.data(), k);
    CHECK(!step.done);
    CHECK(step.error == ChunkedError::none);
    CHECK_EQ(step.consumed, k);
  }
}

TEST(chunked_remaining_in_chunk) {
  ChunkedDecoder d;
  ChunkedDecoder::Step step = d.feed("10\r\nabc", 7);
  CHECK_EQ(step.consumed, 7u);
  CHECK_EQ(d.remaining_in_chunk(), 13u);
  d.feed("0123456789abc", 13);
  CHECK_EQ(d.remaining_in_chunk(), 0u);
  step = d.feed("\r\n0\r\n\r\n", 7);
  CHECK(step.done);
  // The full 16 significant digits: the size is accepted, the data is awaited.
  d.reset();
  step = d.feed("ffffffffffffffff\r\n", 18);
  CHECK(step.error == ChunkedError::none);
  CHECK_EQ(d.remaining_in_chunk(), ~uint64_t{0});
}

TEST(chunked_every_split_agrees) {
  for (const char* sample : kSamples) {
    const std::string_view s(sample);
    const Outcome whole = feed_all(s);
    CHECK(feed_bytewise(s) == whole);
    for (size_t split = 1; split < s.size(); ++split) {
      bool first = true;
      CHECK(feed_in_pieces(s, [&] {
              if (!first) return size_t{0};
              first = false;
              return split;
            }) == whole);
    }
    Rng rng{0x9e3779b97f4a7c15ull};
    for (int round = 0; round < 200; ++round) {
      CHECK(feed_in_pieces(s, [&] { return static_cast<size_t>(rng.next() % 7 + 1); }) == whole);
    }
  }
}

TEST(chunked_sample_outcomes) {
  CHECK(complete(kSamples[0]));
  CHECK(complete(kSamples[2]));
  CHECK(complete(kSamples[3]));
  CHECK(complete(kSamples[4]));
  Outcome o = feed_all(kSamples[5]);
  CHECK(!o.done && o.error == ChunkedError::none && o.consumed == 6);
  o = feed_all(kSamples[6]);
  CHECK(o.error == ChunkedError::bad_line_end);
  CHECK_EQ(o.consumed, 8u);
}

TEST(chunked_bad_size) {
  CHECK(error_of("\r\n") == ChunkedError::bad_size);
  CHECK(error_of("+5\r\nhello\r\n") == ChunkedError::bad_size);
  CHECK(error_of("-1\r\n") == ChunkedError::bad_size);
  CHECK(error_of(" 5\r\nhello\r\n") == ChunkedError::bad_size);
  CHECK(error_of("g\r\n") == ChunkedError::bad_size);
  CHECK(error_of("5g\r\n") == ChunkedError::bad_size);
  Outcome o = feed_all("0x5\r\nhello\r\n");
  CHECK(o.error == ChunkedError::bad_size);
  CHECK_EQ(o.consumed, 1u);
  // 17 significant digits overflow; 16 do not.
  o = feed_all("10000000000000000\r\n");
  CHECK(o.error == ChunkedError::bad_size);
  CHECK_EQ(o.consumed, 16u);
  CHECK(error_of("ffffffffffffffff\r\n") == ChunkedError::none);
  CHECK(error_of("fffffffffffffffff\r\n") == ChunkedError::bad_size);
  // Leading zeros: allowed, but not without end.
  CHECK(complete(std::string(31, '0') + "1\r\nx\r\n0\r\n\r\n"));
  CHECK(error_of(std::string(32, '0') + "1\r\nx\r\n") == ChunkedError::bad_size);
  CHECK(complete(std::string(32, '0') + "\r\n\r\n"));
}

TEST(chunked_line_ends) {
  CHECK(error_of("5\nhello\r\n") == ChunkedError::bad_line_end);
  CHECK(error_of("5\rhello\r\n") == ChunkedError::bad_line_end);
  CHECK(error_of("5\r\nhello\n0\r\n\r\n") == ChunkedError::bad_line_end);
  CHECK(error_of("5\r\nhello\rX") == ChunkedError::bad_line_end);
  CHECK(error_of("5\r\nhelloworld\r\n") == ChunkedError::bad_line_end);  // data too long
  CHECK(error_of("5\r\nhello0\r\n\r\n") == ChunkedError::bad_line_end);  // missing CRLF
  CHECK(error_of("0\r\n\n") == ChunkedError::bad_line_end);
  CHECK(error_of("0\r\n\rX") == ChunkedError::bad_line_end);
  CHECK(error_of("0\n\r\n") == ChunkedError::bad_line_end);
  CHECK(error_of("5;a\nhello") == ChunkedError::bad_line_end);
  CHECK(error_of("5;a=b\nhello") == ChunkedError::bad_line_end);
}

TEST(chunked_extensions) {
  CHECK(complete("5;a\r\nhello\r\n0\r\n\r\n"));
  CHECK(complete("5;a=b\r\nhello\r\n0\r\n\r\n"));
  CHECK(complete("5;a=b;c;d=\"e f\"\r\nhello\r\n0;z=1\r\n\r\n"));
  CHECK(complete("5;a=\"\"\r\nhello\r\n0\r\n\r\n"));
  CHECK(complete("5;a=\"q\\\"\\\\x\"\r\nhello\r\n0\r\n\r\n"));
  CHECK(complete("5;a=\"caf\xc3\xa9\"\r\nhello\r\n0\r\n\r\n"));
  // BWS around ';' and '=', where RFC 9112 allows it.
  CHECK(complete("5 ;a\r\nhello\r\n0\r\n\r\n"));
  CHECK(complete("5\t; a = b ; c\r\nhello\r\n0\r\n\r\n"));
  CHECK(complete("5;a=\"x\" ;b\r\nhello\r\n0\r\n\r\n"));
  // Not before the CRLF, nor anywhere else.
  CHECK(error_of("5 \r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a \r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=b \r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=\"b\" \r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5 x\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;;a\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;=b\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a==b\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=b\"c\"\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=\"b\"c\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=\"b\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=\"b\x01\"\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a=\"b\\\x01\"\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a(b\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("5;a\x80\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of(std::string("5;a\0\r\nhello\r\n", 12)) == ChunkedError::bad_extension);
}

TEST(chunked_extension_limit) {
  const uint32_t limit = ChunkedDecoder::kMaxExtensionBytes;
  // ";" + name: exactly the limit, then one more byte.
  const std::string at_limit = "1;" + std::string(limit - 1, 'n') + "\r\nx\r\n0\r\n\r\n";
  CHECK(complete(at_limit));
  const std::string over = "1;" + std::string(limit, 'n') + "\r\nx\r\n0\r\n\r\n";
  Outcome o = feed_all(over);
  CHECK(o.error == ChunkedError::bad_extension);
  CHECK_EQ(o.consumed, 1u + limit);
  CHECK(feed_bytewise(over) == o);
}

TEST(chunked_trailers) {
  CHECK(complete("0\r\nX-Checksum: abc\r\n\r\n"));
  CHECK(complete("0\r\nA: 1\r\nB:\r\nC: \t two words \xff\r\n\r\n"));
  CHECK(complete("3\r\nabc\r\n0\r\nServer-Timing: db;dur=53\r\n\r\n"));
  CHECK(complete("0\r\nContent-Lengthy: 1\r\nHosts: x\r\nHos: y\r\n\r\n"));
  CHECK(error_of("0\r\n folded: x\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA: 1\r\n\tcontinued\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA : 1\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\n: 1\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nNoColon\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA: x\x01y\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA: x\x7f\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA\x80: x\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA: x\ny\r\n\r\n") == ChunkedError::bad_line_end);
  CHECK(error_of("0\r\nA: x\rB: y\r\n\r\n") == ChunkedError::bad_line_end);
  CHECK(error_of("0\r\nA\n") == ChunkedError::bad_line_end);
  // Framing and routing fields may not hide in the trailers.
  CHECK(error_of("0\r\nContent-Length: 5\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\ntransfer-encoding: chunked\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nHOST: evil\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nA: 1\r\nHost: evil\r\n\r\n") == ChunkedError::bad_trailer);
}

TEST(chunked_trailer_limit) {
  const uint32_t limit = ChunkedDecoder::kMaxTrailerBytes;
  // "X: " + value + CRLF + final CRLF == limit bytes after the last-chunk line.
  const std::string at_limit = "0\r\nX: " + std::string(limit - 7, 'v') + "\r\n\r\n";
  CHECK(complete(at_limit));
  const std::string over = "0\r\nX: " + std::string(limit - 6, 'v') + "\r\n\r\n";
  Outcome o = feed_all(over);
  CHECK(o.error == ChunkedError::trailer_too_large);
  CHECK_EQ(o.consumed, 3u + limit);
  CHECK(feed_bytewise(over) == o);
}

TEST(chunked_error_is_sticky_until_reset) {
  ChunkedDecoder d;
  ChunkedDecoder::Step step = d.feed("z", 1);
  CHECK(step.error == ChunkedError::bad_size);
  CHECK_EQ(step.consumed, 0u);
  step = d.feed("5\r\nhello\r\n0\r\n\r\n", 15);
  CHECK(step.error == ChunkedError::bad_size);
  CHECK_EQ(step.consumed, 0u);
  CHECK(!step.done);
  d.reset();
  step = d.feed("5\r\nhello\r\n0\r\n\r\n", 15);
  CHECK(step.error == ChunkedError::none);
  CHECK(step.done);
  CHECK_EQ(step.consumed, 15u);
  d.reset();
  CHECK(!d.done());
  step = d.feed(nullptr, 0);
  CHECK_EQ(step.consumed, 0u);
  CHECK(!step.done);
}

TEST(chunked_large_chunk_fast_path) {
  // A 1 MiB chunk fed in 4 KiB reads: each read is consumed whole.
  const size_t size = 1 << 20;
  std::string body = "100000\r\n" + std::string(size, 'x') + "\r\n0\r\n\r\n";
  Outcome o = feed_in_pieces(body, [] { return size_t{4096}; });
  CHECK(o.done);
  CHECK_EQ(o.consumed, body.size());
}
