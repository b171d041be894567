// Detects that a file changed, for daemons that re-read their files while serving (the router's
// policy and revoked list, the gateway's revoked list): the modification time (ns) and size.
#pragma once

#include <string>

namespace partita {

// "<mtime seconds>.<nanoseconds>:<size>", or "" when the file cannot be stat'ed.
std::string FileStamp(const std::string& path);

}  // namespace partita
