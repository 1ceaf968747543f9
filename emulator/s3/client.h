#pragma once
// Client: the S3 operations smp-local needs (list, head, get, put, multipart, delete), signed
// with SigV4, retried with backoff, over a pool of kept-alive libcurl connections. Thread-safe:
// any number of threads may call it at once; each request borrows one pooled connection.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/s3/config.h"
#include "emulator/s3/http.h"
#include "emulator/s3/object_info.h"
#include "emulator/s3/sigv4.h"
#include "emulator/s3/transfer_options.h"

namespace smp::s3 {

// One S3 API call before signing; `op` names it in messages ("GetObject").
struct S3Request {
  std::string op;
  std::string method;
  std::string bucket;
  std::string key;  // empty for bucket-level calls
  NameValues query;
  NameValues headers;  // extra headers to send and sign (range, content-md5, content-type)
  std::string payload_hash = std::string(kEmptySha256);
  BodySource* body = nullptr;
  BodySink* sink = nullptr;
  bool error_in_200 = false;  // CompleteMultipartUpload may report an error inside a 200
  bool not_found_ok = false;  // return 404 responses instead of throwing (HEAD)
  int64_t expected_bytes = -1;  // a 2xx body of another length is a truncation (retried)
};

class Client {
 public:
  explicit Client(ClientConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientConfig& config() const { return config_; }

  // Signs, sends and retries one request; throws S3Error with an actionable message.
  HttpResponse execute(const S3Request& request);

  ListPage list_objects_page(const std::string& bucket, const std::string& prefix,
                             const std::string& continuation_token = {},
                             const std::string& delimiter = {}, int max_keys = 1000);
  // Every object under the prefix, all pages, in the server's (UTF-8 binary) key order.
  std::vector<ObjectInfo> list_objects(const std::string& bucket, const std::string& prefix);
  std::optional<ObjectInfo> head_object(const std::string& bucket, const std::string& key);

  // A whole object in memory (manifests, small configs); refuses objects above max_bytes.
  std::string get_object(const std::string& bucket, const std::string& key,
                         uint64_t max_bytes = 256ull << 20);
  // GET into `sink`. With a range, sends `Range` (and If-Match when if_match is set, so parts of
  // one download cannot mix two versions); with expected_bytes >= 0, a body of another length
  // counts as a truncation and is retried.
  struct GetOptions {
    bool ranged = false;
    uint64_t offset = 0;
    uint64_t length = 0;
    int64_t expected_bytes = -1;
    std::string if_match;
  };
  HttpResponse get_object_to(const std::string& bucket, const std::string& key, BodySink& sink,
                             const GetOptions& options);
  // Bytes [offset, offset+length) into `sink`; checks that exactly `length` bytes arrived.
  void get_object_range(const std::string& bucket, const std::string& key, uint64_t offset,
                        uint64_t length, BodySink& sink);
  // One object to a local file: parallel ranged GETs for large objects, a temp name in the
  // destination directory, size (and MD5) verified, then renamed. Defined in transfer.cpp.
  ObjectInfo download_file(const std::string& bucket, const std::string& key,
                           const std::filesystem::path& destination,
                           const TransferOptions& options = {});

  // Returns the new object's ETag.
  std::string put_object(const std::string& bucket, const std::string& key, std::string body,
                         const std::string& content_type = {});
  std::string put_object(const std::string& bucket, const std::string& key, BodySource& body,
                         const std::string& content_md5_base64 = {});
  // A local file to S3, as one PUT or as a parallel multipart upload above the threshold
  // (aborted on failure). Returns the ETag. Defined in transfer.cpp.
  std::string put_file(const std::string& bucket, const std::string& key,
                       const std::filesystem::path& source, const TransferOptions& options = {});

  std::string create_multipart_upload(const std::string& bucket, const std::string& key);
  std::string upload_part(const std::string& bucket, const std::string& key,
                          const std::string& upload_id, int part_number, BodySource& body,
                          const std::string& content_md5_base64 = {});
  std::string complete_multipart_upload(const std::string& bucket, const std::string& key,
                                        const std::string& upload_id,
                                        const std::vector<CompletedPart>& parts);
  void abort_multipart_upload(const std::string& bucket, const std::string& key,
                              const std::string& upload_id) noexcept;

  void delete_object(const std::string& bucket, const std::string& key);
  // DeleteObjects in batches of 1000; throws naming the first key that could not be deleted.
  void delete_objects(const std::string& bucket, const std::vector<std::string>& keys);
  // For tests, seeding and benchmarks; an existing bucket you own is not an error.
  void create_bucket(const std::string& bucket);

  // The URL a request goes to, and its decoded path (what SigV4 signs).
  std::string url_for(const std::string& bucket, const std::string& key, const NameValues& query,
                      std::string* decoded_path = nullptr, std::string* host = nullptr) const;

 private:
  class Lease;
  std::unique_ptr<HttpConnection> acquire();
  void release(std::unique_ptr<HttpConnection> connection);
  [[noreturn]] void fail(const S3Request& request, const HttpResponse& response, int attempts,
                         bool retryable);

  ClientConfig config_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<HttpConnection>> idle_;
};

}  // namespace smp::s3
