// Edge protection pieces: the CIDR parser and matcher, token buckets, the bounded bucket
// table and the process-wide connection table (with threads).
#include <arpa/inet.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "protection/cidr_set.h"
#include "protection/client_connection_table.h"
#include "protection/edge_guard.h"
#include "protection/key_hash.h"
#include "protection/rate_limit_table.h"
#include "protection/token_bucket.h"
#include "tests/test_framework.h"

using namespace lb::protection;

namespace {
ClientAddress v4(const char* text) {
  uint8_t bytes[4];
  inet_pton(AF_INET, text, bytes);
  return v4_mapped(bytes);
}
ClientAddress v6(const char* text) {
  ClientAddress out{};
  inet_pton(AF_INET6, text, out.data());
  return out;
}
CidrSet set_of(std::initializer_list<const char*> blocks) {
  CidrSet set;
  for (const char* text : blocks) {
    CidrBlock block;
    std::string error;
    CHECK(parse_cidr(text, block, error));
    set.add(block);
  }
  return set;
}
bool parses(const char* text) {
  CidrBlock block;
  std::string error;
  return parse_cidr(text, block, error);
}
}  // namespace

TEST(cidr_parses_v4_v6_and_bare_addresses) {
  CidrBlock block;
  std::string error;
  CHECK(parse_cidr("10.0.0.0/8", block, error));
  CHECK_EQ(block.prefix, 104);  // 96 + 8 in the mapped form
  CHECK(parse_cidr("2001:db8::/32", block, error));
  CHECK_EQ(block.prefix, 32);
  CHECK(parse_cidr("192.0.2.7", block, error));
  CHECK_EQ(block.prefix, 128);
  CHECK(parse_cidr("::1", block, error));
  CHECK_EQ(block.prefix, 128);
  CHECK(parse_cidr("0.0.0.0/0", block, error));
  CHECK_EQ(block.prefix, 96);
  CHECK(parse_cidr("::/0", block, error));
  CHECK_EQ(block.prefix, 0);
}

TEST(cidr_refuses_malformed_text) {
  CHECK(!parses(""));
  CHECK(!parses("10.0.0.0/"));
  CHECK(!parses("10.0.0.0/33"));
  CHECK(!parses("2001:db8::/129"));
  CHECK(!parses("10.0.0.0/8x"));
  CHECK(!parses("10.0.0.0/-1"));
  CHECK(!parses("10.0.0/8"));
  CHECK(!parses("example.com"));
  CHECK(!parses("10.0.0.1/8"));  // host bits set
  CHECK(!parses(" 10.0.0.0/8"));
  CHECK(!parses("1111:2222:3333:4444:5555:6666:7777:8888:9999/128"));
  CHECK(!parses(std::string(200, '1').c_str()));
}

TEST(cidr_matches_v4_and_v6_and_v4_mapped) {
  CidrSet set = set_of({"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"});
  CHECK(set.contains(v4("10.1.2.3")));
  CHECK(set.contains(v4("192.0.2.7")));
  CHECK(!set.contains(v4("192.0.2.8")));
  CHECK(!set.contains(v4("11.0.0.1")));
  CHECK(set.contains(v6("2001:db8:1::5")));
  CHECK(!set.contains(v6("2001:db9::1")));
  // A v4 client on a dual-stack listener shows as ::ffff:a.b.c.d: the v4 rule matches it.
  CHECK(set.contains(v6("::ffff:10.9.9.9")));
  // An IPv4 /0 covers every IPv4 client, no IPv6 one.
  CidrSet all_v4 = set_of({"0.0.0.0/0"});
  CHECK(all_v4.contains(v4("203.0.113.9")));
  CHECK(!all_v4.contains(v6("::1")));
  CidrSet all = set_of({"::/0"});
  CHECK(all.contains(v6("::1")) && all.contains(v4("127.0.0.1")));
}

TEST(cidr_set_dedupes_and_handles_many_blocks) {
  CidrSet set;
  std::string error;
  for (int i = 0; i < 1000; ++i) {
    CidrBlock block;
    std::string text = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".0/24";
    CHECK(parse_cidr(text, block, error));
    set.add(block);
    set.add(block);
  }
  CHECK_EQ(set.size(), 1000u);
  CHECK(set.contains(v4("10.3.249.17")));
  CHECK(!set.contains(v4("10.4.0.1")));
}

TEST(token_bucket_allows_burst_then_refills_at_rate) {
  TokenRate rate{2000, 3};  // 2/s, burst 3
  TokenBucket bucket;
  bucket.fill(rate, 1000);
  CHECK_EQ(bucket.take(rate, 1000), 0u);
  CHECK_EQ(bucket.take(rate, 1000), 0u);
  CHECK_EQ(bucket.take(rate, 1000), 0u);
  CHECK_EQ(bucket.take(rate, 1000), 500u);  // one token every 500 ms
  CHECK_EQ(bucket.take(rate, 1200), 300u);
  CHECK_EQ(bucket.take(rate, 1500), 0u);
  // A lull much longer than the window: full again, never more than the burst.
  for (int i = 0; i < 3; ++i) CHECK_EQ(bucket.take(rate, 100000), 0u);
  CHECK(bucket.take(rate, 100000) > 0);
}

TEST(token_bucket_slow_rates_lose_nothing_to_frequent_looks) {
  TokenRate rate{500, 1};  // one every 2 s
  TokenBucket bucket;
  bucket.fill(rate, 0);
  CHECK_EQ(bucket.take(rate, 0), 0u);
  uint64_t now = 0;
  // Looked at every millisecond, it still refills in exactly 2000 ms.
  while (bucket.take(rate, now) != 0) ++now;
  CHECK_EQ(now, 2000u);
}

TEST(token_bucket_survives_huge_gaps) {
  TokenRate rate{1000000000, 1000000};
  TokenBucket bucket;
  bucket.fill(rate, 0);
  CHECK_EQ(bucket.take(rate, UINT64_MAX / 2), 0u);
  CHECK(bucket.micro_tokens <= rate.burst * kMicro);
}

TEST(rate_limit_table_stays_bounded_under_a_flood_of_keys) {
  RateLimitTable table(1024);
  TokenRate rate{1000, 1};
  uint64_t evictions = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    bool evicted = false;
    TokenBucket& bucket = table.find_or_add(key_hash(7, std::to_string(i)), rate, i / 100, evicted);
    evictions += evicted;
    bucket.take(rate, i / 100);
  }
  CHECK(table.size() <= table.capacity());
  CHECK_EQ(table.capacity(), 1024u);
  CHECK(table.size() > 900u);  // probing finds the room there is
  CHECK(evictions > 0);
  CHECK_EQ(table.memory_bytes(), 1024 * sizeof(uint64_t) * 4);
}

TEST(rate_limit_table_keeps_a_key_and_prefers_refilled_victims) {
  RateLimitTable table(8);  // one probe window: every key competes for the same slots
  TokenRate rate{1000, 1};
  bool evicted = false;
  const uint64_t hot = key_hash(1, "hot");
  table.find_or_add(hot, rate, 0, evicted).take(rate, 0);  // empty now, refills at 1000
  for (int i = 0; i < 7; ++i) table.find_or_add(key_hash(1, std::to_string(i)), rate, 0, evicted);
  CHECK_EQ(table.size(), 8u);
  // The 7 others are full (never taken from): a new key replaces one of them, not `hot`.
  table.find_or_add(key_hash(1, "new"), rate, 10, evicted);
  CHECK(!evicted);
  CHECK(table.find_or_add(hot, rate, 10, evicted).take(rate, 10) > 0);  // still in debt
}

TEST(target_path_of_origin_and_absolute_forms) {
  CHECK(target_path("/api/x?y") == "/api/x?y");
  CHECK(target_path("http://h.example/api/x") == "/api/x");
  CHECK(target_path("http://h.example") == "");
  CHECK(target_path("*") == "*");
}

TEST(client_connection_table_counts_and_limits) {
  ClientConnectionTable table(64);
  uint32_t a = 0, b = 0, c = 0;
  const uint64_t key = key_hash(3, "client");
  CHECK(table.acquire(key, 2, a) == ClientConnectionTable::Admit::counted);
  CHECK(table.acquire(key, 2, b) == ClientConnectionTable::Admit::counted);
  CHECK(table.acquire(key, 2, c) == ClientConnectionTable::Admit::over_limit);
  CHECK_EQ(table.count_of(key), 2u);
  table.release(a);
  CHECK(table.acquire(key, 2, c) == ClientConnectionTable::Admit::counted);
  table.release(b);
  table.release(c);
  CHECK_EQ(table.count_of(key), 0u);
  CHECK_EQ(table.occupied(), 0u);  // emptied slots are free again
}

TEST(client_connection_table_reports_a_full_window) {
  ClientConnectionTable table(16);  // one window
  uint32_t slot = 0;
  for (int i = 0; i < 16; ++i) {
    CHECK(table.acquire(key_hash(5, std::to_string(i)), 10, slot) == ClientConnectionTable::Admit::counted);
  }
  CHECK(table.acquire(key_hash(5, "one more"), 10, slot) == ClientConnectionTable::Admit::table_full);
}

TEST(client_connection_table_holds_the_limit_across_threads) {
  ClientConnectionTable table(1024);
  const uint64_t key = key_hash(9, "shared client");
  constexpr uint32_t kLimit = 5;
  std::atomic<uint32_t> held{0};
  std::atomic<uint32_t> most{0};
  std::atomic<bool> broken{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        uint32_t slot = 0;
        if (table.acquire(key, kLimit, slot) != ClientConnectionTable::Admit::counted) continue;
        uint32_t now = held.fetch_add(1) + 1;
        if (now > kLimit) broken = true;
        uint32_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(1);
        table.release(slot);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(!broken.load());
  CHECK(most.load() >= 1u);
  CHECK_EQ(table.count_of(key), 0u);
}
