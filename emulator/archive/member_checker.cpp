#include "emulator/archive/member_checker.h"

#include <deque>

#include "emulator/archive/archive_error.h"

namespace smplocal::archive {
namespace {

constexpr int kMaxSymlinkExpansions = 40;  // Linux's own limit (MAXSYMLINKS)

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

// "a//b/" → {"a", "", "b", ""}: every '/'-separated piece, kept as is.
std::vector<std::string> split_all(const std::string& path) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i <= path.size();) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

[[noreturn]] void refuse(const std::string& member, const std::string& why) {
  throw ArchiveError("refusing to extract member '" + member + "': " + why +
                     "; nothing was extracted (rebuild the archive with relative paths that stay "
                     "inside the directory, e.g. `tar czf sourcedir.tar.gz -C src .`)");
}

}  // namespace

std::vector<std::string> MemberChecker::split_relative(const std::string& path,
                                                       const std::string& member,
                                                       const char* what) {
  if (path.empty()) refuse(member, std::string(what) + " is empty");
  if (path.front() == '/') refuse(member, std::string(what) + " '" + path + "' is absolute");
  std::vector<std::string> parts;
  for (std::string& part : split_all(path)) {
    if (part == "..") refuse(member, std::string(what) + " '" + path + "' contains '..'");
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
  }
  return parts;
}

std::string MemberChecker::admit(const std::string& name, MemberKind kind, const std::string& link,
                                 const std::string& kind_name) {
  const std::vector<std::string> parts = split_relative(name, name, "its name");
  if (kind == MemberKind::kOther) {
    refuse(name, "it is a " + (kind_name.empty() ? std::string("special file") : kind_name) +
                     "; only files, directories and links can be extracted");
  }
  const std::string path = join(parts, parts.size());
  if (path.empty()) {
    if (kind != MemberKind::kDirectory) refuse(name, "it names the destination itself");
    return path;  // "./": the destination directory
  }
  // Nothing may be written through, or over, a symlink from the archive.
  for (std::size_t n = 1; n < parts.size(); ++n) {
    std::string prefix = join(parts, n);
    if (symlinks_.count(prefix)) refuse(name, "its path goes through the symlink '" + prefix + "'");
    auto it = members_.find(prefix);
    if (it != members_.end() && it->second != MemberKind::kDirectory) {
      refuse(name, "its parent '" + prefix + "' is not a directory in this archive");
    }
  }
  auto existing = members_.find(path);
  if (kind == MemberKind::kSymlink) {
    if (parents_.count(path)) refuse(name, "this symlink would replace a directory of the archive");
    if (existing != members_.end() && existing->second != MemberKind::kSymlink) {
      refuse(name, "this symlink would replace another member of the same name");
    }
    if (link.empty()) refuse(name, "its symlink target is empty");
    if (link.front() == '/') {
      refuse(name, "it is a symlink to the absolute path '" + link + "', outside the destination");
    }
    symlinks_[path] = link;
    if (!resolves_inside(path, link)) {
      symlinks_.erase(path);
      refuse(name, "it is a symlink to '" + link + "', which leaves the destination (or loops)");
    }
  } else if (existing != members_.end() && existing->second == MemberKind::kSymlink) {
    refuse(name, "it would replace the symlink of the same name");
  } else if (kind != MemberKind::kDirectory &&
             (parents_.count(path) ||
              (existing != members_.end() && existing->second == MemberKind::kDirectory))) {
    refuse(name, "it would replace a directory of the archive");
  }
  if (kind == MemberKind::kHardlink) {
    const auto target_parts = split_relative(link, name, "its hard-link target");
    const std::string target = join(target_parts, target_parts.size());
    auto t = members_.find(target);
    if (t == members_.end() || (t->second != MemberKind::kFile && t->second != MemberKind::kHardlink)) {
      refuse(name, "it is a hard link to '" + link +
                       "', which is not a regular file earlier in the archive");
    }
  }
  if (kind == MemberKind::kDirectory && existing != members_.end() &&
      existing->second != MemberKind::kDirectory) {
    refuse(name, "this directory would replace another member of the same name");
  }
  members_[path] = kind;
  for (std::size_t n = 1; n < parts.size(); ++n) parents_.insert(join(parts, n));
  return path;
}

bool MemberChecker::resolves_inside(const std::string& link_path, const std::string& target) const {
  // Walk the target from the link's directory as the kernel would, expanding symlinks that are
  // members of the archive; components not in the archive count as plain directories.
  std::vector<std::string> stack = split_all(link_path);  // normalized: no "", ".", ".."
  stack.pop_back();                                       // the link itself
  std::deque<std::string> todo;
  auto push_target = [&todo](const std::string& t) {
    std::vector<std::string> parts = split_all(t);
    todo.insert(todo.begin(), parts.begin(), parts.end());
  };
  push_target(target);
  int expansions = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return false;
      stack.pop_back();
      continue;
    }
    stack.push_back(std::move(part));
    auto link = symlinks_.find(join(stack, stack.size()));
    if (link == symlinks_.end()) continue;
    if (++expansions > kMaxSymlinkExpansions) return false;  // a loop: refuse rather than guess
    if (!link->second.empty() && link->second.front() == '/') return false;
    stack.pop_back();
    push_target(link->second);
  }
  return true;
}

void MemberChecker::check_symlinks() const {
  for (const auto& [path, target] : symlinks_) {
    if (!resolves_inside(path, target)) {
      refuse(path, "it is a symlink to '" + target +
                       "', which leaves the destination through other symlinks of the archive");
    }
  }
}

}  // namespace smplocal::archive
