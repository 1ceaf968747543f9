#pragma once
// TransferOptions and TransferProgress: the knobs and the running counts of a batch transfer.

#include <cstdint>
#include <functional>

namespace smp::s3 {

struct TransferProgress {
  uint64_t objects_done = 0;
  uint64_t objects_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  double elapsed_s = 0;
  bool finished = false;  // the last report of the batch
};

// Called from one progress thread (never concurrently) about 5 times a second and once at the end.
using ProgressCallback = std::function<void(const TransferProgress&)>;

struct TransferOptions {
  // Requests in flight at once. s3rver (Node) and real S3 both reward parallel requests; 8 beat
  // awscli's 10 on the 2-core test machine (see tests/perf/bench_s3.cpp).
  int concurrency = 8;
  uint64_t part_size = 8ull << 20;             // ranged-GET and multipart part size
  uint64_t multipart_threshold = 16ull << 20;  // larger objects/files go in parts
  bool verify_md5 = true;    // downloads: check the body against a single-part (MD5) ETag
  bool send_md5 = false;     // uploads: send Content-MD5 so the server checks each body
  bool rollback_on_failure = true;  // a failed download batch removes the files it completed
  ProgressCallback progress;
};

}  // namespace smp::s3
