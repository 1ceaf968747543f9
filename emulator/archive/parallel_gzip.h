#pragma once
// ParallelGzipWriter: compresses a byte stream into ONE standard gzip member on several threads,
// the way pigz does, and writes it to a file descriptor in order.
//
// Why one member (not concatenated members): every gzip reader, GNU tar and Python's tarfile
// included, reads it, and its CRC/ISIZE trailer covers the whole stream. How: the input is cut
// into fixed-size blocks; each block is raw-deflated independently, primed with the previous
// block's last 32 KiB as dictionary (so the ratio stays close to a serial deflate), and ended
// with Z_SYNC_FLUSH (byte-aligned, not final) except the last, which ends with Z_FINISH. Block
// CRC32s are joined with crc32_combine. Reading (the caller), compressing (N workers) and writing
// (one writer thread) overlap; a fixed pool of block buffers bounds memory whatever the input size.
// With one thread the caller compresses and writes each block itself: the same bytes, no threads.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <zlib.h>

namespace smplocal::archive {

// Parallel gzip compressor writing to a caller-owned file descriptor. Single producer: write()
// and finish() are called from one thread. Not copyable.
class ParallelGzipWriter {
 public:
  // threads: compression workers (0 = all cores); level: zlib 1..9 (or -1 = 6);
  // block_size: uncompressed bytes per independently compressed block (>= 32 KiB advised).
  ParallelGzipWriter(int fd, unsigned threads, int level, std::size_t block_size);
  ~ParallelGzipWriter();  // without finish(): stops the threads; the output is incomplete
  ParallelGzipWriter(const ParallelGzipWriter&) = delete;
  ParallelGzipWriter& operator=(const ParallelGzipWriter&) = delete;

  // Appends bytes to the stream. Blocks while all buffers are in flight (back-pressure).
  // Throws ArchiveError when a worker or the writer failed (e.g. disk full).
  void write(const void* data, std::size_t size);
  // Compresses the rest, writes the gzip trailer and joins the threads. Throws like write().
  void finish();

  std::uint64_t input_bytes() const { return input_bytes_; }
  std::uint64_t output_bytes() const { return output_bytes_; }

 private:
  struct Block;
  Block* acquire_block();          // producer: a free buffer, waiting if none
  void submit(bool last);          // producer: hand the current block to the workers
  void worker_loop();              // compress blocks in any order
  static void compress_block(z_stream& z, Block& b);  // raw deflate of one block, and its CRC
  void emit_block(const Block& b);  // header before the first, the block, trailer after the last
  void writer_loop();              // write compressed blocks in sequence order
  void fail(std::exception_ptr e);  // first error wins; wakes everyone
  void stop_threads();

  const int fd_;
  const int level_;
  const std::size_t block_size_;

  std::vector<std::unique_ptr<Block>> blocks_;  // the whole pool, owned here
  std::vector<Block*> free_;                    // buffers ready for the producer
  std::deque<Block*> todo_;                     // filled, waiting for a worker
  std::map<std::uint64_t, Block*> done_;        // compressed, waiting for the writer
  std::mutex mu_;
  std::condition_variable cv_free_, cv_todo_, cv_done_;
  bool stopping_ = false;
  std::exception_ptr error_;

  Block* current_ = nullptr;          // the block the producer is filling
  std::vector<unsigned char> tail_;   // last 32 KiB of input so far: the next block's dictionary
  std::uint64_t next_seq_ = 0;        // producer's next sequence number
  std::uint64_t input_bytes_ = 0;
  std::uint64_t output_bytes_ = 0;    // written by the writer thread; read after join
  bool finished_ = false;

  // The writer's running totals (the writer thread's, or the caller's when inline).
  std::uint64_t written_ = 0;
  std::uint32_t crc_ = 0;
  std::uint64_t total_ = 0;

  bool inline_ = false;  // one thread: no worker or writer threads, the caller does both
  z_stream z_{};         // the inline compressor
  bool z_ready_ = false;

  std::vector<std::thread> workers_;
  std::thread writer_;
};

}  // namespace smplocal::archive
