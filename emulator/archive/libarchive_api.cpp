#include "emulator/archive/libarchive_api.h"

#include <memory>
#include <mutex>
#include <string>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/utf8_locale.h"
#include "emulator/common/shared_library.h"

namespace smplocal::archive {
namespace {

const LibArchive* load() {
  const SharedLibrary<ArchiveError> lib("libarchive.so.13", "libarchive13");
  auto api = std::make_unique<LibArchive>();
#define SMP_LIBARCHIVE_RESOLVE(name) lib.resolve(#name, api->name);
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
