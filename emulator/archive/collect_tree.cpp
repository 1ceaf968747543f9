#include "emulator/archive/collect_tree.h"

#include <algorithm>
#include <system_error>

#include "emulator/archive/archive_error.h"

namespace smplocal::archive {
namespace fs = std::filesystem;
namespace {

// "./a//b/" → "a/b"; refuses absolute prefixes and "..", which would make members escape.
std::string normalize_prefix(const std::string& prefix) {
  if (!prefix.empty() && prefix.front() == '/') {
    throw ArchiveError("archive prefix '" + prefix +
                       "' is absolute: use a relative name such as 'data'");
  }
  std::string out;
  std::size_t i = 0;
  while (i <= prefix.size()) {
    std::size_t j = prefix.find('/', i);
    if (j == std::string::npos) j = prefix.size();
    std::string part = prefix.substr(i, j - i);
    if (part == "..") {
      throw ArchiveError("archive prefix '" + prefix +
                         "' contains '..': members must stay inside the archive");
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out;
}

bool archivable(fs::file_type t) {
  return t == fs::file_type::regular || t == fs::file_type::directory ||
         t == fs::file_type::symlink;
}

}  // namespace

std::vector<ArchiveEntry> collect_tree(const fs::path& root, const std::string& prefix) {
  const std::string base = normalize_prefix(prefix);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw ArchiveError("cannot archive '" + root.string() + "': " +
                       (fs::exists(root, ec) ? "not a directory" : "no such directory") +
                       " (check the path; an empty directory gives an empty archive)");
  }
  std::vector<ArchiveEntry> entries;
  if (!base.empty()) {
    // The root may be a symlink to a directory; its member must describe the directory.
    fs::path real = fs::canonical(root, ec);
    entries.push_back({ec ? root : real, base});
  }
  try {
    // The default options do not follow directory symlinks: a symlink is one member.
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const fs::file_type type = it->symlink_status().type();
      if (!archivable(type)) continue;
      std::string rel = it->path().lexically_relative(root).generic_string();
      entries.push_back({it->path(), base.empty() ? rel : base + "/" + rel});
    }
  } catch (const fs::filesystem_error& e) {
    throw ArchiveError("cannot list '" + e.path1().string() + "' to archive it: " +
                       e.code().message() + " (check its permissions)");
  }
  std::sort(entries.begin(), entries.end(),
            [](const ArchiveEntry& a, const ArchiveEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace smplocal::archive
