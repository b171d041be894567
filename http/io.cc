#include "http/io.h"

namespace partita::http::io_detail {

Parse ParseHead(std::string_view data, RequestHead& head, std::string* error) {
  return ParseRequestHead(data, head, error);
}

Parse ParseHead(std::string_view data, ResponseHead& head, std::string* error) {
  return ParseResponseHead(data, head, error);
}

bool BodyForbidden(const RequestHead&) { return false; }

bool BodyForbidden(const ResponseHead& head) {
  return (head.status >= 100 && head.status < 200) || head.status == 204 || head.status == 304;
}

bool BodyUntilClose(const RequestHead&) { return false; }

bool BodyUntilClose(const ResponseHead& head) { return !head.chunked && !head.has_content_length; }

}  // namespace partita::http::io_detail

namespace partita::http {

std::string GetRequest(std::string_view host, std::string_view target, std::string_view user_agent,
                       bool close) {
  std::string out;
  out.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nUser-Agent: ").append(user_agent).append("\r\n");
  if (close) out.append("Connection: close\r\n");
  return out.append("\r\n");
}

}  // namespace partita::http
