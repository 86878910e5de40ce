// libFuzzer target: the ACME HTTP-01 matcher and table (native/http1/acme_challenge.h).
//
// Input: a request target, then (after the first NUL) table entries as token=value lines.
// Invariants: a token found is a non-empty piece of the target right after the prefix,
// with no '/' or '?'; a table either takes every entry or none, and finds exactly the
// tokens it took; a response for a found key authorization fits its buffer and ends with it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "buffer/buffer_pool.h"
#include "buffer/byte_buffer.h"
#include "http1/acme_challenge.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\0');
  std::string_view target = input.substr(0, split);
  std::string_view rest = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);

  std::optional<std::string_view> token = lb::http1::acme_challenge_token(target);
  if (token) {
    FUZZ_CHECK(!token->empty());
    FUZZ_CHECK(token->find('/') == std::string_view::npos);
    FUZZ_CHECK(token->find('?') == std::string_view::npos);
    FUZZ_CHECK(token->data() >= target.data() && token->data() + token->size() <= target.data() + target.size());
    std::string_view before(target.data(), static_cast<size_t>(token->data() - target.data()));
    FUZZ_CHECK(before.ends_with(lb::http1::kAcmeChallengePrefix));
  }

  std::vector<std::pair<std::string, std::string>> entries;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    size_t equals = line.find('=');
    entries.emplace_back(std::string(line.substr(0, equals)),
                         equals == std::string_view::npos ? std::string() : std::string(line.substr(equals + 1)));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  lb::http1::AcmeChallengeTable table;
  std::string error;
  std::vector<std::pair<std::string, std::string>> copy = entries;
  if (table.assign(std::move(copy), error)) {
    FUZZ_CHECK(table.size() == entries.size());
    for (const auto& [name, value] : entries) FUZZ_CHECK(table.find(name) == std::optional<std::string_view>(value));
  } else {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(table.size() == 0);
  }

  std::optional<std::string_view> found = token ? table.find(*token) : std::nullopt;
  lb::buffer::BufferPool pool;
  lb::buffer::ByteBuffer out;
  out.attach_pool(&pool);
  FUZZ_CHECK(lb::http1::write_acme_challenge_response(found, false, size % 2 == 0, false, out));
  if (found) FUZZ_CHECK(out.view().ends_with(*found));
  return 0;
}
