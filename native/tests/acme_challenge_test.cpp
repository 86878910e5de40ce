#include <string>

#include "buffer/buffer_pool.h"
#include "buffer/byte_buffer.h"
#include "http1/acme_challenge.h"
#include "tests/test_framework.h"

using namespace lb::http1;

namespace {

std::string response(std::optional<std::string_view> key_authorization, bool head_only, bool close_client,
                     bool keep_alive_10 = false) {
  lb::buffer::BufferPool pool;
  lb::buffer::ByteBuffer out;
  out.attach_pool(&pool);
  if (!write_acme_challenge_response(key_authorization, head_only, close_client, keep_alive_10, out)) return "FAILED";
  return std::string(out.view());
}

}  // namespace

TEST(acme_token_found_in_origin_and_absolute_form) {
  CHECK(acme_challenge_token("/.well-known/acme-challenge/abc_DEF-123") ==
        std::optional<std::string_view>("abc_DEF-123"));
  CHECK(acme_challenge_token("http://a.example:80/.well-known/acme-challenge/tok") ==
        std::optional<std::string_view>("tok"));
  // A query is not part of the token.
  CHECK(acme_challenge_token("/.well-known/acme-challenge/tok?x=1") == std::optional<std::string_view>("tok"));
}

TEST(acme_token_not_found_outside_the_prefix) {
  CHECK(!acme_challenge_token("/"));
  CHECK(!acme_challenge_token("/.well-known/acme-challenge/"));
  CHECK(!acme_challenge_token("/.well-known/acme-challenge"));
  CHECK(!acme_challenge_token("/.well-known/acme-challenge/a/b"));
  CHECK(!acme_challenge_token("/x/.well-known/acme-challenge/tok"));
  CHECK(!acme_challenge_token("/.well-known/ACME-challenge/tok"));  // paths are case-sensitive
  CHECK(!acme_challenge_token("*"));
  CHECK(!acme_challenge_token(""));
}

TEST(acme_table_finds_exact_tokens_only) {
  AcmeChallengeTable table;
  std::string error;
  CHECK(table.assign({{"zz", "zz.thumb"}, {"aa", "aa.thumb"}, {"mm", "mm.thumb"}}, error));
  CHECK_EQ(table.size(), size_t{3});
  CHECK(table.find("aa") == std::optional<std::string_view>("aa.thumb"));
  CHECK(table.find("mm") == std::optional<std::string_view>("mm.thumb"));
  CHECK(table.find("zz") == std::optional<std::string_view>("zz.thumb"));
  CHECK(!table.find("a"));
  CHECK(!table.find("aaa"));
  CHECK(!table.find(""));
  AcmeChallengeTable empty;
  CHECK(!empty.find("aa"));
}

TEST(acme_table_refuses_bad_entries) {
  std::string error;
  AcmeChallengeTable table;
  CHECK(!table.assign({{"", "x"}}, error));
  CHECK(!table.assign({{"tok/en", "x"}}, error));
  CHECK(!table.assign({{"tok", ""}}, error));
  // Anything that could end a header or the body early is refused.
  CHECK(!table.assign({{"tok", "a\r\nX: y"}}, error));
  CHECK(!table.assign({{"tok", "a b"}}, error));
  CHECK(!table.assign({{"tok", std::string(kAcmeMaxKeyAuthorizationLength + 1, 'a')}}, error));
  CHECK(!table.assign({{std::string(kAcmeMaxTokenLength + 1, 'a'), "x"}}, error));
  CHECK(!table.assign({{"tok", "a"}, {"tok", "b"}}, error));
  CHECK(error.find("given twice") != std::string::npos);
  // A refused assignment leaves the table as it was.
  CHECK(table.assign({{"ok", "ok.k"}}, error));
  CHECK(!table.assign({{"bad token", "x"}}, error));
  CHECK(table.find("ok") == std::optional<std::string_view>("ok.k"));
}

TEST(acme_response_200_404_and_head) {
  CHECK_EQ(response(std::string_view("tok.thumb"), false, false),
           std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: "
                       "9\r\n\r\ntok.thumb"));
  CHECK_EQ(
      response(std::nullopt, false, true),
      std::string("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: "
                  "10\r\nConnection: close\r\n\r\nNot Found\n"));
  CHECK_EQ(response(std::string_view("tok.thumb"), true, false, true),
           std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: "
                       "9\r\nConnection: keep-alive\r\n\r\n"));
}
