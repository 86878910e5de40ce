// A minimal test registry for the C++ unit tests: TEST(name) { CHECK(...); }.
// No dependency beyond the standard library, so the tests build with the core alone
// (and under the sanitizers) and run with `npm run test:native`.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace lb::testing {

struct TestCase {
  const char* name;
  void (*run)();
};

std::vector<TestCase>& registry();
extern int g_failures;

struct Registrar {
  Registrar(const char* name, void (*run)()) { registry().push_back({name, run}); }
};

}  // namespace lb::testing

#define LB_TEST_CONCAT2(a, b) a##b
#define LB_TEST_CONCAT(a, b) LB_TEST_CONCAT2(a, b)

#define TEST(name)                                                                \
  static void name();                                                             \
  static ::lb::testing::Registrar LB_TEST_CONCAT(registrar_, name)(#name, &name); \
  static void name()

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++::lb::testing::g_failures;                                                    \
    }                                                                                 \
  } while (0)

#define CHECK_EQ(a, b)                                                                          \
  do {                                                                                          \
    auto&& lb_a = (a);                                                                          \
    auto&& lb_b = (b);                                                                          \
    if (!(lb_a == lb_b)) {                                                                      \
      std::fprintf(stderr, "  %s:%d: CHECK_EQ failed: %s == %s\n", __FILE__, __LINE__, #a, #b); \
      ++::lb::testing::g_failures;                                                              \
    }                                                                                           \
  } while (0)
