#pragma once
// Words: POSIX-shell word splitting and quote removal for the command line Open MPI hands to
// its remote-shell agent (what sshd's shell would do), without running a shell.

#include <string>
#include <vector>

namespace smplocal {

// Splits `line` into words honouring '...', "..." and backslash escapes. Throws smplocal::Error
// on unbalanced quotes or shell syntax (; | & < > ` $( ) that would need a real shell.
std::vector<std::string> split_shell_words(const std::string& line);

}  // namespace smplocal
