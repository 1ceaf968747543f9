#include "emulator/s3/failure.h"

#include <curl/curl.h>

#include "emulator/s3/uri.h"
#include "emulator/s3/xml.h"

namespace smp::s3 {

namespace {

std::string target(const FailedCall& call) {
  if (call.bucket.empty()) return "";
  return " " + S3Uri{call.bucket, call.key}.str();
}

std::string attempts_text(int attempts) {
  return attempts > 1 ? " after " + std::to_string(attempts) + " attempts" : "";
}

std::string default_code(long status) {
  switch (status) {
    case 301: return "PermanentRedirect";
    case 400: return "BadRequest";
    case 403: return "AccessDenied";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    default: return "HTTP" + std::to_string(status);
  }
}

}  // namespace

S3Error http_failure(const ClientConfig& config, const FailedCall& call, const HttpResponse& response,
                     bool retryable) {
  const auto doc = xml::parse_error(response.body);
  const std::string code = doc && !doc->code.empty() ? doc->code : default_code(response.status);
  const std::string server_message = doc ? doc->message : std::string();
  const std::string endpoint = config.endpoint.url();
  const std::string& key_id = config.credentials.access_key_id;
  const std::string creds = "access key id '" + key_id + "' (from " + config.credentials.source + ")";

  std::string fix;
  if (code == "SignatureDoesNotMatch") {
    fix = "the secret access key does not match " + creds + " at this endpoint: check "
          "AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key, and that the endpoint (" +
          config.endpoint_source + ") is the one these credentials belong to";
  } else if (code == "InvalidAccessKeyId") {
    fix = "the endpoint does not know " + creds + ": check the key id, and that the endpoint (" +
          config.endpoint_source + ") is the one these credentials belong to";
  } else if (code == "InvalidToken" || code == "ExpiredToken" || code == "TokenRefreshRequired") {
    fix = "the session token of " + creds + " is invalid or expired: refresh the temporary "
          "credentials (AWS_SESSION_TOKEN)";
  } else if (code == "AccessDenied" || code == "AllAccessDisabled") {
    fix = creds + " is not allowed to " + call.op + " here: check the IAM and bucket policies";
  } else if (code == "NoSuchBucket") {
    fix = "the bucket '" + call.bucket + "' does not exist at " + endpoint +
          ": check the bucket name in the S3 URI and the endpoint/region";
  } else if (code == "NoSuchKey" || (response.status == 404 && !call.key.empty())) {
    fix = "no object at" + target(call) + ": check the key (S3 keys are case-sensitive)";
  } else if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
             code == "IllegalLocationConstraintException") {
    std::string region = doc ? doc->region : std::string();
    if (region.empty()) region = response.header("x-amz-bucket-region");
    fix = "the bucket lives in " + (region.empty() ? std::string("another region") : "region " + region) +
          ", not " + config.region + ": set AWS_REGION" + (region.empty() ? "" : "=" + region);
  } else if (code == "RequestTimeTooSkewed") {
    fix = "this machine's clock differs from the server's by more than 15 minutes: fix the system time";
  } else if (code == "NoSuchUpload") {
    fix = "the multipart upload was aborted or completed meanwhile: retry the upload";
  } else if (code == "EntityTooSmall") {
    fix = "a multipart part is below the server's 5 MiB minimum: raise the part size";
  } else if (retryable) {
    fix = "the server kept failing (throttling or internal errors): retry later or raise "
          "AWS_MAX_ATTEMPTS (now " + std::to_string(config.retry.max_attempts) + ")";
  } else {
    fix = "see the server's message above";
  }
  std::string msg = "S3 " + call.op + target(call) + " at " + endpoint + " failed" +
                    attempts_text(call.attempts) + ": HTTP " + std::to_string(response.status) +
                    " " + code + (server_message.empty() ? "" : " (" + server_message + ")") +
                    ". Fix: " + fix;
  return S3Error(msg, static_cast<int>(response.status), code, endpoint, call.bucket, call.key,
                 retryable);
}

S3Error transport_failure(const ClientConfig& config, const FailedCall& call,
                          const TransportError& error) {
  const std::string endpoint = config.endpoint.url();
  std::string fix;
  switch (static_cast<CURLcode>(error.curl_code())) {
    case CURLE_COULDNT_CONNECT:
      fix = "nothing accepts connections at " + endpoint + ": check the endpoint URL (" +
            config.endpoint_source + ") and that the server is running";
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
      fix = "the host name does not resolve: check the endpoint URL (" + config.endpoint_source +
            ") and DNS";
      break;
    case CURLE_OPERATION_TIMEDOUT:
      fix = "the server stopped answering: check the network, or raise AWS_MAX_ATTEMPTS";
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      fix = "the server's TLS certificate was not accepted: set AWS_CA_BUNDLE to its CA file";
      break;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      fix = "the connection broke mid-transfer every time: check the network or proxy, or "
            "raise AWS_MAX_ATTEMPTS (now " + std::to_string(config.retry.max_attempts) + ")";
      break;
    default:
      fix = "check the endpoint URL (" + config.endpoint_source + ") and the network";
  }
  const std::string code = error.curl_code() == CURLE_COULDNT_CONNECT ? "ConnectionFailed"
                           : error.retryable()                      ? "TransferInterrupted"
                                                                    : "TransportError";
  return S3Error("S3 " + call.op + target(call) + " at " + endpoint + " failed" +
                     attempts_text(call.attempts) + ": " + error.what() + ". Fix: " + fix,
                 0, code, endpoint, call.bucket, call.key, error.retryable());
}

}  // namespace smp::s3
