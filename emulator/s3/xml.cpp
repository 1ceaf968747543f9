#include "emulator/s3/xml.h"

#include <pugixml.hpp>

#include <sstream>

#include "emulator/s3/error.h"
#include "emulator/s3/sigv4.h"

namespace smp::s3::xml {

namespace {

pugi::xml_document load(std::string_view text, const char* what) {
  pugi::xml_document doc;
  const auto result = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result)
    throw S3Error(std::string("the S3 server sent a malformed ") + what + " document (" +
                      result.description() + "); is the endpoint really an S3 service?",
                  0, "MalformedResponse");
  return doc;
}

// S3's `encoding-type=url` is form encoding: '+' is a space, '%2B' a plus (botocore decodes it
// with unquote_plus).
std::string form_decode(std::string_view text) {
  std::string spaced(text);
  for (char& c : spaced)
    if (c == '+') c = ' ';
  return uri_decode(spaced);
}

std::string child_text(const pugi::xml_node& node, const char* name) {
  return node.child(name).text().as_string();
}

std::string to_string(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + out.str();
}

}  // namespace

ListPage parse_list_objects_v2(std::string_view text) {
  const auto doc = load(text, "ListObjectsV2");
  const auto root = doc.child("ListBucketResult");
  if (!root)
    throw S3Error("the S3 server answered ListObjectsV2 without a <ListBucketResult>", 0,
                  "MalformedResponse");
  const bool url_encoded = std::string_view(child_text(root, "EncodingType")) == "url";
  auto decode = [&](std::string s) { return url_encoded ? form_decode(s) : s; };
  ListPage page;
  for (auto c = root.child("Contents"); c; c = c.next_sibling("Contents")) {
    ObjectInfo info;
    info.key = decode(child_text(c, "Key"));
    info.size = c.child("Size").text().as_ullong();
    info.etag = unquote_etag(child_text(c, "ETag"));
    info.last_modified = child_text(c, "LastModified");
    page.objects.push_back(std::move(info));
  }
  for (auto p = root.child("CommonPrefixes"); p; p = p.next_sibling("CommonPrefixes"))
    page.common_prefixes.push_back(decode(child_text(p, "Prefix")));
  page.truncated = std::string_view(child_text(root, "IsTruncated")) == "true";
  page.next_token = child_text(root, "NextContinuationToken");
  return page;
}

std::optional<ErrorDoc> parse_error(std::string_view text) {
  if (text.find("<Error") == std::string_view::npos) return std::nullopt;
  pugi::xml_document doc;
  if (!doc.load_buffer(text.data(), text.size())) return std::nullopt;
  const auto root = doc.child("Error");
  if (!root) return std::nullopt;
  return ErrorDoc{child_text(root, "Code"), child_text(root, "Message"), child_text(root, "Region"),
                  child_text(root, "Endpoint")};
}

std::string parse_upload_id(std::string_view text) {
  const auto doc = load(text, "CreateMultipartUpload");
  std::string id = child_text(doc.child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty())
    throw S3Error("the S3 server answered CreateMultipartUpload without an UploadId", 0,
                  "MalformedResponse");
  return id;
}

std::string parse_complete_etag(std::string_view text) {
  const auto doc = load(text, "CompleteMultipartUpload");
  return unquote_etag(child_text(doc.child("CompleteMultipartUploadResult"), "ETag"));
}

std::vector<DeleteFailure> parse_delete_result(std::string_view text) {
  const auto doc = load(text, "DeleteObjects");
  std::vector<DeleteFailure> failures;
  for (auto e = doc.child("DeleteResult").child("Error"); e; e = e.next_sibling("Error"))
    failures.push_back({child_text(e, "Key"), child_text(e, "Code"), child_text(e, "Message")});
  return failures;
}

std::string complete_multipart_body(const std::vector<CompletedPart>& parts) {
  pugi::xml_document doc;
  auto root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (const auto& p : parts) {
    auto part = root.append_child("Part");
    part.append_child("PartNumber").text().set(p.number);
    part.append_child("ETag").text().set(("\"" + p.etag + "\"").c_str());
  }
  return to_string(doc);
}

std::string delete_objects_body(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  auto root = doc.append_child("Delete");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  root.append_child("Quiet").text().set("true");
  for (const auto& k : keys) root.append_child("Object").append_child("Key").text().set(k.c_str());
  return to_string(doc);
}

}  // namespace smp::s3::xml
