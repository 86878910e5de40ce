#include "http1/canned_response.h"

namespace lb::http1 {

std::string_view canned_response(uint16_t status) {
  // Bodies are short and fixed; their lengths are written out by hand next to them.
  switch (status) {
    case 400:
      return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: "
             "close\r\n\r\nBad Request\n";
    // CONNECT is the only method refused outright; a 405 must say what is allowed.
    case 405:
      return "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, "
             "TRACE\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nMethod Not Allowed\n";
    case 408:
      return "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: "
             "close\r\n\r\nRequest Timeout\n";
    case 413:
      return "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nConnection: "
             "close\r\n\r\nContent Too Large\n";
    case 414:
      return "HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
             "close\r\n\r\nURI Too Long\n";
    case 431:
      return "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nContent-Length: "
             "32\r\nConnection: close\r\n\r\nRequest Header Fields Too Large\n";
    case 501:
      return "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: "
             "close\r\n\r\nNot Implemented\n";
    case 502:
      return "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: "
             "close\r\n\r\nBad Gateway\n";
    case 503:
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: "
             "close\r\n\r\nService Unavailable\n";
    case 504:
      return "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: "
             "close\r\n\r\nGateway Timeout\n";
    case 505:
      return "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\nContent-Length: 27\r\nConnection: "
             "close\r\n\r\nHTTP Version Not Supported\n";
    default:
      return "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nConnection: "
             "close\r\n\r\nInternal Server Error\n";
  }
}

}  // namespace lb::http1
