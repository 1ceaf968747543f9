#include "emulator/s3/client.h"

#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include "emulator/s3/crypto.h"
#include "emulator/s3/failure.h"
#include "emulator/s3/uri.h"
#include "emulator/s3/xml.h"

namespace smp::s3 {

// Borrows one pooled connection for one request and always gives it back: curl reconnects by
// itself when the previous request left the connection broken.
class Client::Lease {
 public:
  explicit Lease(Client& client) : client_(client), connection_(client.acquire()) {}
  ~Lease() { client_.release(std::move(connection_)); }
  HttpConnection* operator->() { return connection_.get(); }

 private:
  Client& client_;
  std::unique_ptr<HttpConnection> connection_;
};

Client::Client(ClientConfig config) : config_(std::move(config)) {}
Client::~Client() = default;

std::unique_ptr<HttpConnection> Client::acquire() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return std::make_unique<HttpConnection>(
      HttpOptions{config_.connect_timeout_ms, config_.stall_timeout_s, config_.ca_bundle});
}

void Client::release(std::unique_ptr<HttpConnection> connection) {
  std::lock_guard lock(pool_mutex_);
  idle_.push_back(std::move(connection));
}

std::string Client::url_for(const std::string& bucket, const std::string& key,
                            const NameValues& query, std::string* decoded_path,
                            std::string* host) const {
  const Endpoint& ep = config_.endpoint;
  std::string h = ep.host_header();
  std::string path = ep.base_path + "/";
  if (!bucket.empty()) {
    if (config_.virtual_hosted(bucket)) {
      h = bucket + "." + h;
      path += key;
    } else {
      path += bucket;
      if (!key.empty()) path += "/" + key;
    }
  }
  std::string url = ep.scheme + "://" + h + canonical_uri(path, PathEncoding::kSingle);
  const std::string q = canonical_query(query);
  if (!q.empty()) url += "?" + q;
  if (decoded_path) *decoded_path = path;
  if (host) *host = h;
  return url;
}

void Client::fail(const S3Request& request, const HttpResponse& response, int attempts,
                  bool retryable) {
  throw http_failure(config_, {request.op, request.bucket, request.key, attempts}, response,
                     retryable);
}

HttpResponse Client::execute(const S3Request& req) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string decoded_path, host;
  const std::string url = url_for(req.bucket, req.key, req.query, &decoded_path, &host);
  const Credentials& creds = config_.credentials;
  const int max_attempts = std::max(1, config_.retry.max_attempts);

  for (int attempt = 1;; ++attempt) {
    NameValues headers = req.headers;
    const std::string date = amz_date(std::time(nullptr));
    headers.emplace_back("host", host);
    headers.emplace_back("x-amz-date", date);
    headers.emplace_back("x-amz-content-sha256", req.payload_hash);
    if (!creds.session_token.empty()) headers.emplace_back("x-amz-security-token", creds.session_token);
    const SigningResult signature =
        sign_v4({req.method, decoded_path, req.query, headers, req.payload_hash},
                {date, config_.region, "s3"}, creds.access_key_id, creds.secret_access_key);

    HttpRequest http{req.method, url, {}, req.body, req.sink};
    http.headers.reserve(headers.size() + 1);
    for (const auto& [name, value] : headers) http.headers.push_back(name + ": " + value);
    http.headers.push_back("Authorization: " + signature.authorization);

    try {
      HttpResponse response;
      {
        Lease connection(*this);
        response = connection->perform(http);
      }
      bool retryable = false;
      if (response.status >= 200 && response.status < 300) {
        std::optional<xml::ErrorDoc> hidden;
        if (req.error_in_200) hidden = xml::parse_error(response.body);
        if (!hidden) {
          if (req.expected_bytes >= 0 && req.method == "GET" &&
              response.body_bytes != static_cast<uint64_t>(req.expected_bytes))
            throw TransportError("the body had " + std::to_string(response.body_bytes) +
                                     " bytes instead of " + std::to_string(req.expected_bytes),
                                 18 /* CURLE_PARTIAL_FILE */, true);
          return response;
        }
        retryable = hidden->code.empty() || retryable_http(500, hidden->code);
        response.status = 500;  // report it as the server error it is
        if (!retryable || attempt >= max_attempts) fail(req, response, attempt, retryable);
      } else {
        if (response.status == 404 && req.not_found_ok) return response;
        const auto doc = xml::parse_error(response.body);
        retryable = retryable_http(static_cast<int>(response.status), doc ? doc->code : "");
        if (!retryable || attempt >= max_attempts) fail(req, response, attempt, retryable);
      }
    } catch (const TransportError& e) {
      if (!e.retryable() || attempt >= max_attempts)
        throw transport_failure(config_, {req.op, req.bucket, req.key, attempt}, e);
    }
    std::this_thread::sleep_for(config_.retry.delay(attempt, rng));
  }
}

ListPage Client::list_objects_page(const std::string& bucket, const std::string& prefix,
                                   const std::string& continuation_token,
                                   const std::string& delimiter, int max_keys) {
  S3Request r;
  r.op = "ListObjectsV2";
  r.method = "GET";
  r.bucket = bucket;
  r.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)},
             {"encoding-type", "url"}};
  if (!continuation_token.empty()) r.query.emplace_back("continuation-token", continuation_token);
  if (!delimiter.empty()) r.query.emplace_back("delimiter", delimiter);
  HttpResponse response = execute(r);
  return xml::parse_list_objects_v2(response.body);
}

std::vector<ObjectInfo> Client::list_objects(const std::string& bucket, const std::string& prefix) {
  std::vector<ObjectInfo> all;
  std::string token;
  for (;;) {
    ListPage page = list_objects_page(bucket, prefix, token);
    for (auto& o : page.objects) all.push_back(std::move(o));
    if (!page.truncated) break;
    if (page.next_token.empty() || page.next_token == token)
      throw S3Error("S3 ListObjectsV2 " + S3Uri{bucket, prefix}.str() + " at " +
                        config_.endpoint.url() +
                        " said the listing is truncated but gave no new continuation token; the "
                        "server does not implement ListObjectsV2 pagination",
                    0, "MalformedResponse", config_.endpoint.url(), bucket, prefix);
    token = page.next_token;
  }
  return all;
}

std::optional<ObjectInfo> Client::head_object(const std::string& bucket, const std::string& key) {
  S3Request r;
  r.op = "HeadObject";
  r.method = "HEAD";
  r.bucket = bucket;
  r.key = key;
  r.not_found_ok = true;
  HttpResponse response = execute(r);
  if (response.status == 404) return std::nullopt;
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoull(response.header("content-length").c_str(), nullptr, 10);
  info.etag = unquote_etag(response.header("etag"));
  info.last_modified = response.header("last-modified");
  return info;
}

std::string Client::get_object(const std::string& bucket, const std::string& key, uint64_t max_bytes) {
  StringSink sink(max_bytes);
  S3Request r;
  r.op = "GetObject";
  r.method = "GET";
  r.bucket = bucket;
  r.key = key;
  r.sink = &sink;
  execute(r);
  return std::move(sink.data());
}

HttpResponse Client::get_object_to(const std::string& bucket, const std::string& key,
                                   BodySink& sink, const GetOptions& options) {
  S3Request r;
  r.op = "GetObject";
  r.method = "GET";
  r.bucket = bucket;
  r.key = key;
  r.sink = &sink;
  r.expected_bytes = options.expected_bytes;
  if (options.ranged && options.length > 0)
    r.headers.emplace_back("range", "bytes=" + std::to_string(options.offset) + "-" +
                                        std::to_string(options.offset + options.length - 1));
  if (!options.if_match.empty()) r.headers.emplace_back("if-match", "\"" + options.if_match + "\"");
  return execute(r);
}

void Client::get_object_range(const std::string& bucket, const std::string& key, uint64_t offset,
                              uint64_t length, BodySink& sink) {
  get_object_to(bucket, key, sink, {true, offset, length, static_cast<int64_t>(length), {}});
}

std::string Client::put_object(const std::string& bucket, const std::string& key, std::string body,
                               const std::string& content_type) {
  S3Request r;
  r.op = "PutObject";
  r.method = "PUT";
  r.bucket = bucket;
  r.key = key;
  r.payload_hash = sha256_hex(body);
  if (!content_type.empty()) r.headers.emplace_back("content-type", content_type);
  StringBody source(std::move(body));
  r.body = &source;
  return unquote_etag(execute(r).header("etag"));
}

std::string Client::put_object(const std::string& bucket, const std::string& key, BodySource& body,
                               const std::string& content_md5_base64) {
  S3Request r;
  r.op = "PutObject";
  r.method = "PUT";
  r.bucket = bucket;
  r.key = key;
  r.payload_hash = std::string(kUnsignedPayload);
  if (!content_md5_base64.empty()) r.headers.emplace_back("content-md5", content_md5_base64);
  r.body = &body;
  return unquote_etag(execute(r).header("etag"));
}

std::string Client::create_multipart_upload(const std::string& bucket, const std::string& key) {
  S3Request r;
  r.op = "CreateMultipartUpload";
  r.method = "POST";
  r.bucket = bucket;
  r.key = key;
  r.query = {{"uploads", ""}};
  r.headers.emplace_back("content-type", "application/octet-stream");
  return xml::parse_upload_id(execute(r).body);
}

std::string Client::upload_part(const std::string& bucket, const std::string& key,
                                const std::string& upload_id, int part_number, BodySource& body,
                                const std::string& content_md5_base64) {
  S3Request r;
  r.op = "UploadPart";
  r.method = "PUT";
  r.bucket = bucket;
  r.key = key;
  r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  r.payload_hash = std::string(kUnsignedPayload);
  if (!content_md5_base64.empty()) r.headers.emplace_back("content-md5", content_md5_base64);
  r.body = &body;
  std::string etag = unquote_etag(execute(r).header("etag"));
  if (etag.empty())
    throw S3Error("S3 UploadPart " + S3Uri{bucket, key}.str() + " part " +
                      std::to_string(part_number) + " at " + config_.endpoint.url() +
                      " returned no ETag; the server's multipart support is broken",
                  0, "MalformedResponse", config_.endpoint.url(), bucket, key);
  return etag;
}

std::string Client::complete_multipart_upload(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id,
                                              const std::vector<CompletedPart>& parts) {
  S3Request r;
  r.op = "CompleteMultipartUpload";
  r.method = "POST";
  r.bucket = bucket;
  r.key = key;
  r.query = {{"uploadId", upload_id}};
  std::string body = xml::complete_multipart_body(parts);
  r.payload_hash = sha256_hex(body);
  r.headers.emplace_back("content-type", "application/xml");
  StringBody source(std::move(body));
  r.body = &source;
  r.error_in_200 = true;
  return xml::parse_complete_etag(execute(r).body);
}

void Client::abort_multipart_upload(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id) noexcept {
  try {
    S3Request r;
    r.op = "AbortMultipartUpload";
    r.method = "DELETE";
    r.bucket = bucket;
    r.key = key;
    r.query = {{"uploadId", upload_id}};
    r.not_found_ok = true;
    execute(r);
  } catch (...) {
    // Best effort: the original failure is what the caller reports.
  }
}

void Client::delete_object(const std::string& bucket, const std::string& key) {
  S3Request r;
  r.op = "DeleteObject";
  r.method = "DELETE";
  r.bucket = bucket;
  r.key = key;
  r.not_found_ok = true;
  execute(r);
}

void Client::delete_objects(const std::string& bucket, const std::vector<std::string>& keys) {
  for (size_t begin = 0; begin < keys.size(); begin += 1000) {
    const std::vector<std::string> batch(keys.begin() + static_cast<long>(begin),
                                         keys.begin() + static_cast<long>(std::min(keys.size(), begin + 1000)));
    S3Request r;
    r.op = "DeleteObjects";
    r.method = "POST";
    r.bucket = bucket;
    r.query = {{"delete", ""}};
    std::string body = xml::delete_objects_body(batch);
    r.payload_hash = sha256_hex(body);
    Hasher md5(Hasher::Kind::kMd5);
    md5.update(body);
    r.headers.emplace_back("content-md5", to_base64(md5.digest()));
    r.headers.emplace_back("content-type", "application/xml");
    StringBody source(std::move(body));
    r.body = &source;
    const auto failures = xml::parse_delete_result(execute(r).body);
    if (!failures.empty()) {
      const auto& f = failures.front();
      throw S3Error("S3 DeleteObjects could not delete " + S3Uri{bucket, f.key}.str() + " at " +
                        config_.endpoint.url() + ": " + f.code + " (" + f.message + ")" +
                        (failures.size() > 1 ? " and " + std::to_string(failures.size() - 1) +
                                                   " more keys"
                                             : std::string()),
                    0, f.code, config_.endpoint.url(), bucket, f.key);
    }
  }
}

void Client::create_bucket(const std::string& bucket) {
  S3Request r;
  r.op = "CreateBucket";
  r.method = "PUT";
  r.bucket = bucket;
  std::string body;
  if (config_.region != "us-east-1")
    body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
           "<LocationConstraint>" + config_.region + "</LocationConstraint></CreateBucketConfiguration>";
  r.payload_hash = sha256_hex(body);
  StringBody source(std::move(body));
  r.body = &source;
  try {
    execute(r);
  } catch (const S3Error& e) {
    if (e.code() != "BucketAlreadyOwnedByYou" && e.code() != "BucketAlreadyExists") throw;
    list_objects_page(bucket, "", "", "", 1);  // ours if we can list it
  }
}

}  // namespace smp::s3
