#pragma once
// S3Uri: an `s3://bucket/key` location, parsed and formatted the way the AWS CLI and SDK spell it.

#include <string>
#include <string_view>

namespace smp::s3 {

struct S3Uri {
  std::string bucket;
  std::string key;  // may be empty (the whole bucket) or end in '/' (a "directory")

  // Parses "s3://bucket", "s3://bucket/", "s3://bucket/a/b". Throws S3Error (code "InvalidUri")
  // naming the text and the expected form when it is not one.
  static S3Uri parse(std::string_view text);
  static bool looks_like(std::string_view text);  // starts with "s3://"

  std::string str() const;  // "s3://bucket/key"
  // Everything up to and including the key's last '/', "" when it has none. SageMaker strips this
  // part from each listed key to name the local file (contract §5.4).
  std::string directory_part() const;
  // This URI as a "directory": the key with one trailing '/' (unless empty).
  S3Uri as_directory() const;
  // The child `relative` under this URI taken as a directory.
  S3Uri child(std::string_view relative) const;

  friend bool operator==(const S3Uri&, const S3Uri&) = default;
};

}  // namespace smp::s3
