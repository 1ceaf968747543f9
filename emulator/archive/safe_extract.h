#pragma once
// extract_tar_gz_safely: unpacks an untrusted tar.gz (e.g. a sourcedir.tar.gz from S3) into a
// directory with all-or-nothing semantics and no way for a member to reach outside it.

#include <filesystem>

namespace smplocal::archive {

// Extracts `archive` (tar, gzip-compressed or not) into `dest`, created with its parents if
// missing. Refuses — throwing ArchiveError that names the member — absolute names, names with
// "..", symlinks whose target leaves dest (also through chains of the archive's own symlinks),
// hard links to anything but a regular file earlier in the archive, members under or replacing a
// symlink, and device, FIFO and socket members. Members go to a temporary directory first (next
// to dest, or a hidden one inside dest when dest exists), written with openat(O_NOFOLLOW) under
// it and symlinks created last; only when every member passed is that tree renamed to dest (or,
// when dest exists, merged into it by renames).
// On any refusal or error nothing remains: dest is unchanged.
// Files keep their permission bits (without setuid/setgid/sticky) and mtimes, as Python's
// tarfile.extractall in the SageMaker training toolkit does; owners are the extracting user.
void extract_tar_gz_safely(const std::filesystem::path& archive,
                           const std::filesystem::path& dest);

}  // namespace smplocal::archive
