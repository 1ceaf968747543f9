#include "emulator/archive/parallel_gzip.h"

#include <sched.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "emulator/archive/archive_error.h"

namespace smplocal::archive {
namespace {

constexpr std::size_t kWindow = 32 * 1024;  // deflate's window: the most a dictionary can help

// Writes all of buf or throws; retries short writes and EINTR.
void write_all(int fd, const unsigned char* buf, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, buf, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ArchiveError(errno_message("writing the compressed archive", errno));
    }
    buf += n;
    size -= static_cast<std::size_t>(n);
  }
}

void put_le32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

// The cores this process may run on (honours taskset/cgroup cpusets, unlike hardware_concurrency).
unsigned available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

}  // namespace

// One unit of parallel work: dictionary + input in, raw deflate bytes out.
struct ParallelGzipWriter::Block {
  std::uint64_t seq = 0;
  bool last = false;
  // [dictionary (dict_len bytes)][data (len bytes)]; left uninitialised, so a small archive only
  // pays page faults for the bytes it uses.
  std::unique_ptr<unsigned char[]> in;
  std::size_t dict_len = 0;
  std::size_t len = 0;
  std::vector<unsigned char> out;
  std::size_t out_len = 0;
  std::uint32_t crc = 0;  // CRC32 of the data part only
};

ParallelGzipWriter::ParallelGzipWriter(int fd, unsigned threads, int level,
                                       std::size_t block_size)
    : fd_(fd), level_(level), block_size_(block_size) {
  if (level < -1 || level > 9) {
    throw ArchiveError("gzip level " + std::to_string(level) +
                       " is out of range: use 1 (fastest) .. 9 (smallest), or 6 (the default)");
  }
  if (block_size < 1024 || block_size > (256u << 20)) {
    throw ArchiveError("gzip block size " + std::to_string(block_size) +
                       " is out of range: use 1 KiB .. 256 MiB (128 KiB is a good default)");
  }
  if (threads == 0) threads = available_cores();
  // One thread: the caller compresses and writes each block itself (same bytes). Handing blocks
  // to a worker and a writer thread would only add wake-ups, which cost most for small archives.
  inline_ = threads == 1;
  // Two blocks per worker keep every worker busy while the writer drains; +2 for the block being
  // filled and the one being written. This pool is the whole memory bound.
  const std::size_t pool = inline_ ? 1 : 2 * static_cast<std::size_t>(threads) + 2;
  for (std::size_t i = 0; i < pool; ++i) {
    auto b = std::make_unique<Block>();
    b->in = std::make_unique_for_overwrite<unsigned char[]>(kWindow + block_size_);
    free_.push_back(b.get());
    blocks_.push_back(std::move(b));
  }
  tail_.reserve(kWindow);
  if (inline_) {
    if (deflateInit2(&z_, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw ArchiveError("zlib could not start a compressor (out of memory?)");
    z_ready_ = true;
    return;
  }
  // Threads start last: everything they touch exists by now.
  try {
    writer_ = std::thread([this] { writer_loop(); });
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (...) {
    stop_threads();
    throw;
  }
}

ParallelGzipWriter::~ParallelGzipWriter() {
  stop_threads();
  if (z_ready_) deflateEnd(&z_);
}

void ParallelGzipWriter::stop_threads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_free_.notify_all();
  cv_todo_.notify_all();
  cv_done_.notify_all();
  if (writer_.joinable()) writer_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void ParallelGzipWriter::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = e;
    stopping_ = true;
  }
  cv_free_.notify_all();
  cv_todo_.notify_all();
  cv_done_.notify_all();
}

ParallelGzipWriter::Block* ParallelGzipWriter::acquire_block() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_free_.wait(lock, [this] { return !free_.empty() || stopping_; });
  if (error_) std::rethrow_exception(error_);
  if (stopping_) throw ArchiveError("gzip stream already closed");
  Block* b = free_.back();
  free_.pop_back();
  lock.unlock();
  b->dict_len = tail_.size();
  std::memcpy(b->in.get(), tail_.data(), tail_.size());
  b->len = 0;
  return b;
}

void ParallelGzipWriter::write(const void* data, std::size_t size) {
  if (finished_) throw ArchiveError("gzip stream already finished");
  const auto* p = static_cast<const unsigned char*>(data);
  input_bytes_ += size;
  while (size > 0) {
    if (current_ == nullptr) current_ = acquire_block();
    std::size_t n = std::min(size, block_size_ - current_->len);
    std::memcpy(current_->in.get() + current_->dict_len + current_->len, p, n);
    current_->len += n;
    p += n;
    size -= n;
    if (current_->len == block_size_) submit(false);
  }
}

void ParallelGzipWriter::submit(bool last) {
  Block* b = current_;
  current_ = nullptr;
  b->seq = next_seq_++;
  b->last = last;
  // The next block's dictionary: the last 32 KiB of everything so far (blocks may be < 32 KiB).
  const unsigned char* data = b->in.get() + b->dict_len;
  if (b->len >= kWindow) {
    tail_.assign(data + b->len - kWindow, data + b->len);
  } else {
    tail_.insert(tail_.end(), data, data + b->len);
    if (tail_.size() > kWindow) tail_.erase(tail_.begin(), tail_.end() - kWindow);
  }
  if (inline_) {
    compress_block(z_, *b);
    emit_block(*b);
    free_.push_back(b);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    todo_.push_back(b);
  }
  cv_todo_.notify_one();
}

void ParallelGzipWriter::finish() {
  if (finished_) return;
  if (current_ == nullptr) current_ = acquire_block();  // an empty final block ends the stream
  submit(true);
  if (inline_) {
    finished_ = true;
    return;
  }
  writer_.join();  // returns after the trailer, or on failure
  stop_threads();
  finished_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (error_) std::rethrow_exception(error_);
}

void ParallelGzipWriter::compress_block(z_stream& z, Block& b) {
  deflateReset(&z);
  if (b.dict_len > 0) deflateSetDictionary(&z, b.in.get(), static_cast<uInt>(b.dict_len));
  unsigned char* data = b.in.get() + b.dict_len;
  z.next_in = data;
  z.avail_in = static_cast<uInt>(b.len);
  const int flush = b.last ? Z_FINISH : Z_SYNC_FLUSH;
  // deflateBound covers Z_FINISH; a sync flush adds an empty stored block (<= 6 bytes).
  std::size_t want = deflateBound(&z, static_cast<uLong>(b.len)) + 16;
  if (b.out.size() < want) b.out.resize(want);
  b.out_len = 0;
  for (;;) {
    z.next_out = b.out.data() + b.out_len;
    z.avail_out = static_cast<uInt>(b.out.size() - b.out_len);
    int rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) throw ArchiveError("zlib deflate failed (internal error)");
    b.out_len = b.out.size() - z.avail_out;
    if (z.avail_out != 0) break;  // all input consumed and flushed
    b.out.resize(b.out.size() * 2);
  }
  b.crc = static_cast<std::uint32_t>(crc32(0L, data, static_cast<uInt>(b.len)));
}

// Only the writer (the writer thread, or the caller inline) touches the stream's byte counts.
void ParallelGzipWriter::emit_block(const Block& b) {
  if (b.seq == 0) {
    // gzip header (RFC 1952): no name, mtime 0 so equal inputs give equal bytes; OS = Unix.
    const unsigned char xfl = level_ == 9 ? 2 : (level_ == 1 ? 4 : 0);
    const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3};
    write_all(fd_, header, sizeof header);
    written_ = sizeof header;
  }
  write_all(fd_, b.out.data(), b.out_len);
  written_ += b.out_len;
  crc_ = static_cast<std::uint32_t>(crc32_combine(crc_, b.crc, static_cast<z_off_t>(b.len)));
  total_ += b.len;
  if (b.last) {
    unsigned char trailer[8];
    put_le32(trailer, crc_);
    put_le32(trailer + 4, static_cast<std::uint32_t>(total_));  // ISIZE is modulo 2^32
    write_all(fd_, trailer, sizeof trailer);
    output_bytes_ = written_ + sizeof trailer;
  }
}

void ParallelGzipWriter::worker_loop() {
  z_stream z{};
  // Raw deflate (negative window bits): the gzip framing is ours, once for the whole stream.
  if (deflateInit2(&z, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fail(std::make_exception_ptr(ArchiveError("zlib could not start a compressor (out of memory?)")));
    return;
  }
  try {
    for (;;) {
      Block* b;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_todo_.wait(lock, [this] { return !todo_.empty() || stopping_; });
        if (stopping_) break;
        b = todo_.front();
        todo_.pop_front();
      }
      compress_block(z, *b);
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_[b->seq] = b;
      }
      cv_done_.notify_one();
    }
  } catch (...) {
    fail(std::current_exception());
  }
  deflateEnd(&z);
}

void ParallelGzipWriter::writer_loop() {
  try {
    for (std::uint64_t seq = 0;; ++seq) {
      Block* b;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_done_.wait(lock, [&] { return done_.count(seq) != 0 || stopping_; });
        if (done_.count(seq) == 0) return;  // stopping
        b = done_[seq];
        done_.erase(seq);
      }
      emit_block(*b);
      const bool last = b->last;
      {
        std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(b);
      }
      cv_free_.notify_one();
      if (last) return;
    }
  } catch (...) {
    fail(std::current_exception());
  }
}

}  // namespace smplocal::archive
