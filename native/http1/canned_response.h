// Complete responses the balancer itself sends (errors), ready to write. Each closes the
// connection: after a refused or failed request we do not know that the client and we
// still agree on where the next request starts.
#pragma once

#include <cstdint>
#include <string_view>

namespace lb::http1 {

std::string_view canned_response(uint16_t status);

}  // namespace lb::http1
