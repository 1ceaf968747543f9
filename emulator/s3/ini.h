#pragma once
// IniFile: the AWS shared config/credentials file format (sections, `key = value`, full-line
// comments, and indented sub-keys such as `s3 =\n  addressing_style = path`).

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace smp::s3 {

struct IniFile {
  // section name (as written, e.g. "default", "profile dev") → key → value. Keys are lower-cased
  // like Python's configparser; a nested key is stored as "parent.child" ("s3.addressing_style").
  std::map<std::string, std::map<std::string, std::string>> sections;

  static IniFile parse(std::string_view text);
  // nullopt when the file does not exist; throws S3Error when it exists but cannot be read.
  static std::optional<IniFile> load(const std::filesystem::path& path);

  const std::map<std::string, std::string>* section(const std::string& name) const;
};

}  // namespace smp::s3
