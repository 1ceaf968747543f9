#include "emulator/agent/words.h"

#include "emulator/common/error.h"

namespace smplocal {

std::vector<std::string> split_shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(cur), cur.clear(), in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) throw Error("unbalanced ' in remote command: " + line);
      cur += line.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && std::string("\"\\$`\n").find(line[j + 1]) != std::string::npos) {
          cur += line[++j];
        } else if (line[j] == '`' || (line[j] == '$' && j + 1 < line.size() && line[j + 1] == '(')) {
          throw Error("remote command needs a shell (command substitution): " + line);
        } else {
          cur += line[j];
        }
      }
      if (j >= line.size()) throw Error("unbalanced \" in remote command: " + line);
      i = j;
    } else if (c == '\\') {
      if (i + 1 < line.size()) cur += line[++i];
    } else if (std::string(";|&<>`").find(c) != std::string::npos ||
               (c == '$' && i + 1 < line.size() && line[i + 1] == '(')) {
      throw Error("remote command needs a shell (\"" + std::string(1, c) + "\"): " + line);
    } else {
      cur += c;
    }
  }
  if (in_word) words.push_back(cur);
  return words;
}

}  // namespace smplocal
