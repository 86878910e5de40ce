// The DNS names a server certificate is for, as SNI selection uses them.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <vector>

namespace lb::tls {

// The normalized DNS names (see host_name.h) of `cert`: its subjectAltName DNS entries,
// or its subject common name when it has no subjectAltName extension at all (clients
// ignore the CN once a SAN exists, so it is not used then). Entries that are not host
// names (IP addresses, partial wildcards such as "w*.example.com") are left out.
std::vector<std::string> certificate_dns_names(X509* cert);

// The subject of `cert` as an RFC 2253 string ("CN=client,O=Example"), or "".
std::string subject_rfc2253(X509* cert);

}  // namespace lb::tls
