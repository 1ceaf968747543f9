#include "emulator/s3/ini.h"

#include <fstream>
#include <sstream>

#include "emulator/s3/error.h"

namespace smp::s3 {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

IniFile IniFile::parse(std::string_view text) {
  IniFile ini;
  std::map<std::string, std::string>* current = nullptr;
  std::string parent;  // the key whose value opened a nested block ("s3 =")
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      if (end == text.size()) break;
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      std::string name(trim(line.substr(1, line.size() - 2)));
      current = &ini.sections[name];
      parent.clear();
    } else if (current) {
      const size_t eq = line.find('=');
      if (eq != std::string_view::npos) {
        std::string key = lower(trim(line.substr(0, eq)));
        std::string value(trim(line.substr(eq + 1)));
        if (indented && !parent.empty()) {
          (*current)[parent + "." + key] = value;
        } else {
          (*current)[key] = value;
          parent = value.empty() ? key : std::string();
        }
      }
    }
    if (end == text.size()) break;
  }
  return ini;
}

std::optional<IniFile> IniFile::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw S3Error("cannot read the AWS file " + path.string() +
                      ": check its permissions, or point AWS_SHARED_CREDENTIALS_FILE / "
                      "AWS_CONFIG_FILE elsewhere",
                  0, "ConfigUnreadable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

const std::map<std::string, std::string>* IniFile::section(const std::string& name) const {
  auto it = sections.find(name);
  return it == sections.end() ? nullptr : &it->second;
}

}  // namespace smp::s3
