// The OpenAI chat-completions JSON that Partita reads and writes: what the gateway and modeld
// need from a request body, what a client needs from a stream chunk or a complete response, the
// error bodies and error events Partita sends, and a request builder for clients.
//
// Parsers use Boost.JSON with a stack buffer and keep no document; they accept any extra fields
// and never echo text into logs. Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace partita::backends {

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  bool operator==(const Usage&) const = default;
};

// What the gateway and modeld read from a /v1/chat/completions request body.
struct RequestInfo {
  std::string model;
  bool stream = false;
  bool include_usage = false;    // stream_options.include_usage
  std::int64_t max_tokens = -1;  // max_tokens or max_completion_tokens; -1 when absent
  std::size_t message_count = 0;
  std::size_t content_bytes = 0;  // bytes of message text (string content or text parts)
};

// Checks the body is a JSON object with a string "model" and a non-empty "messages" array of
// objects; InvalidArgument with a message for the caller otherwise.
Result<RequestInfo> InspectChatRequest(std::string_view body);

// Prompt tokens estimated from text: ceil(content_bytes / 4) + 4 per message (roughly what
// BPE tokenizers give for English plus the chat template's per-message overhead).
std::int64_t EstimatePromptTokens(const RequestInfo& info);

// Returns `body` with its top-level "model" replaced (re-serialises the JSON).
Result<std::string> ReplaceModel(std::string_view body, std::string_view model);

// Returns `body` with its answer length limited to `max_tokens`: the limit the client set
// ("max_completion_tokens" or "max_tokens") is lowered, or "max_tokens" added when it set none.
Result<std::string> CapMaxTokens(std::string_view body, std::int64_t max_tokens);

// An OpenAI-style error object: {"error": {"message", "type", "code"}}.
struct ApiError {
  std::string type;
  std::string code;
  std::string message;
};

// One stream chunk (the data of one SSE event), interpreted.
struct ChunkInfo {
  bool done = false;              // the data was [DONE]
  std::string content;            // choices[0].delta.content (may be empty)
  std::string finish_reason;      // choices[0].finish_reason when not null
  std::optional<Usage> usage;     // a "usage" object when present and not null
  std::optional<ApiError> error;  // an "error" object: the server ended the stream with it
  std::string model;
  void Clear();
};

// Parses the data of one SSE event. False (with `why`) when it is neither [DONE] nor a JSON
// object.
bool ParseStreamChunk(std::string_view data, ChunkInfo& out, std::string* why);

// A complete (non-streaming) chat.completion response, interpreted.
struct CompletionInfo {
  std::string content;  // choices[0].message.content
  std::string finish_reason;
  std::string model;
  std::optional<Usage> usage;
};
Result<CompletionInfo> ParseCompletion(std::string_view body);

// Reads an error body (OpenAI's {"error": {...}}, {"error": "text"}, {"message": ...} or plain
// text, truncated) into an ApiError; never fails.
ApiError ParseErrorBody(std::string_view body);

// {"error":{"message":...,"type":...,"code":...}}
std::string ErrorJson(std::string_view type, std::string_view code, std::string_view message);
// The SSE error event Partita ends a failed stream with:
//   event: error
//   data: {"error":{"message":...,"type":...,"code":...}}
//   (blank line)
std::string ErrorEvent(std::string_view type, std::string_view code, std::string_view message);

// Builder for clients (the edge agent, tests, the load generator).
struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};
struct ChatParams {
  std::string model;
  std::vector<ChatMessage> messages;
  bool stream = true;
  bool include_usage = true;  // stream_options.include_usage (ignored when not streaming)
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
};
std::string BuildChatRequestBody(const ChatParams& params);

}  // namespace partita::backends
