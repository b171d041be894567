// Writing HTTP/1.1 responses for Partita's servers (the gateway, modeld, the ops ports): heads
// written straight into a reusable string (no per-field allocations), chunked-encoding framing,
// and the reason phrases. Messages are read with http/parser.h and http/io.h.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace partita::http {

// "OK", "Bad Request", ... ("Unknown" for codes Partita does not send).
std::string_view ReasonPhrase(int status);

// Appends "HTTP/1.1 <status> <reason>\r\n" and the Connection header.
void AppendStatusLine(std::string& out, int status, bool keep_alive);
// Appends "Name: value\r\n".
void AppendHeader(std::string& out, std::string_view name, std::string_view value);
// Appends "Content-Length: N\r\n\r\n" (ends the head).
void EndHeadWithLength(std::string& out, std::size_t content_length);
// Appends "Transfer-Encoding: chunked\r\n\r\n" (ends the head).
void EndHeadChunked(std::string& out);

// Appends one chunk of a chunked body ("<hex size>\r\n<data>\r\n"); empty data appends nothing.
void AppendChunk(std::string& out, std::string_view data);
// The last chunk: "0\r\n\r\n".
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A complete response with a body and Content-Length.
std::string MakeResponse(int status, std::string_view content_type, std::string_view body,
                         bool keep_alive, std::string_view extra_headers = {});

}  // namespace partita::http
