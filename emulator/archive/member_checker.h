#pragma once
// MemberChecker: the extraction policy for untrusted archives (a sourcedir.tar.gz from S3),
// decided from member headers alone so it is testable without touching the disk.
//
// A member is admitted only if writing it cannot touch anything outside the destination:
// relative names without "..", only files, directories, symlinks and hard links, hard links only
// to regular files earlier in the archive, no member under (or replacing) a symlink member, and
// every symlink resolving inside the destination — resolved through the archive's other symlinks,
// so chains such as `a -> b/..` plus `b -> ../..` are caught. Symlinks are judged after the last
// member (check_symlinks), because a later member can change what an earlier link points to.

#include <map>
#include <set>
#include <string>
#include <vector>

namespace smplocal::archive {

// What a tar member is, as far as the policy cares.
enum class MemberKind { kFile, kDirectory, kSymlink, kHardlink, kOther };

// Admits or refuses members one by one; throws ArchiveError naming the member on refusal.
class MemberChecker {
 public:
  // Checks one member. `link` is the symlink or hard-link target (ignored for other kinds);
  // `kind_name` describes kOther members in the message ("character device", "FIFO", ...).
  // Returns the normalized relative path ("a/b"; "" for the archive root "./").
  std::string admit(const std::string& name, MemberKind kind, const std::string& link = "",
                    const std::string& kind_name = "");

  // After all members were admitted: every symlink must resolve inside the destination.
  void check_symlinks() const;

  // Splits a member name into components, dropping "" and "."; refuses absolute names and "..".
  // `member` is the name used in messages.
  static std::vector<std::string> split_relative(const std::string& path,
                                                 const std::string& member, const char* what);

 private:
  bool resolves_inside(const std::string& link_path, const std::string& target) const;

  std::map<std::string, std::string> symlinks_;  // normalized path → target as stored
  std::map<std::string, MemberKind> members_;    // every admitted non-root member
  std::set<std::string> parents_;                // every directory implied by a member's path
};

}  // namespace smplocal::archive
