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

// The process's UTF-8 LC_CTYPE locale, loaded on first use (reading the locale files costs a few
// tenths of a millisecond) and kept for the life of the process; (locale_t)0 when there is none.
inline locale_t utf8_locale() {
  static const locale_t utf8 = [] {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"})
      if (locale_t l = ::newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(0));
          l != static_cast<locale_t>(0))
        return l;
    return static_cast<locale_t>(0);
  }();
  return utf8;
}

// RAII: UTF-8 LC_CTYPE for this thread from construction to destruction.
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() {
    if (locale_t utf8 = utf8_locale(); utf8 != static_cast<locale_t>(0)) {
      previous_ = ::uselocale(utf8);
      active_ = true;
    }
  }
  ~ScopedUtf8Locale() {
    if (active_) ::uselocale(previous_);
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  bool active_ = false;
  locale_t previous_ = static_cast<locale_t>(0);
};

}  // namespace smplocal::archive
