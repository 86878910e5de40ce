#include "balancing/backend.h"

namespace lb::balancing {

const char* to_string(BackendState state) {
  switch (state) {
    case BackendState::ready: return "ready";
    case BackendState::drain: return "drain";
    case BackendState::maint: return "maint";
  }
  return "unknown";
}

}  // namespace lb::balancing
