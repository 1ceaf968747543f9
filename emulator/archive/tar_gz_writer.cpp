#include "emulator/archive/tar_gz_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <memory>
#include <span>
#include <string>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/libarchive_api.h"
#include "emulator/archive/parallel_gzip.h"
#include "emulator/archive/unique_fd.h"
#include "emulator/archive/utf8_locale.h"

namespace smplocal::archive {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kReadChunk = 1 << 20;

// Where libarchive's tar bytes go: straight into the parallel compressor. Exceptions cannot cross
// libarchive's C frames, so the callback parks them here and the caller rethrows.
struct TarSink {
  ParallelGzipWriter* gz;
  std::exception_ptr error;
};

la_ssize_t sink_write(struct archive*, void* client, const void* buf, size_t size) {
  auto* sink = static_cast<TarSink*>(client);
  try {
    sink->gz->write(buf, size);
    return static_cast<la_ssize_t>(size);
  } catch (...) {
    sink->error = std::current_exception();
    return -1;
  }
}

// The temporary output: removed unless committed, so failures leave nothing behind.
class TempFile {
 public:
  explicit TempFile(const fs::path& out) {
    std::string dir = out.parent_path().empty() ? "." : out.parent_path().string();
    pattern_ = (fs::path(dir) / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
    int fd = ::mkostemp(pattern_.data(), O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw ArchiveError(errno_message("cannot create '" + out.string() + "' (temporary file in '" +
                                           dir + "'; does the directory exist and is it writable?)",
                                       err));
    }
    fd_ = UniqueFd(fd);
  }
  ~TempFile() {
    if (!committed_) {
      fd_.reset();
      ::unlink(pattern_.c_str());
    }
  }
  int fd() const { return fd_.get(); }
  void commit(const fs::path& out) {
    // Readable by everyone like a file made by tar under the usual umask; mkostemp made it 0600.
    if (::fchmod(fd_.get(), 0644) != 0 || fd_.reset() != 0) {
      throw ArchiveError(errno_message("cannot finish writing '" + out.string() + "'", errno));
    }
    if (::rename(pattern_.c_str(), out.c_str()) != 0) {
      throw ArchiveError(errno_message("cannot move the finished archive to '" + out.string() + "'",
                                       errno));
    }
    committed_ = true;
  }

 private:
  std::string pattern_;
  UniqueFd fd_;
  bool committed_ = false;
};

// Our own member names come from collect_tree; a caller-built name that could escape on
// extraction is a bug worth stopping here rather than shipping in an archive.
void check_name(const std::string& name) {
  bool bad = name.empty() || name.front() == '/';
  for (std::size_t i = 0; !bad && i <= name.size();) {
    std::size_t j = name.find('/', i);
    if (j == std::string::npos) j = name.size();
    bad = name.compare(i, j - i, "..") == 0 && j - i == 2;
    i = j + 1;
  }
  if (bad) {
    throw ArchiveError("archive member name '" + name +
                       "' is empty, absolute or contains '..': names must be relative paths");
  }
}

using ArchivePtr = std::unique_ptr<struct archive, decltype(&::archive_write_free)>;
using EntryPtr = std::unique_ptr<struct archive_entry, decltype(&::archive_entry_free)>;

// libarchive's pax-restricted tar writer, fed member by member from files on disk.
class TarWriter {
 public:
  TarWriter(TarSink* sink)
      : la_(libarchive()), a_(la_.archive_write_new(), la_.archive_write_free), sink_(sink) {
    if (!a_) throw ArchiveError("libarchive could not start a tar writer (out of memory?)");
    if (la_.archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        la_.archive_write_add_filter_none(a_.get()) != ARCHIVE_OK ||
        la_.archive_write_open(a_.get(), sink, nullptr, sink_write, nullptr) != ARCHIVE_OK) {
      fail("starting the tar stream");
    }
  }

  // Adds one member; returns the bytes of file content it read.
  std::uint64_t add(const ArchiveEntry& e, std::span<char> buf) {
    check_name(e.name);
    struct stat st;
    if (::lstat(e.source.c_str(), &st) != 0) {
      throw ArchiveError(errno_message("cannot archive '" + e.source.string() + "'", errno));
    }
    UniqueFd fd;
    if (S_ISREG(st.st_mode)) {
      // Open without following links, then describe what was opened, so header and data agree.
      fd = UniqueFd(::open(e.source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd || ::fstat(fd.get(), &st) != 0) {
        throw ArchiveError(errno_message("cannot read '" + e.source.string() + "'", errno));
      }
      if (!S_ISREG(st.st_mode)) throw changed(e);
      ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    } else if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
      throw ArchiveError("cannot archive '" + e.source.string() +
                         "': only regular files, directories and symlinks can be archived");
    }

    EntryPtr entry(la_.archive_entry_new(), la_.archive_entry_free);
    struct archive_entry* ae = entry.get();
    // Raw bytes; with ScopedUtf8Locale active, non-ASCII names become UTF-8 pax "path" records.
    la_.archive_entry_copy_pathname(ae, e.name.c_str());
    la_.archive_entry_set_perm(ae, st.st_mode & 07777);
    la_.archive_entry_set_mtime(ae, st.st_mtim.tv_sec, 0);  // whole seconds: no pax time records
    la_.archive_entry_set_uid(ae, 0);
    la_.archive_entry_set_gid(ae, 0);
    la_.archive_entry_copy_uname(ae, "root");
    la_.archive_entry_copy_gname(ae, "root");
    if (S_ISREG(st.st_mode)) {
      la_.archive_entry_set_filetype(ae, AE_IFREG);
      la_.archive_entry_set_size(ae, st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      la_.archive_entry_set_filetype(ae, AE_IFDIR);
      la_.archive_entry_set_size(ae, 0);
    } else {
      la_.archive_entry_set_filetype(ae, AE_IFLNK);
      la_.archive_entry_set_size(ae, 0);
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = ::readlink(e.source.c_str(), target.data(), target.size());
      if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
        throw ArchiveError(errno_message("cannot read symlink '" + e.source.string() + "'", errno));
      }
      target.resize(static_cast<std::size_t>(n));
      la_.archive_entry_copy_symlink(ae, target.c_str());
    }
    if (la_.archive_write_header(a_.get(), ae) < ARCHIVE_WARN)
      fail("writing the header of " + e.name);

    std::uint64_t done = 0;
    if (fd) {
      const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
      while (done < size) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
        ssize_t n = ::read(fd.get(), buf.data(), want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw ArchiveError(errno_message("cannot read '" + e.source.string() + "'", errno));
        if (n == 0) throw changed(e);  // shrank after its header was written
        if (la_.archive_write_data(a_.get(), buf.data(), static_cast<std::size_t>(n)) < 0) {
          fail("writing the data of " + e.name);
        }
        done += static_cast<std::uint64_t>(n);
      }
      char probe;
      if (::read(fd.get(), &probe, 1) > 0) throw changed(e);  // grew: the archive would be stale
    }
    return done;
  }

  void close() {
    if (la_.archive_write_close(a_.get()) != ARCHIVE_OK) fail("finishing the tar stream");
  }

 private:
  ArchiveError changed(const ArchiveEntry& e) const {
    return ArchiveError("'" + e.source.string() +
                        "' changed while it was being archived; make sure no process is still "
                        "writing to it (e.g. a training process that has not exited) and retry");
  }
  [[noreturn]] void fail(const std::string& what) {
    if (sink_->error) std::rethrow_exception(sink_->error);  // the real cause, e.g. disk full
    const char* msg = la_.archive_error_string(a_.get());
    throw ArchiveError("tar writer failed " + what + ": " + (msg ? msg : "unknown libarchive error"));
  }

  const LibArchive& la_;
  ArchivePtr a_;
  TarSink* sink_;
};

}  // namespace

ArchiveStats write_tar_gz(const fs::path& out, const std::vector<ArchiveEntry>& entries,
                          const TarGzOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  TempFile temp(out);
  ArchiveStats stats;
  {
    ParallelGzipWriter gz(temp.fd(), options.threads, options.level, options.block_size);
    TarSink sink{&gz, nullptr};
    ScopedUtf8Locale utf8;  // outlives the writer: libarchive converts names in this thread
    TarWriter tar(&sink);
    // Uninitialised: zero-filling 1 MiB would cost a small archive more than everything else.
    auto buf = std::make_unique_for_overwrite<char[]>(kReadChunk);
    for (const ArchiveEntry& e : entries) {
      stats.input_bytes += tar.add(e, {buf.get(), kReadChunk});
      ++stats.files;
    }
    tar.close();
    gz.finish();
    stats.output_bytes = gz.output_bytes();
  }
  temp.commit(out);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace smplocal::archive
