#pragma once
// HttpConnection: one libcurl easy handle (one kept-alive connection) that performs one HTTP/1.1
// request at a time, streaming bodies from a BodySource and into a BodySink.

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace smp::s3 {

// Where an upload body comes from; rewound before each retry.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual uint64_t size() const = 0;
  virtual size_t read(char* dst, size_t n) = 0;  // sequential; 0 at the end
  virtual void rewind() = 0;
};

// Where a successful (2xx) response body goes; reset before each retry.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(const char* data, size_t n) = 0;  // may throw (disk full): not retried
  virtual void reset() = 0;
};

class StringBody final : public BodySource {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  size_t read(char* dst, size_t n) override;
  void rewind() override { pos_ = 0; }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// `length` bytes of an open file from `offset`, read with pread (many parts share one fd).
class FileRangeBody final : public BodySource {
 public:
  FileRangeBody(int fd, uint64_t offset, uint64_t length, std::string path_for_errors)
      : fd_(fd), offset_(offset), length_(length), path_(std::move(path_for_errors)) {}
  uint64_t size() const override { return length_; }
  size_t read(char* dst, size_t n) override;
  void rewind() override { pos_ = 0; }

 private:
  int fd_;
  uint64_t offset_, length_, pos_ = 0;
  std::string path_;
};

class StringSink final : public BodySink {
 public:
  explicit StringSink(uint64_t limit) : limit_(limit) {}
  void write(const char* data, size_t n) override;
  void reset() override { data_.clear(); }
  std::string& data() { return data_; }

 private:
  std::string data_;
  uint64_t limit_;
};

struct HttpRequest {
  std::string method;                // GET HEAD PUT POST DELETE
  std::string url;                   // fully encoded
  std::vector<std::string> headers;  // "Name: value"
  BodySource* body = nullptr;
  BodySink* sink = nullptr;  // 2xx body goes here; other bodies land in HttpResponse::body
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // when no sink took it (error documents)
  uint64_t body_bytes = 0;                     // bytes handed to the sink
  std::string header(const std::string& lower_name) const;
};

// A failure below HTTP: refused, reset, timed out, truncated. `curl_code` is a CURLcode.
class TransportError : public std::runtime_error {
 public:
  TransportError(std::string message, int curl_code, bool retryable)
      : std::runtime_error(std::move(message)), curl_code_(curl_code), retryable_(retryable) {}
  int curl_code() const { return curl_code_; }
  bool retryable() const { return retryable_; }

 private:
  int curl_code_;
  bool retryable_;
};

struct HttpOptions {
  long connect_timeout_ms = 10000;
  long stall_timeout_s = 60;
  std::string ca_bundle;
};

class HttpConnection {
 public:
  explicit HttpConnection(HttpOptions options);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Throws TransportError; an exception thrown by the sink or source is rethrown as is.
  HttpResponse perform(const HttpRequest& request);

 private:
  void* curl_;  // CURL*
  HttpOptions options_;
};

}  // namespace smp::s3
