// Runs every registered C++ test and prints a closing line CI can read.
#include <cstring>

#include "tests/test_framework.h"

namespace lb::testing {
std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
int g_failures = 0;
}  // namespace lb::testing

int main(int argc, char** argv) {
  using namespace lb::testing;
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0;
  int failed = 0;
  for (const TestCase& test : registry()) {
    if (filter && !std::strstr(test.name, filter)) continue;
    int before = g_failures;
    test.run();
    if (g_failures == before) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "FAIL %s\n", test.name);
    }
  }
  std::printf("native: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
