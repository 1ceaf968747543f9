#pragma once
// FaultProxy: an in-process HTTP/1.1 proxy between the S3 client and a test server that forwards
// requests faithfully (the Host header is kept, so SigV4 still verifies) and injects faults into
// chosen ones: an error status, a connection reset mid-body, a truncated body, a corrupted body, a
// canned reply. It logs every request it receives (method, target, Range header), so tests can
// check which requests a client made.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace smp::s3::testing {

enum class FaultKind {
  kStatus,         // answer `status` with an S3 <Error><Code>code</Code> document, upstream untouched
  kResetMidBody,   // forward, send the headers and half the body, then RST the connection
  kTruncateBody,   // forward, send the headers and half the body, then close cleanly
  kReply,          // answer 200 with `body` (a canned document), upstream untouched
  kCorruptBody,    // forward, then send the whole response with some body bytes flipped (same
                   // length, same headers: only a checksum can tell). Assumes Content-Length
                   // framing, which is what s3rver sends for objects.
};

struct Fault {
  FaultKind kind = FaultKind::kStatus;
  std::string method;         // "" = any
  std::string path_contains;  // matched against the request target (path and query); "" = any
  int times = 1;              // matching requests to affect; -1 = all of them
  int status = 503;
  std::string code = "ServiceUnavailable";
  std::string body;
};

// One request as the proxy received it.
struct ProxiedRequest {
  std::string method;
  std::string target;     // path and query, as sent
  std::string range;      // the Range header's value; "" when the request had none
  bool injected = false;  // a fault was applied to it (answered or altered by the proxy)
};

// "bytes=a-b" → {a, b}; nullopt for anything else (absent, open-ended, several ranges).
struct ByteRange {
  uint64_t first = 0, last = 0;
  bool operator==(const ByteRange&) const = default;
};
std::optional<ByteRange> parse_byte_range(const std::string& range);

class FaultProxy {
 public:
  FaultProxy(std::string upstream_host, int upstream_port);
  explicit FaultProxy(const std::string& upstream_endpoint);  // "http://127.0.0.1:P"
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  // range: when not empty, the fault applies only to requests whose Range header is exactly this
  // ("bytes=1048576-2097151"), e.g. to corrupt one part of a ranged download.
  void add(Fault fault, std::string range = {});
  void clear();  // the faults; the log stays
  std::vector<ProxiedRequest> log() const;
  void clear_log();
  int injected() const { return injected_; }
  int requests() const { return requests_; }

 private:
  void accept_loop();
  void serve(int client);
  bool take_fault(const std::string& method, const std::string& target, const std::string& range,
                  Fault* out);
  struct Rule {
    Fault fault;
    std::string range;
  };

  std::string upstream_host_;
  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> injected_{0}, requests_{0};
  std::mutex mutex_;
  std::vector<Rule> faults_;
  mutable std::mutex log_mutex_;
  std::vector<ProxiedRequest> log_;
  std::vector<int> clients_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace smp::s3::testing
