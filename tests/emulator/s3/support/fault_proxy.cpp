#include "tests/emulator/s3/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace smp::s3::testing {

namespace {

bool send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool send_all(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }

// Reads one request (head + Content-Length body) from a kept-alive client connection.
bool read_request(int fd, std::string& pending, std::string& head, std::string& body) {
  size_t end;
  while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<size_t>(n));
  }
  head = pending.substr(0, end + 4);
  pending.erase(0, end + 4);
  size_t length = 0;
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (size_t p = lower.find("\r\ncontent-length:"); p != std::string::npos)
    length = std::strtoull(lower.c_str() + p + 17, nullptr, 10);
  while (pending.size() < length) {
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<size_t>(n));
  }
  body = pending.substr(0, length);
  pending.erase(0, length);
  return true;
}

int connect_to(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The value of header `name` (lower case) in a request head; "" when absent.
std::string header_value(const std::string& head, const std::string& name) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const std::string key = "\r\n" + name + ":";
  const size_t p = lower.find(key);
  if (p == std::string::npos) return "";
  size_t begin = p + key.size();
  const size_t end = head.find("\r\n", begin);
  while (begin < end && (head[begin] == ' ' || head[begin] == '\t')) ++begin;
  size_t stop = end;
  while (stop > begin && (head[stop - 1] == ' ' || head[stop - 1] == '\t')) --stop;
  return head.substr(begin, stop - begin);
}

// Flips one byte in every 64 KiB of the body (at least one byte) without changing its length.
void corrupt(std::string& body) {
  for (size_t i = body.size() / 2 % 65536; i < body.size(); i += 65536)
    body[i] = static_cast<char>(body[i] ^ 0xA5);
}

std::string status_reply(int status, const std::string& code) {
  const std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
                           "</Code><Message>injected by the test proxy</Message></Error>";
  return "HTTP/1.1 " + std::to_string(status) + " Injected\r\nContent-Type: application/xml\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

std::optional<ByteRange> parse_byte_range(const std::string& range) {
  if (range.rfind("bytes=", 0) != 0) return std::nullopt;
  const std::string spec = range.substr(6);
  const size_t dash = spec.find('-');
  if (dash == 0 || dash == std::string::npos || dash + 1 == spec.size()) return std::nullopt;
  if (spec.find_first_not_of("0123456789-") != std::string::npos ||
      spec.find('-', dash + 1) != std::string::npos)
    return std::nullopt;
  return ByteRange{std::stoull(spec.substr(0, dash)), std::stoull(spec.substr(dash + 1))};
}

FaultProxy::FaultProxy(std::string upstream_host, int upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::FaultProxy(const std::string& upstream_endpoint)
    : FaultProxy([&] {
        const std::string rest = upstream_endpoint.substr(upstream_endpoint.find("://") + 3);
        return rest.substr(0, rest.rfind(':'));
      }(),
                 std::stoi(upstream_endpoint.substr(upstream_endpoint.rfind(':') + 1))) {}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::string FaultProxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FaultProxy::add(Fault fault, std::string range) {
  std::lock_guard lock(mutex_);
  faults_.push_back({std::move(fault), std::move(range)});
}

void FaultProxy::clear() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

std::vector<ProxiedRequest> FaultProxy::log() const {
  std::lock_guard lock(log_mutex_);
  return log_;
}

void FaultProxy::clear_log() {
  std::lock_guard lock(log_mutex_);
  log_.clear();
}

bool FaultProxy::take_fault(const std::string& method, const std::string& target,
                            const std::string& range, Fault* out) {
  std::lock_guard lock(mutex_);
  for (auto& [f, only_range] : faults_) {
    if (f.times == 0) continue;
    if (!f.method.empty() && f.method != method) continue;
    if (!f.path_contains.empty() && target.find(f.path_contains) == std::string::npos) continue;
    if (!only_range.empty() && only_range != range) continue;
    if (f.times > 0) --f.times;
    *out = f;
    ++injected_;
    return true;
  }
  return false;
}

void FaultProxy::accept_loop() {
  while (!stopping_) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    clients_.push_back(client);
    threads_.emplace_back([this, client] { serve(client); });
  }
}

void FaultProxy::serve(int client) {
  std::string pending, head, body;
  while (!stopping_ && read_request(client, pending, head, body)) {
    ++requests_;
    const size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    const std::string method = head.substr(0, sp1);
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string range = header_value(head, "range");
    Fault fault;
    const bool faulty = take_fault(method, target, range, &fault);
    {
      std::lock_guard lock(log_mutex_);
      log_.push_back({method, target, range, faulty});
    }
    if (faulty && fault.kind == FaultKind::kStatus) {
      if (!send_all(client, status_reply(fault.status, fault.code))) break;
      continue;
    }
    if (faulty && fault.kind == FaultKind::kReply) {
      const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: " +
                                std::to_string(fault.body.size()) + "\r\n\r\n" + fault.body;
      if (!send_all(client, reply)) break;
      continue;
    }
    // Forward on a fresh upstream connection that the server closes after its answer, so the
    // whole response (whatever its framing) is what arrives before EOF.
    const int up = connect_to(upstream_host_, upstream_port_);
    if (up < 0) break;
    const std::string forwarded = head.substr(0, head.size() - 2) + "Connection: close\r\n\r\n";
    std::string response;
    if (send_all(up, forwarded) && send_all(up, body)) {
      char buf[65536];
      for (ssize_t n; (n = ::recv(up, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<size_t>(n));
    }
    ::close(up);
    // Responses to the client stay keep-alive: drop the upstream's "Connection: close".
    const size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos) break;
    std::string response_head = response.substr(0, head_end + 4);
    for (const char* h : {"Connection: close\r\n", "connection: close\r\n"})
      if (size_t p = response_head.find(h); p != std::string::npos) response_head.erase(p, std::strlen(h));
    std::string response_body = response.substr(head_end + 4);
    if (faulty && fault.kind == FaultKind::kCorruptBody) corrupt(response_body);
    if (faulty && (fault.kind == FaultKind::kResetMidBody || fault.kind == FaultKind::kTruncateBody)) {
      send_all(client, response_head);
      send_all(client, response_body.data(), response_body.size() / 2);
      if (fault.kind == FaultKind::kResetMidBody) {
        linger hard{1, 0};  // close() now sends RST instead of FIN
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      }
      break;
    }
    if (!send_all(client, response_head) || !send_all(client, response_body)) break;
  }
  std::lock_guard lock(mutex_);
  clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
  ::close(client);
}

}  // namespace smp::s3::testing
