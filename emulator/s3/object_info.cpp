#include "emulator/s3/object_info.h"

namespace smp::s3 {

bool ObjectInfo::etag_is_md5() const {
  if (etag.size() != 32) return false;
  for (char c : etag) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

std::string unquote_etag(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  if (etag.rfind("&quot;", 0) == 0 && etag.size() >= 12) etag = etag.substr(6, etag.size() - 12);
  return etag;
}

}  // namespace smp::s3
