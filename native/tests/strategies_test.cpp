#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancing/hash.h"
#include "balancing/rendezvous_hash.h"
#include "balancing/strategy.h"
#include "tests/test_framework.h"

using lb::balancing::BackendRuntime;
using lb::balancing::PickRequest;
using lb::balancing::StrategyKind;

namespace {

struct Pool {
  std::vector<std::unique_ptr<BackendRuntime>> owned;
  std::vector<BackendRuntime*> list;
  explicit Pool(std::vector<uint32_t> weights) {
    for (size_t i = 0; i < weights.size(); ++i) {
      auto backend = std::make_unique<BackendRuntime>();
      backend->spec.id = static_cast<uint32_t>(i);
      backend->spec.weight = weights[i];
      backend->spec.label = "10.0.0." + std::to_string(i + 1) + ":80";
      backend->identity = lb::balancing::hash_bytes(backend->spec.label);
      list.push_back(backend.get());
      owned.push_back(std::move(backend));
    }
  }
};

std::unique_ptr<lb::balancing::Strategy> make(StrategyKind kind, uint64_t seed = 42) {
  lb::balancing::StrategySettings settings;
  settings.seed = seed;
  return lb::balancing::make_strategy(kind, settings);
}

}  // namespace

TEST(smooth_wrr_interleaves_5_1_1) {
  Pool pool({5, 1, 1});
  auto strategy = make(StrategyKind::weighted_round_robin);
  std::string sequence;
  for (int i = 0; i < 14; ++i) sequence += static_cast<char>('a' + strategy->pick(pool.list, {})->spec.id);
  CHECK_EQ(sequence, std::string("aabacaaaabacaa"));
}

TEST(round_robin_honours_weights_and_equal_weights_rotate) {
  Pool weighted({1, 3});
  auto strategy = make(StrategyKind::round_robin);
  int counts[2] = {};
  for (int i = 0; i < 400; ++i) counts[strategy->pick(weighted.list, {})->spec.id]++;
  CHECK_EQ(counts[0], 100);
  CHECK_EQ(counts[1], 300);
  Pool equal({1, 1, 1});
  auto rotation = make(StrategyKind::round_robin);
  std::string sequence;
  for (int i = 0; i < 6; ++i) sequence += static_cast<char>('a' + rotation->pick(equal.list, {})->spec.id);
  CHECK_EQ(sequence, std::string("abcabc"));
}

TEST(weight_zero_takes_nothing) {
  Pool pool({0, 2});
  auto strategy = make(StrategyKind::round_robin);
  for (int i = 0; i < 10; ++i) CHECK_EQ(strategy->pick(pool.list, {})->spec.id, 1u);
}

TEST(least_connections_prefers_the_least_loaded_by_weight) {
  Pool pool({1, 1, 2});
  pool.owned[0]->exchanges_in_flight = 3;
  pool.owned[1]->exchanges_in_flight = 1;
  pool.owned[2]->exchanges_in_flight = 2;  // (2+1)/2 = 1.5 < (1+1)/1 = 2
  auto strategy = make(StrategyKind::least_connections);
  CHECK_EQ(strategy->pick(pool.list, {})->spec.id, 2u);
  pool.owned[2]->exchanges_in_flight = 5;
  CHECK_EQ(strategy->pick(pool.list, {})->spec.id, 1u);
}

TEST(random_is_weighted) {
  Pool pool({1, 3});
  auto strategy = make(StrategyKind::random);
  int counts[2] = {};
  for (int i = 0; i < 40000; ++i) counts[strategy->pick(pool.list, {})->spec.id]++;
  CHECK(counts[1] > 28000 && counts[1] < 32000);
}

TEST(p2c_steers_away_from_a_loaded_backend) {
  Pool pool({1, 1, 1, 1});
  pool.owned[0]->exchanges_in_flight = 50;
  auto strategy = make(StrategyKind::p2c);
  int to_loaded = 0;
  for (int i = 0; i < 10000; ++i) to_loaded += strategy->pick(pool.list, {})->spec.id == 0;
  // The loaded one wins only when it is drawn twice, which two distinct draws never do.
  CHECK_EQ(to_loaded, 0);
}

TEST(peak_ewma_steers_away_from_a_slow_backend) {
  Pool pool({1, 1, 1});
  for (int i = 0; i < 3; ++i) pool.owned[i]->record_latency(i == 1 ? 50000 : 500, 1000, 10000);
  auto strategy = make(StrategyKind::peak_ewma);
  int counts[3] = {};
  PickRequest request;
  request.now_ms = 1001;
  for (int i = 0; i < 3000; ++i) counts[strategy->pick(pool.list, request)->spec.id]++;
  CHECK_EQ(counts[1], 0);
  CHECK(counts[0] > 1000 && counts[2] > 1000);
}

TEST(peak_ewma_takes_peaks_at_once_and_decays_lower_samples) {
  BackendRuntime backend;
  backend.record_latency(1000, 1000, 10000);
  backend.record_latency(9000, 1001, 10000);
  CHECK(backend.ewma_latency_us == 9000);  // a peak counts in full
  backend.record_latency(1000, 1001 + 10000, 10000);
  // One time constant later the old value weighs e^-1.
  CHECK(backend.ewma_latency_us > 3900 && backend.ewma_latency_us < 4000);
}

TEST(rendezvous_removing_one_of_n_moves_only_its_keys) {
  Pool all({1, 1, 1, 1, 1});
  auto strategy = make(StrategyKind::uri_hash);
  constexpr int kKeys = 20000;
  std::vector<uint32_t> before(kKeys);
  PickRequest request;
  request.has_key = true;
  for (int k = 0; k < kKeys; ++k) {
    request.key = lb::balancing::hash_bytes("/item/" + std::to_string(k));
    before[k] = strategy->pick(all.list, request)->spec.id;
  }
  std::vector<BackendRuntime*> without_two;
  for (BackendRuntime* backend : all.list) {
    if (backend->spec.id != 2) without_two.push_back(backend);
  }
  int moved = 0;
  int owned_by_two = 0;
  for (int k = 0; k < kKeys; ++k) {
    request.key = lb::balancing::hash_bytes("/item/" + std::to_string(k));
    uint32_t after = strategy->pick(without_two, request)->spec.id;
    if (before[k] == 2) {
      ++owned_by_two;
    } else if (after != before[k]) {
      ++moved;  // a key that did not belong to the removed backend moved: never allowed
    }
  }
  CHECK_EQ(moved, 0);
  // And the removed backend owned about 1/N of the keys.
  CHECK(owned_by_two > kKeys / 5 * 0.9 && owned_by_two < kKeys / 5 * 1.1);
}

TEST(rendezvous_is_weighted_and_independent_of_order) {
  Pool pool({1, 3});
  auto strategy = make(StrategyKind::ip_hash);
  std::vector<BackendRuntime*> reversed(pool.list.rbegin(), pool.list.rend());
  int counts[2] = {};
  PickRequest request;
  request.has_key = true;
  for (int k = 0; k < 20000; ++k) {
    request.key = lb::balancing::hash_bytes("client-" + std::to_string(k));
    uint32_t id = strategy->pick(pool.list, request)->spec.id;
    CHECK_EQ(strategy->pick(reversed, request)->spec.id, id);
    counts[id]++;
  }
  CHECK(counts[1] > 14000 && counts[1] < 16000);
}

TEST(hash_strategies_skip_unusable_and_fall_back_without_key) {
  Pool pool({1, 1, 1});
  auto strategy = make(StrategyKind::header_hash);
  PickRequest request;
  request.has_key = true;
  request.key = 12345;
  BackendRuntime* first = strategy->pick(pool.list, request);
  first->ejected_until_ms = 1u << 30;
  BackendRuntime* second = strategy->pick(pool.list, request);
  CHECK(second != nullptr && second != first);
  PickRequest no_key;
  CHECK(strategy->pick(pool.list, no_key) != nullptr);
}

TEST(cookie_honours_sticky_identity_while_usable) {
  Pool pool({1, 1, 1});
  auto strategy = make(StrategyKind::cookie);
  PickRequest request;
  request.has_sticky = true;
  request.sticky_identity = pool.owned[2]->identity;
  for (int i = 0; i < 5; ++i) CHECK_EQ(strategy->pick(pool.list, request)->spec.id, 2u);
  pool.owned[2]->spec.state = lb::balancing::BackendState::drain;
  CHECK(strategy->pick(pool.list, request)->spec.id != 2u);
}

TEST(strategy_names_round_trip) {
  const char* names[] = {"round-robin", "weighted-round-robin", "least-connections", "random", "p2c", "peak-ewma",
                         "ip-hash",     "header-hash",          "uri-hash",          "cookie"};
  for (const char* name : names) {
    StrategyKind kind;
    CHECK(lb::balancing::parse_strategy(name, kind));
    CHECK_EQ(std::string(lb::balancing::to_string(kind)), std::string(name));
  }
  StrategyKind kind;
  CHECK(!lb::balancing::parse_strategy("fastest", kind));
}

// Issue 14 B: panic routing. When every backend that takes requests is ejected, a pick
// that reaches ejected ones still finds one; health-check-down backends only at the
// next reach; drained and maintenance backends never.
TEST(panic_pick_reaches_ejected_then_unhealthy_never_drained) {
  Pool pool({1, 1, 1, 1});
  const uint64_t now = 10'000;
  for (BackendRuntime* backend : pool.list) backend->ejected_until_ms = now + 30'000;
  pool.list[1]->spec.state = lb::balancing::BackendState::drain;
  pool.list[2]->spec.healthy = false;
  pool.list[3]->spec.state = lb::balancing::BackendState::maint;
  for (StrategyKind kind : {StrategyKind::round_robin, StrategyKind::least_connections, StrategyKind::random,
                            StrategyKind::p2c, StrategyKind::peak_ewma, StrategyKind::ip_hash, StrategyKind::cookie}) {
    auto strategy = make(kind);
    PickRequest normal;
    normal.now_ms = now;
    normal.has_key = true;
    normal.key = 7;
    CHECK(strategy->pick(pool.list, normal) == nullptr);
    PickRequest panic = normal;
    panic.reach = lb::balancing::Reach::ejected;
    for (int i = 0; i < 20; ++i) CHECK(strategy->pick(pool.list, panic) == pool.list[0]);
    // Down by health checks but not ejected (2) before down and ejected.
    panic.reach = lb::balancing::Reach::unhealthy;
    CHECK(strategy->pick(pool.list, panic) == nullptr);
    pool.list[2]->ejected_until_ms = 0;
    for (int i = 0; i < 20; ++i) CHECK(strategy->pick(pool.list, panic) == pool.list[2]);
    pool.list[2]->ejected_until_ms = now + 30'000;
    panic.reach = lb::balancing::Reach::in_service;
    for (int i = 0; i < 20; ++i) {
      BackendRuntime* picked = strategy->pick(pool.list, panic);
      CHECK(picked == pool.list[0] || picked == pool.list[2]);
    }
  }
}

// A backend picked while still ejected (panic) or readmitted before its ramp starts gets
// the slow-start floor, never an unsigned wrap-around to a huge weight.
TEST(slow_start_weight_before_the_ramp_starts_is_the_floor) {
  Pool pool({10});
  BackendRuntime& backend = *pool.list[0];
  backend.available_since_ms = 50'000;                          // ejected until then
  CHECK_EQ(backend.weight_now(20'000, 10'000), uint64_t{100});  // 10% of 10 x 100
  CHECK_EQ(backend.weight_now(55'000, 10'000), uint64_t{500});
  CHECK_EQ(backend.weight_now(60'000, 10'000), uint64_t{1000});
}
