#pragma once
// collect_tree: lists a directory's files, directories and symlinks as archive members with
// stable, sorted names, so equal trees give byte-identical archives.

#include <filesystem>
#include <string>
#include <vector>

namespace smplocal::archive {

// One member of an archive: a regular file, directory or symlink on disk, stored under `name`
// ('/'-separated, relative, no trailing slash; the writer marks directories itself).
struct ArchiveEntry {
  std::filesystem::path source;
  std::string name;
};

// Every file, directory and symlink under `root` (symlinks are stored as symlinks, never
// followed), named relative to root with `prefix` + "/" prepended, sorted by name (bytewise, so a
// directory always precedes its contents). With a non-empty prefix the root itself is the first
// member, named `prefix` (e.g. prefix "data" → "data", "data/a.csv", ...). `root` itself may be a
// symlink to a directory. Sockets, FIFOs and device files are skipped, as GNU tar skips sockets:
// they cannot be meaningful model or output artifacts. Hard-linked files are stored as separate
// regular files. Throws ArchiveError when root is not a readable directory or the prefix is not a
// relative path without "..".
std::vector<ArchiveEntry> collect_tree(const std::filesystem::path& root,
                                       const std::string& prefix = "");

}  // namespace smplocal::archive
