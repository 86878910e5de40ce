#include <memory>
#include <vector>

#include "balancing/round_robin.h"
#include "tests/test_framework.h"

using lb::balancing::BackendRuntime;
using lb::balancing::BackendState;

namespace {
std::vector<std::unique_ptr<BackendRuntime>> make_backends(int count) {
  std::vector<std::unique_ptr<BackendRuntime>> backends;
  for (int i = 0; i < count; ++i) {
    auto backend = std::make_unique<BackendRuntime>();
    backend->spec.id = static_cast<uint32_t>(i);
    backends.push_back(std::move(backend));
  }
  return backends;
}
std::vector<BackendRuntime*> pointers(const std::vector<std::unique_ptr<BackendRuntime>>& owned) {
  std::vector<BackendRuntime*> out;
  for (auto& backend : owned) out.push_back(backend.get());
  return out;
}
}  // namespace

TEST(round_robin_cycles_in_order) {
  auto owned = make_backends(3);
  auto list = pointers(owned);
  lb::balancing::RoundRobin strategy;
  lb::balancing::PickRequest request;
  std::vector<uint32_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(strategy.pick(list, request)->spec.id);
  CHECK((ids == std::vector<uint32_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(round_robin_skips_ineligible_and_tried) {
  auto owned = make_backends(4);
  auto list = pointers(owned);
  owned[1]->spec.state = BackendState::maint;
  owned[2]->ejected_until_ms = 1000;
  lb::balancing::RoundRobin strategy;
  lb::balancing::PickRequest request;
  request.now_ms = 10;
  std::vector<uint32_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(strategy.pick(list, request)->spec.id);
  CHECK((ids == std::vector<uint32_t>{0, 3, 0, 3}));

  BackendRuntime* tried[] = {owned[0].get()};
  request.tried = tried;
  CHECK_EQ(strategy.pick(list, request)->spec.id, 3u);
  CHECK_EQ(strategy.pick(list, request)->spec.id, 3u);

  // Once its ejection ends the backend takes requests again.
  request.now_ms = 2000;
  request.tried = {};
  bool saw_two = false;
  for (int i = 0; i < 4; ++i) saw_two = saw_two || strategy.pick(list, request)->spec.id == 2;
  CHECK(saw_two);
}

TEST(round_robin_none_eligible_returns_null) {
  auto owned = make_backends(2);
  auto list = pointers(owned);
  owned[0]->spec.state = BackendState::drain;
  owned[1]->removed = true;
  lb::balancing::RoundRobin strategy;
  lb::balancing::PickRequest request;
  CHECK(strategy.pick(list, request) == nullptr);
  std::vector<BackendRuntime*> empty;
  CHECK(strategy.pick(empty, request) == nullptr);
}
