#pragma once
// File-system helpers: atomic writes, reads, and path containment checks used wherever
// user-controlled names become paths.

#include <filesystem>
#include <string>

namespace smplocal {

namespace fs = std::filesystem;

// Writes content to path via a temporary sibling and rename(2); creates parent directories.
void write_file_atomic(const fs::path& path, const std::string& content);
// Writes content to path directly (for files in trees nothing reads yet, e.g. a host tree being
// staged, where a temporary name + rename would only cost another journaled operation).
void write_file(const fs::path& path, const std::string& content);
std::string read_file(const fs::path& path);
// True when `path` (lexically normalized, not following links) stays inside `root`.
bool is_within(const fs::path& root, const fs::path& path);
// Asks ext2/3/4 to treat `dir` as the top of a directory hierarchy (chattr +T), so the Orlov
// allocator puts its subdirectories in block groups with room to spare instead of next to `dir`.
// Why: without a journal, ext4 skips, one by one, every inode freed in the last 30 s to 5 min when
// it allocates one (recently_deleted()); in a group where many files were just deleted (a temp
// directory after a build or a test run) each new file then costs 0.2-0.5 ms, and a job creates
// dozens. Best effort: other file systems, or a refusal, change nothing.
void hint_top_directory(const fs::path& dir) noexcept;
// An absolute path: `p` if absolute, else relative to `base`; lexically normalized.
fs::path absolute_from(const fs::path& base, const fs::path& p);

}  // namespace smplocal
