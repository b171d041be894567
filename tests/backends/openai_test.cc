// Reading OpenAI chat JSON: requests, stream chunks, completions and error bodies.
#include "backends/openai.h"

#include <doctest/doctest.h>

namespace partita::backends {
namespace {

TEST_CASE("a request's model, stream flag, limits and text size") {
  auto info = InspectChatRequest(
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":16,)"
      R"("messages":[{"role":"system","content":"abcd"},)"
      R"({"role":"user","content":[{"type":"text","text":"efgh"},{"type":"image_url"}]}]})");
  REQUIRE(info.ok());
  CHECK(info->model == "m");
  CHECK(info->stream);
  CHECK(info->include_usage);
  CHECK(info->max_tokens == 16);
  CHECK(info->message_count == 2);
  CHECK(info->content_bytes == 8);
  CHECK(EstimatePromptTokens(*info) == 2 + 8);
}

TEST_CASE("bad requests say what is wrong") {
  CHECK(InspectChatRequest("{").status().message().find("not valid JSON") != std::string::npos);
  CHECK(InspectChatRequest("[1]").status().message().find("object") != std::string::npos);
  CHECK(InspectChatRequest(R"({"messages":[{}]})").status().message().find("model") !=
        std::string::npos);
  CHECK(InspectChatRequest(R"({"model":"m"})").status().message().find("messages") !=
        std::string::npos);
  CHECK_FALSE(InspectChatRequest(R"({"model":"m","messages":[1]})").ok());
  CHECK_FALSE(InspectChatRequest(R"({"model":"m","messages":[{}],"stream":"yes"})").ok());
  CHECK_FALSE(InspectChatRequest(R"({"model":"m","messages":[{}],"max_tokens":-1})").ok());
}

TEST_CASE("only fields at their own path count") {
  auto info = InspectChatRequest(
      R"({"metadata":{"model":"evil","stream":"x","max_tokens":-5},"model":"m",)"
      R"("messages":[{"role":"user","content":"ab","extra":{"content":"zzzz"}}],"stream":false})");
  REQUIRE_MESSAGE(info.ok(), info.status().message());
  CHECK(info->model == "m");
  CHECK_FALSE(info->stream);
  CHECK(info->max_tokens == -1);
  CHECK(info->content_bytes == 2);
  CHECK_FALSE(InspectChatRequest(R"({"model":1,"messages":[{}]})").ok());
  CHECK_FALSE(InspectChatRequest(R"({"model":"m","messages":[{"content":"a"},"str"]})").ok());
  CHECK_FALSE(InspectChatRequest(R"({"model":"m","messages":{"content":"a"}})").ok());
  const std::string long_key =
      "{\"" + std::string(100, 'k') + "\":1,\"model\":\"m\",\"messages\":[{}]}";
  CHECK(InspectChatRequest(long_key).ok());
  std::string deep = "{\"model\":\"m\",\"messages\":[{}],\"x\":";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += "}";
  CHECK_FALSE(InspectChatRequest(deep).ok());
}

TEST_CASE("ReplaceModel changes only the model") {
  auto out = ReplaceModel(R"({"model":"a","messages":[{"role":"user","content":"x"}]})", "b");
  REQUIRE(out.ok());
  auto info = InspectChatRequest(*out);
  REQUIRE(info.ok());
  CHECK(info->model == "b");
  CHECK(info->content_bytes == 1);
}

TEST_CASE("CapMaxTokens lowers the client's limit, or adds one") {
  const std::string base = R"("model":"a","messages":[{"role":"user","content":"x"}])";
  auto capped = CapMaxTokens("{" + base + R"(,"max_tokens":500})", 40);
  REQUIRE(capped.ok());
  CHECK(InspectChatRequest(*capped)->max_tokens == 40);
  auto lower = CapMaxTokens("{" + base + R"(,"max_completion_tokens":10})", 40);
  REQUIRE(lower.ok());
  CHECK(InspectChatRequest(*lower)->max_tokens == 10);  // already within: unchanged
  auto added = CapMaxTokens("{" + base + "}", 40);
  REQUIRE(added.ok());
  CHECK(InspectChatRequest(*added)->max_tokens == 40);
  CHECK(InspectChatRequest(*added)->model == "a");
  CHECK_FALSE(CapMaxTokens("[1]", 40).ok());
}

TEST_CASE("stream chunks: content, finish, usage, errors, [DONE]") {
  ChunkInfo c;
  std::string why;
  REQUIRE(ParseStreamChunk(
      R"({"model":"m","choices":[{"index":0,"delta":{"content":"hé"},"finish_reason":null}]})", c,
      &why));
  CHECK(c.content == "hé");
  CHECK(c.finish_reason.empty());
  CHECK(c.model == "m");
  REQUIRE(ParseStreamChunk(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})", c,
                           &why));
  REQUIRE(c.usage);
  CHECK(c.usage->total_tokens == 7);
  CHECK(c.content.empty());
  REQUIRE(ParseStreamChunk(R"({"error":{"code":"budget_exceeded","message":"m"}})", c, &why));
  REQUIRE(c.error);
  CHECK(c.error->code == "budget_exceeded");
  REQUIRE(ParseStreamChunk(
      R"({"choices":[{"delta":{"content":"first"}},{"delta":{"content":"second"}}]})", c, &why));
  CHECK(c.content == "first");
  REQUIRE(ParseStreamChunk(R"({"error":{"code":429,"message":"slow down"}})", c, &why));
  CHECK(c.error->code == "429");
  REQUIRE(ParseStreamChunk(R"({"usage":{"prompt_tokens":1,"completion_tokens":2}})", c, &why));
  CHECK(c.usage->total_tokens == 3);
  REQUIRE(ParseStreamChunk("[DONE]", c, &why));
  CHECK(c.done);
  CHECK_FALSE(ParseStreamChunk("{broken", c, &why));
  CHECK(why.find("JSON") != std::string::npos);
  CHECK_FALSE(ParseStreamChunk("42", c, &why));
}

TEST_CASE("completions and error bodies") {
  auto done = ParseCompletion(
      R"({"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})");
  REQUIRE(done.ok());
  CHECK(done->content == "hi");
  CHECK(done->usage->completion_tokens == 2);
  CHECK_FALSE(ParseCompletion(R"({"object":"x"})").ok());
  CHECK(ParseErrorBody(R"({"error":{"message":"no","code":"c"}})").code == "c");
  CHECK(ParseErrorBody(R"({"error":"plain"})").message == "plain");
  CHECK(ParseErrorBody("Bad\nGateway").message == "Bad Gateway");
}

TEST_CASE("error JSON and events round-trip through the parsers") {
  const std::string json = ErrorJson("partita_budget", "budget_exceeded", "spent \"all\"");
  ApiError e = ParseErrorBody(json);
  CHECK(e.code == "budget_exceeded");
  CHECK(e.message == "spent \"all\"");
  const std::string event = ErrorEvent("t", "upstream_failed", "m");
  CHECK(event.starts_with("event: error\ndata: {"));
  CHECK(event.ends_with("}\n\n"));
}

}  // namespace
}  // namespace partita::backends
