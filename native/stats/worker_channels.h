// Everything one worker shares with the control plane, all of it lock-free: counters it
// writes and the control plane reads, and the rings it pushes events and access-log
// records into.
#pragma once

#include "stats/event_ring.h"
#include "stats/worker_counters.h"

namespace lb::stats {

struct WorkerChannels {
  WorkerCounters counters;
  EventRing events;
  AccessLogRing access_log;
};

}  // namespace lb::stats
