#pragma once
// FaultProxy: an in-process HTTP/1.1 proxy between the S3 client and a test server that forwards
// requests faithfully (the Host header is kept, so SigV4 still verifies) and injects faults into
// chosen ones: an error status, a connection reset mid-body, a truncated body, a canned reply.

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace smp::s3::testing {

enum class FaultKind {
  kStatus,         // answer `status` with an S3 <Error><Code>code</Code> document, upstream untouched
  kResetMidBody,   // forward, send the headers and half the body, then RST the connection
  kTruncateBody,   // forward, send the headers and half the body, then close cleanly
  kReply,          // answer 200 with `body` (a canned document), upstream untouched
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

class FaultProxy {
 public:
  FaultProxy(std::string upstream_host, int upstream_port);
  explicit FaultProxy(const std::string& upstream_endpoint);  // "http://127.0.0.1:P"
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  void add(Fault fault);
  void clear();
  int injected() const { return injected_; }
  int requests() const { return requests_; }

 private:
  void accept_loop();
  void serve(int client);
  bool take_fault(const std::string& method, const std::string& target, Fault* out);

  std::string upstream_host_;
  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> injected_{0}, requests_{0};
  std::mutex mutex_;
  std::vector<Fault> faults_;
  std::vector<int> clients_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace smp::s3::testing
