#pragma once
// ScopedUtf8Locale: makes the calling thread's character set UTF-8 while it exists, so libarchive
// stores and reads non-ASCII member names as plain UTF-8 pax records.
//
// Why: libarchive converts names through the thread's locale; in a program that never called
// setlocale() that is ASCII, and non-ASCII names become `hdrcharset=BINARY` records that GNU tar
// warns about. uselocale() changes only this thread, unlike setlocale(), so the rest of the
// program is unaffected. If no UTF-8 locale exists, nothing changes (names stay byte-exact).

#include <locale.h>

namespace smplocal::archive {

// RAII: UTF-8 LC_CTYPE for this thread from construction to destruction.
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"}) {
      utf8_ = ::newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(0));
      if (utf8_ != static_cast<locale_t>(0)) break;
    }
    if (utf8_ != static_cast<locale_t>(0)) previous_ = ::uselocale(utf8_);
  }
  ~ScopedUtf8Locale() {
    if (utf8_ != static_cast<locale_t>(0)) {
      ::uselocale(previous_);
      ::freelocale(utf8_);
    }
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t utf8_ = static_cast<locale_t>(0);
  locale_t previous_ = static_cast<locale_t>(0);
};

}  // namespace smplocal::archive
