#include "http/writer.h"

#include <charconv>

namespace partita::http {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

void AppendStatusLine(std::string& out, int status, bool keep_alive) {
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
  out += "HTTP/1.1 ";
  out.append(digits, end);
  out += ' ';
  out += ReasonPhrase(status);
  out += keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n";
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

void EndHeadWithLength(std::string& out, std::size_t content_length) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, content_length);
  out += "Content-Length: ";
  out.append(digits, end);
  out += "\r\n\r\n";
}

void EndHeadChunked(std::string& out) { out += "Transfer-Encoding: chunked\r\n\r\n"; }

void AppendChunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, data.size(), 16);
  out.append(digits, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

std::string MakeResponse(int status, std::string_view content_type, std::string_view body,
                         bool keep_alive, std::string_view extra_headers) {
  std::string out;
  out.reserve(160 + extra_headers.size() + body.size());
  AppendStatusLine(out, status, keep_alive);
  AppendHeader(out, "Content-Type", content_type);
  out += extra_headers;
  EndHeadWithLength(out, body.size());
  out += body;
  return out;
}

}  // namespace partita::http
