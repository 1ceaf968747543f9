#pragma once
// SharedLibrary: a library smp-local loads with dlopen on first use (libcurl and libcrypto for S3,
// libarchive for packaging), so that commands which do not need it do not pay for loading it and
// its dependencies at start. Errors say which Debian package to install; E is the caller's error
// type. The library stays loaded for the life of the process. Header-only, so the s3 and archive
// libraries use it without depending on smp_emulator.

#include <dlfcn.h>

#include <string>
#include <utility>

namespace smplocal {

template <typename E>
class SharedLibrary {
 public:
  // `purpose` completes "cannot load <soname>…", e.g. " for S3"; `package` is the Debian package.
  SharedLibrary(std::string soname, std::string package, const std::string& purpose = "")
      : soname_(std::move(soname)), package_(std::move(package)) {
    handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_)
      throw E("cannot load " + soname_ + purpose + " (" + dlerror() +
              "); install it with scripts/install-deps.sh (Debian: " + package_ + ")");
  }

  template <typename F>
  void resolve(const char* name, F& out) const {
    out = reinterpret_cast<F>(dlsym(handle_, name));
    if (!out) throw E(soname_ + " has no " + name + "; install Debian's " + package_);
  }

 private:
  std::string soname_, package_;
  void* handle_ = nullptr;
};

}  // namespace smplocal
