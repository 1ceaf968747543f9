#pragma once
// merge_tree: moves an extracted staging tree into an existing destination directory by renames
// (no copying), so extracting into a non-empty /opt/ml/code behaves like `tar -x` over it.

#include <filesystem>

namespace smplocal::archive {

// Moves everything under `staging` into `dest` (both existing directories on one file system).
// Files and symlinks replace same-named non-directories in dest; directories are merged.
// Before moving anything it checks that no staged file would have to replace a directory of
// dest, and throws ArchiveError naming it if so — then dest is untouched.
// Symlinks in dest are never followed: a staged directory replaces a symlink of the same name.
void merge_tree(const std::filesystem::path& staging, const std::filesystem::path& dest);

}  // namespace smplocal::archive
