#pragma once
// LibArchive: the libarchive functions smp-local calls, resolved with dlopen on first use.
//
// Why not link it: libarchive brings ~10 more libraries (XML, ICU, nettle, four compressors) that
// the dynamic loader would map and relocate at the start of every smp-local command, ~1.2 ms each
// time, while a job needs libarchive only to package its outputs at the end (and to unpack a
// .tar.gz source). `smp-local run` loads it on a side thread while the job runs.

#include <archive.h>
#include <archive_entry.h>

#include <thread>

namespace smplocal::archive {

// clang-format off
#define SMP_LIBARCHIVE_FUNCTIONS(X) \
  X(archive_error_string) \
  X(archive_write_new) \
  X(archive_write_free) \
  X(archive_write_set_format_pax_restricted) \
  X(archive_write_add_filter_none) \
  X(archive_write_open) \
  X(archive_write_header) \
  X(archive_write_data) \
  X(archive_write_close) \
  X(archive_read_new) \
  X(archive_read_free) \
  X(archive_read_support_format_tar) \
  X(archive_read_support_filter_gzip) \
  X(archive_read_open_filename) \
  X(archive_read_next_header) \
  X(archive_read_data_block) \
  X(archive_entry_new) \
  X(archive_entry_free) \
  X(archive_entry_copy_pathname) \
  X(archive_entry_copy_uname) \
  X(archive_entry_copy_gname) \
  X(archive_entry_copy_symlink) \
  X(archive_entry_set_perm) \
  X(archive_entry_set_mtime) \
  X(archive_entry_set_uid) \
  X(archive_entry_set_gid) \
  X(archive_entry_set_filetype) \
  X(archive_entry_set_size) \
  X(archive_entry_pathname) \
  X(archive_entry_hardlink) \
  X(archive_entry_symlink) \
  X(archive_entry_filetype) \
  X(archive_entry_perm) \
  X(archive_entry_mtime) \
  X(archive_entry_size) \
  X(archive_entry_size_is_set)
// clang-format on

struct LibArchive {
#define SMP_LIBARCHIVE_POINTER(name) decltype(&::name) name;
  SMP_LIBARCHIVE_FUNCTIONS(SMP_LIBARCHIVE_POINTER)
#undef SMP_LIBARCHIVE_POINTER
};

// libarchive.so.13, loaded once (thread-safe); throws ArchiveError when it cannot be loaded.
const LibArchive& libarchive();

// Starts loading libarchive (and the UTF-8 locale the writer uses) on a thread of its own; the
// handle joins it. A failure is not reported here but by the next libarchive() call, which tries
// again in the caller's thread.
class LibArchivePrefetch {
 public:
  LibArchivePrefetch();
  ~LibArchivePrefetch();
  LibArchivePrefetch(const LibArchivePrefetch&) = delete;
  LibArchivePrefetch& operator=(const LibArchivePrefetch&) = delete;

 private:
  std::thread thread_;
};

}  // namespace smplocal::archive
