// Reading certificates and keys from PEM text held in memory (the control plane reads
// the files; the core never touches the file system). A key protected by a passphrase
// is refused, never prompted for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_ptr.h"

namespace lb::tls {

// Every certificate in `pem`, in file order. Fails when there is none or a block is damaged.
bool read_certificates(std::string_view pem, std::vector<X509Ptr>& out, std::string& error);

// The first private key in `pem` (other blocks, such as certificates, are skipped).
EvpPkeyPtr read_private_key(std::string_view pem, std::string& error);

}  // namespace lb::tls
