#include "tls/certificate_names.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <string_view>

#include "tls/host_name.h"
#include "tls/openssl_ptr.h"

namespace lb::tls {
namespace {

void add_name(std::string_view raw, std::vector<std::string>& names) {
  std::string name;
  if (!normalize_host_name(raw, name)) return;
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
}

std::string_view view_of(const ASN1_STRING* text) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), static_cast<size_t>(ASN1_STRING_length(text))};
}

}  // namespace

std::vector<std::string> certificate_dns_names(X509* cert) {
  std::vector<std::string> names;
  int critical = 0;
  GeneralNamesPtr alt_names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (alt_names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt_names.get()); ++i) {
      const GENERAL_NAME* entry = sk_GENERAL_NAME_value(alt_names.get(), i);
      if (entry->type == GEN_DNS) add_name(view_of(entry->d.dNSName), names);
    }
    return names;
  }
  // critical == -1: no SAN extension at all (other values: present but unreadable).
  if (critical != -1) return names;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); at >= 0;
       at = X509_NAME_get_index_by_NID(subject, NID_commonName, at)) {
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, value);
    if (length > 0) add_name(std::string_view(reinterpret_cast<char*>(utf8), length), names);
    OPENSSL_free(utf8);
  }
  return names;
}

std::string subject_rfc2253(X509* cert) {
  if (cert == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

}  // namespace lb::tls
