// Detects that a file changed, for daemons that re-read their files while serving (the router's
// policy and revoked list, the gateway's revoked list): the modification time (ns), the size and
// the inode (which a write-then-rename always changes).
#pragma once

#include <string>

namespace partita {

// "<mtime seconds>.<nanoseconds>:<size>:<inode>", or "" when the file cannot be stat'ed.
std::string FileStamp(const std::string& path);

}  // namespace partita
