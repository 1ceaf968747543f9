#include "emulator/archive/libarchive_api.h"

#include <dlfcn.h>

#include <memory>
#include <mutex>
#include <string>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/utf8_locale.h"

namespace smplocal::archive {
namespace {

template <typename F>
void resolve(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (!out)
    throw ArchiveError(std::string("libarchive.so.13 has no ") + name +
                       "; install Debian's libarchive13");
}

const LibArchive* load() {
  void* lib = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw ArchiveError(std::string("cannot load libarchive.so.13 (") + dlerror() +
                       "); install it with scripts/install-deps.sh (Debian: libarchive13)");
  auto api = std::make_unique<LibArchive>();
#define SMP_LIBARCHIVE_RESOLVE(name) resolve(lib, #name, api->name);
  SMP_LIBARCHIVE_FUNCTIONS(SMP_LIBARCHIVE_RESOLVE)
#undef SMP_LIBARCHIVE_RESOLVE
  return api.release();  // kept, like the library, for the life of the process
}

}  // namespace

const LibArchive& libarchive() {
  // Not call_once: a failed load is retried, and so reported again, by the next caller.
  static std::mutex mutex;
  static const LibArchive* loaded = nullptr;
  std::lock_guard lock(mutex);
  if (!loaded) loaded = load();
  return *loaded;
}

LibArchivePrefetch::LibArchivePrefetch()
    : thread_([] {
        try {
          libarchive();
          utf8_locale();  // the tar writer's names go through it
        } catch (const ArchiveError&) {
          // reported where libarchive is needed
        }
      }) {}

LibArchivePrefetch::~LibArchivePrefetch() { thread_.join(); }

}  // namespace smplocal::archive
