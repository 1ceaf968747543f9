#include "emulator/s3/http.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>

#include "emulator/s3/curl_api.h"
#include "emulator/s3/error.h"

namespace smp::s3 {

namespace {

// Transient transport failures: worth another attempt on a fresh connection.
bool retryable_curl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Per-request state the curl callbacks see.
struct Transfer {
  CURL* curl;
  const HttpRequest* request;
  HttpResponse* response;
  std::exception_ptr failure;  // thrown by a sink/source; aborts the transfer
  bool status_known = false;
  bool to_sink = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new status line (after 100 Continue) starts over
    return n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    t->response->headers[lower(std::string(line.substr(0, colon)))] = std::string(value);
  }
  return n;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->status_known) {
    curl_api().easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response->status);
    t->to_sink = t->request->sink && t->response->status >= 200 && t->response->status < 300;
    t->status_known = true;
  }
  try {
    if (t->to_sink) {
      t->request->sink->write(data, n);
      t->response->body_bytes += n;
    } else if (t->response->body.size() < (1u << 20)) {  // error documents are small
      t->response->body.append(data, n);
    }
  } catch (...) {
    t->failure = std::current_exception();
    return 0;  // curl aborts with CURLE_WRITE_ERROR
  }
  return n;
}

size_t on_read(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  try {
    return t->request->body->read(data, size * count);
  } catch (...) {
    t->failure = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

}  // namespace

size_t StringBody::read(char* dst, size_t n) {
  const size_t take = std::min(n, data_.size() - pos_);
  std::memcpy(dst, data_.data() + pos_, take);
  pos_ += take;
  return take;
}

size_t FileRangeBody::read(char* dst, size_t n) {
  const uint64_t left = length_ - pos_;
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, left));
  size_t done = 0;
  while (done < want) {
    const ssize_t got = ::pread(fd_, dst + done, want - done, static_cast<off_t>(offset_ + pos_ + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw S3Error("cannot read " + path_ + " for upload: " +
                        (got == 0 ? std::string("the file shrank while it was being uploaded")
                                  : std::string(std::strerror(errno))) +
                        ". Do not modify files while they upload",
                    0, "LocalReadFailed");
    done += static_cast<size_t>(got);
  }
  pos_ += done;
  return done;
}

void StringSink::write(const char* data, size_t n) {
  if (data_.size() + n > limit_)
    throw S3Error("object is larger than the " + std::to_string(limit_) +
                      " bytes expected for an in-memory read",
                  0, "ObjectTooLarge");
  data_.append(data, n);
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpConnection::HttpConnection(HttpOptions options) : options_(std::move(options)) {
  curl_ = curl_api().easy_init();
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

HttpConnection::~HttpConnection() { curl_api().easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpConnection::perform(const HttpRequest& request) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_api().easy_reset(c);  // options only: the live connection and DNS cache stay
  HttpResponse response;
  Transfer t{c, &request, &response, nullptr, false, false};

  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_api().slist_append(headers, h.c_str());
  // Never wait for "100 Continue": S3 answers errors before reading the body anyway.
  headers = curl_api().slist_append(headers, "Expect:");
  // curl labels every POST form-urlencoded; S3 would store that as the object's content type.
  const bool typed = std::any_of(request.headers.begin(), request.headers.end(), [](const std::string& h) {
    return lower(h.substr(0, 13)) == "content-type:";
  });
  if (request.method == "POST" && !typed) headers = curl_api().slist_append(headers, "Content-Type:");

  curl_api().easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_api().easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_api().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_api().easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // keys may hold "." / ".." segments: send as is
  curl_api().easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_api().easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_api().easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_api().easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_api().easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
  curl_api().easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_api().easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_api().easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
  curl_api().easy_setopt(c, CURLOPT_USERAGENT, "smp-local-s3/0.1");
  if (!options_.ca_bundle.empty()) curl_api().easy_setopt(c, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  curl_api().easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_api().easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_api().easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_api().easy_setopt(c, CURLOPT_WRITEDATA, &t);

  if (request.method == "HEAD") {
    curl_api().easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_api().easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_api().easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body ? request.body->size() : 0));
  } else if (request.method == "POST") {
    curl_api().easy_setopt(c, CURLOPT_POST, 1L);
    curl_api().easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body ? request.body->size() : 0));
    if (!request.body) curl_api().easy_setopt(c, CURLOPT_POSTFIELDS, "");
  } else if (request.method != "GET") {
    curl_api().easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.body) {
    request.body->rewind();
    curl_api().easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_api().easy_setopt(c, CURLOPT_READDATA, &t);
  }
  if (request.sink) request.sink->reset();

  const CURLcode rc = curl_api().easy_perform(c);
  curl_api().slist_free_all(headers);
  if (t.failure) std::rethrow_exception(t.failure);
  if (rc != CURLE_OK) {
    throw TransportError(std::string(curl_api().easy_strerror(rc)), static_cast<int>(rc),
                         retryable_curl(rc));
  }
  curl_api().easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace smp::s3
