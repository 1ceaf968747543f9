#pragma once
// write_tar_gz: packs archive members into a POSIX tar compressed as one gzip stream on several
// cores — how smp-local makes model.tar.gz, output.tar.gz and sourcedir.tar.gz.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "emulator/archive/collect_tree.h"

namespace smplocal::archive {

// How to compress. The defaults match `tar czf` (gzip -6) in ratio while using every core.
struct TarGzOptions {
  unsigned threads = 0;               // compression threads; 0 = every core this process may use
  int level = 6;                      // zlib level 1 (fastest) .. 9 (smallest)
  std::size_t block_size = 128 << 10;  // bytes compressed independently (pigz's default)
};

// What a write did, for logs and the job record.
struct ArchiveStats {
  std::uint64_t files = 0;         // members written (files, directories, symlinks)
  std::uint64_t input_bytes = 0;   // bytes of regular-file content read
  std::uint64_t output_bytes = 0;  // size of the .tar.gz
  double seconds = 0;              // wall time of the whole write
};

// Writes `entries` (in the given order) as a pax-restricted tar (ustar headers; pax records only
// for names > 100 bytes, non-ASCII names or sizes > 8 GiB), compressed as a single standard gzip
// member, so GNU tar, gzip and Python's tarfile read it. Keeps each member's permission bits and
// mtime (whole seconds); owners are uid/gid 0 "root", as in archives made by SageMaker's Python
// tooling, so extraction as root gives root-owned files whatever uid the emulated job ran as.
// The file appears atomically: written to a temporary name in out's directory, then renamed;
// on any error nothing is left behind and ArchiveError says which member or path failed.
// out's directory must exist. A file that changes size while it is read is an error.
ArchiveStats write_tar_gz(const std::filesystem::path& out, const std::vector<ArchiveEntry>& entries,
                          const TarGzOptions& options = {});

}  // namespace smplocal::archive
