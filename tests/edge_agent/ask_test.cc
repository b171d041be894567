// "Answer this" end to end over real sockets: the SDK over the agent's unix socket, the router
// over mutual TLS, the device tier on a local modeld over HTTP, the household phone's agent over
// mutual TLS, and the cloud gateway over HTTPS in front of a modeld upstream.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "tests/edge_agent/world.h"

extern "C" int partita_c_api_checks(const char* socket_path, char* error, unsigned long error_size);

namespace partita::agent {
namespace {

using namespace testing;
using backends::testing::ModeldFixture;

TEST_CASE(
    "Each tier answers: a command on the device, a hard question in the cloud, a private one on "
    "the phone") {
  World w;
  w.StartPhone();
  w.StartSpeaker();
  Client client = w.SpeakerClient();

  Result<Answer> command = client.Ask("Turn off the kitchen lights");
  REQUIRE_MESSAGE(command.ok(), command.status().ToString());
  CHECK(command->tier == Tier::kDevice);
  CHECK(command->model == "milm-1.3b");
  CHECK(command->rule == "easy-commands-stay-local");
  CHECK(command->simulated);
  CHECK(command->text.rfind("[simulated]", 0) == 0);
  CHECK(Results(*command) == "device:ok");
  CHECK(command->energy_j == 0);  // the speaker is on mains: no battery spent

  std::string streamed;
  Result<Answer> hard = client.AskStream("Explain step by step why the sky is blue", kHard,
                                         [&](std::string_view t) { streamed += t; });
  REQUIRE_MESSAGE(hard.ok(), hard.status().ToString());
  CHECK(hard->tier == Tier::kCloud);
  CHECK(hard->rule == "hard-to-cloud");
  CHECK(streamed == hard->text);
  CHECK(hard->tokens_out == 12);
  CHECK(hard->cost_usd > 0);
  CHECK(w.LedgerRows(1) == 1);

  AskOptions priv = kHard;
  priv.privacy = Privacy::kPrivate;
  Result<Answer> secret = client.Ask("Explain why my test results worry me", priv);
  REQUIRE_MESSAGE(secret.ok(), secret.status().ToString());
  CHECK(secret->tier == Tier::kPhone);
  CHECK(secret->rule == "private-at-home");
  CHECK(Results(*secret) == "phone:ok");
  CHECK(secret->energy_j > 0);  // the phone computed on battery
  // The phone's runtime has now loaded milm-7b-moe (not resident): it reports it warm.
  policy::RequestFacts f;
  f.kind = RequestKind::kCommand;
  w.cp.agents[0]->DecideBlocking(f);  // carries the phone's fresh state to the router
  const ModelIndex moe = *DefaultCatalog()->FindModel("milm-7b-moe");
  CHECK(w.cp.router->registry().Find("phone")->Snapshot().models_warm.Contains(moe));
  CHECK(w.LedgerRows(1) == 1);  // it never reached the cloud
}

TEST_CASE("Before the first token a failed tier only shows in the trail") {
  World w;
  w.StartPhone();
  w.StartSpeaker();
  Client client = w.SpeakerClient();

  SUBCASE("error status") {
    w.cloud.server().SetFault(*modeld::ParseFaultSpec("status=503"));
    Result<Answer> a = client.Ask("Explain why tides happen", kHard);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(a->tier == Tier::kPhone);
    CHECK(Results(*a) == "cloud:error_status>phone:ok");
    CHECK_FALSE(a->truncated);
  }
  SUBCASE("refused") {
    w.gateway->Stop();
    Result<Answer> a = client.Ask("Explain why tides happen", kHard);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(Results(*a) == "cloud:refused>phone:ok");
  }
  SUBCASE("no first token in time") {
    w.cloud.server().SetFault(*modeld::ParseFaultSpec("stall-after=0"));
    Result<Answer> a = client.Ask("Explain why tides happen", kHard);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(Results(*a) == "cloud:no_first_token>phone:ok");
    CHECK(a->trail[0].elapsed_ms >= 1400);
  }
  SUBCASE("the deadline") {
    w.cloud.server().SetFault(*modeld::ParseFaultSpec("stall-after=0"));
    AskOptions o = kHard;
    // The app's budget shortens the policy's deadline, to under the 1.5 s first-token timeout
    // but with room for the decision on a loaded machine.
    o.latency_budget_ms = 1000;
    Result<Answer> a = client.Ask("Explain why tides happen", o);
    REQUIRE_MESSAGE(!a.ok(), Results(*a));
    CHECK(a.status().code() == StatusCode::kDeadlineExceeded);
    CHECK(a.status().message().find("within the deadline of 1000 ms") != std::string::npos);
    CHECK(a.status().message().find("cloud: deadline") != std::string::npos);
  }
  SUBCASE("a declined offload") {
    partita::testing::WriteAtomically(w.cp.dir.File("phone-state.yaml"),
                                      "battery_pct: 9\ncharging: false\n");
    w.cp.agents[0]->RefreshStateBlocking();
    AskOptions priv = kHard;
    priv.privacy = Privacy::kPrivate;
    Result<Answer> a = client.Ask("Explain my diagnosis", priv);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(Results(*a) == "phone:declined>device:ok");
    CHECK(a->trail[0].detail.find("battery 9% < 20%") != std::string::npos);
  }
}

// GET /metrics on a loopback port, the body (empty on failure).
std::string GetMetrics(const net::tcp::endpoint& where) {
  namespace beast_http = net::beast::http;
  net::asio::io_context io;
  net::beast::tcp_stream stream(io);
  net::error_code ec;
  stream.connect(where, ec);
  if (ec) return "";
  beast_http::request<beast_http::empty_body> req(beast_http::verb::get, "/metrics", 11);
  req.set(beast_http::field::host, "localhost");
  beast_http::write(stream, req, ec);
  net::beast::flat_buffer buffer;
  beast_http::response<beast_http::string_body> res;
  beast_http::read(stream, buffer, res, ec);
  return ec ? "" : res.body();
}

TEST_CASE("An agent's opt-in /metrics counts asks and attempts by tier and result") {
  World w;
  AgentConfig c = w.Config("speaker", "smart-speaker", w.speaker_runtime);
  c.metrics_listen = "127.0.0.1:0";
  Agent& speaker = w.cp.StartAgent(c);
  Client client = w.SpeakerClient();
  REQUIRE(client.Ask("Turn off the kitchen lights").ok());
  w.cloud.server().SetFault(*modeld::ParseFaultSpec("status=503"));
  Result<Answer> hard = client.Ask("Explain step by step why the sky is blue", kHard);
  REQUIRE_MESSAGE(hard.ok(), hard.status().ToString());
  CHECK(Results(*hard) == "cloud:error_status>device:ok");
  const std::string m = GetMetrics(speaker.metrics_endpoint());
  using partita::testing::MetricValue;
  CHECK(MetricValue(m, "partita_agent_asks_total{tier=\"device\",result=\"ok\"}") == 2);
  CHECK(MetricValue(m, "partita_agent_attempts_total{tier=\"device\",result=\"ok\"}") >= 1);
  CHECK(MetricValue(m, "partita_agent_attempts_total{tier=\"cloud\",result=\"error_status\"}") ==
        1);
  CHECK(MetricValue(m, "partita_agent_decisions_total{by=\"router\"}") == 2);
  CHECK(MetricValue(m, "partita_agent_router_connected") == 1);
}

TEST_CASE("A phone takes offloads only from the devices its admission.from names") {
  AskOptions priv = kHard;
  priv.privacy = Privacy::kPrivate;  // the phone tier first, the device as fallback
  SUBCASE("the speaker is not listed: declined, the speaker answers itself") {
    World w;
    w.StartPhone("battery_pct: 80\ncharging: true\n", {"car"});
    w.StartSpeaker();
    Result<Answer> a = w.SpeakerClient().Ask("Explain my diagnosis", priv);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(Results(*a) == "phone:declined>device:ok");
    CHECK(a->trail[0].detail.find("'speaker' is not in this phone's admission.from") !=
          std::string::npos);
    CHECK(w.phone_runtime.server().stats().requests.load() == 0);
  }
  SUBCASE("the speaker is listed: the phone answers") {
    World w;
    w.StartPhone("battery_pct: 80\ncharging: true\n", {"car", "speaker"});
    w.StartSpeaker();
    Result<Answer> a = w.SpeakerClient().Ask("Explain my diagnosis", priv);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(Results(*a) == "phone:ok");
  }
}

TEST_CASE("After the first token the next tier continues the answer, or it returns truncated") {
  World w;
  w.stall_timeout = 300ms;
  w.StartPhone();
  w.StartSpeaker();
  Client client = w.SpeakerClient();
  w.cloud.server().SetFault(*modeld::ParseFaultSpec("stall-after=4"));
  std::string streamed;
  Result<Answer> a = client.AskStream("Explain how vaccines work", kHard,
                                      [&](std::string_view t) { streamed += t; });
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(Results(*a) == "cloud:stalled>phone:ok");
  CHECK(a->tier == Tier::kPhone);
  CHECK_FALSE(a->truncated);
  CHECK(a->trail[0].result == "stalled");
  CHECK(streamed == a->text);
  CHECK(a->text.size() > 0);
  // The phone finished the answer: the cloud's 4 tokens count against the 12 asked for.
  CHECK(a->tokens_out == 12);
  CHECK(a->trail[0].tokens_out == 4);
  CHECK(a->trail[1].tokens_out == 8);

  // With the phone gone and the device failing, nothing can continue: truncated, not clean.
  w.cp.agents[0]->Shutdown();
  w.speaker_runtime.server().SetFault(*modeld::ParseFaultSpec("status=500"));
  std::string cut_streamed;
  Result<Answer> cut = client.AskStream("Explain how vaccines work", kHard,
                                        [&](std::string_view t) { cut_streamed += t; });
  REQUIRE_MESSAGE(cut.ok(), cut.status().ToString());
  CHECK(cut->truncated);
  CHECK(cut->truncated_reason.find("no tier could continue") != std::string::npos);
  CHECK(cut->tier == Tier::kCloud);
  CHECK_FALSE(cut->text.empty());
  CHECK(cut->text == cut_streamed);  // the part that arrived, nothing invented
  REQUIRE_FALSE(cut->trail.empty());
  CHECK(cut->trail[0].result == "stalled");
  CHECK(cut->trail.back().result != "ok");
}

TEST_CASE("A stream that breaks after the first token is broken, not stalled, and continues") {
  World w;
  w.StartPhone();
  w.StartSpeaker();
  Client client = w.SpeakerClient();
  w.cloud.server().SetFault(*modeld::ParseFaultSpec("drop-after=4"));
  Result<Answer> a = client.Ask("Explain how vaccines work", kHard);
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(Results(*a) == "cloud:broken>phone:ok");
  CHECK_FALSE(a->truncated);
  CHECK(a->tier == Tier::kPhone);
}

TEST_CASE("A private request never reaches the cloud, whatever fails") {
  World w;
  w.StartPhone("battery_pct: 5\ncharging: false\n");  // declines offloads
  w.StartSpeaker();
  w.speaker_runtime.server().SetFault(*modeld::ParseFaultSpec("status=500"));
  Client client = w.SpeakerClient();
  AskOptions priv = kHard;
  priv.privacy = Privacy::kPrivate;
  const std::uint64_t cloud_before = w.cloud.server().stats().requests.load();
  for (int i = 0; i < 3; ++i) {
    Result<Answer> a = client.Ask("Explain my bank statement", priv);
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().message().find("cloud") == std::string::npos);
  }
  // Router gone too: the offline decision still keeps it home.
  w.cp.StopRouter();
  REQUIRE(w.cp.agents[1]->WaitConnected(false, 5s));
  Result<Answer> offline = client.Ask("Explain my bank statement", priv);
  REQUIRE_FALSE(offline.ok());
  CHECK(w.cloud.server().stats().requests.load() == cloud_before);
  CHECK(w.LedgerRows(0) == 0);
}

TEST_CASE("An agent restarted while the router is down decides offline with the cached policy") {
  World w;
  Result<policy::PolicyPtr> pushed = policy::LoadPolicyFile(w.cp.policy_path());
  REQUIRE(pushed.ok());
  const std::string version = (*pushed)->version();
  const std::string cache = w.cp.dir.File("speaker.policy-cache.yaml");
  CHECK(PolicyCachePath(w.Config("speaker", "smart-speaker", w.speaker_runtime)) == cache);
  REQUIRE(w.StartSpeaker().WaitForPolicy(version, 10s));
  w.cp.agents.back()->Shutdown();  // waits for the cache write
  w.cp.agents.clear();
  REQUIRE(std::filesystem::exists(cache));
  CHECK_FALSE(std::filesystem::exists(cache + ".tmp"));
  w.cp.StopRouter();

  auto restart = [&](const std::string& offline_policy = "") -> Agent& {
    w.cp.agents.clear();  // shuts the previous one down
    AgentConfig c = w.Config("speaker", "smart-speaker", w.speaker_runtime);
    c.offline_policy = offline_policy;
    return w.cp.StartAgent(c, /*wait_connected=*/false);
  };
  {
    Agent& agent = restart();
    CHECK_FALSE(agent.connected());
    CHECK(agent.policy_version() == version);
    Result<Answer> a = w.SpeakerClient().Ask("Turn off the kitchen lights");
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(a->decided_offline);
    CHECK(a->rule == "easy-commands-stay-local");  // a rule of the router's balanced policy
    CHECK(a->policy_version == version);
    CHECK(a->tier == Tier::kDevice);
  }
  // The cache wins over offline_policy: it is what the router last asked for.
  const std::string saver = w.cp.dir.File("battery-saver.yaml");
  partita::testing::WriteAtomically(
      saver, partita::testing::ReadSourceFile("policies/library/battery-saver.yaml"));
  CHECK(restart(saver).policy_version() == version);

  // A corrupt cache is ignored, never fatal: offline_policy (when set) is used instead...
  partita::testing::WriteAtomically(cache, "apiVersion: partita/v1\nkind: Policy\nrules: [\n");
  {
    Agent& agent = restart(saver);
    Result<policy::PolicyPtr> fallback = policy::LoadPolicyFile(saver);
    REQUIRE(fallback.ok());
    CHECK(agent.policy_version() == (*fallback)->version());
    Result<Answer> a = w.SpeakerClient().Ask("Turn off the kitchen lights");
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    CHECK(a->decided_offline);
    CHECK(a->policy_version == (*fallback)->version());
    CHECK(a->rule == "default");  // battery-saver has no rule for easy commands on battery
  }
  // ...and without it the agent has no policy, as before the router ever sent one.
  {
    Agent& agent = restart();
    CHECK(agent.policy_version().empty());
    Result<Answer> a = w.SpeakerClient().Ask("Turn off the kitchen lights");
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().message().find("no policy cached") != std::string::npos);
  }
}

TEST_CASE("Shutdown lets an ask in progress finish and refuses new asks meanwhile") {
  World w;
  Agent& speaker = w.StartSpeaker();
  // 20 tokens, 150 ms apart: about 3 s of answer (under the 3 s stall timeout per token), so
  // the refused ask has seconds to come back while the first is still streaming.
  w.speaker_runtime.server().SetFault(*modeld::ParseFaultSpec("slow-ms=150"));
  AskOptions o;
  o.max_tokens = 20;
  partita::testing::EventQueue<int> chunks;
  partita::testing::EventQueue<int> done;
  std::atomic<bool> finished{false};
  std::string streamed;
  Result<Answer> answer = Internal("no answer");
  std::thread asker([&] {
    Client client = w.SpeakerClient();
    answer = client.AskStream("Turn off the kitchen lights", o, [&](std::string_view t) {
      streamed += t;
      chunks.Push(1);
    });
    finished = true;
    done.Push(1);
  });
  const bool mid_answer = chunks.Pop(10s).has_value();
  speaker.BeginShutdown();
  Result<Answer> refused = w.SpeakerClient().Ask("Turn on the radio");
  const bool refused_during_the_ask = !finished.load();
  speaker.Shutdown();  // returns once the ask in progress has been answered in full
  // The app then has its whole answer (it may read the last frame just after Shutdown returns).
  const bool finished_by_shutdown = done.Pop(10s).has_value();
  asker.join();

  CHECK(mid_answer);
  CHECK(refused_during_the_ask);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("the agent is shutting down") == 0);
  CHECK(finished_by_shutdown);
  REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
  CHECK(Results(*answer) == "device:ok");
  CHECK_FALSE(answer->truncated);
  CHECK(answer->tokens_out == 20);
  CHECK(answer->text == streamed);
  // Its outcome reached the router before the agent closed the connection.
  auto db = storage::Database::Open(w.cp.log_path());
  REQUIRE(db.ok());
  CHECK((*db)
            ->QueryInt("SELECT count(*) FROM requests WHERE device_id = 'speaker' AND "
                       "success = 1 AND tokens_out = 20")
            .value() == 1);
  // Stopped: the socket is gone.
  Result<Answer> after = w.SpeakerClient().Ask("Turn on the radio");
  REQUIRE_FALSE(after.ok());
  CHECK(after.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("The C ABI asks from plain C") {
  World w;
  w.StartSpeaker();
  char error[512] = {0};
  const int failures =
      partita_c_api_checks(w.cp.dir.File("speaker.sock").c_str(), error, sizeof error);
  CHECK_MESSAGE(failures == 0, error);
}

TEST_CASE("A second agent on the same app socket is refused and leaves the first one reachable") {
  World w;
  w.StartSpeaker();
  Result<std::unique_ptr<Agent>> second =
      Agent::Create(w.Config("speaker", "smart-speaker", w.speaker_runtime));
  REQUIRE(second.ok());
  const Status started = (*second)->Start();
  REQUIRE_FALSE(started.ok());
  CHECK(started.message().find("another agent is listening on " + w.cp.dir.File("speaker.sock")) !=
        std::string::npos);
  second->reset();  // the refused agent is gone
  Result<Answer> a = w.SpeakerClient().Ask("turn on the lights");
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK_FALSE(a->text.empty());
}

TEST_CASE("An empty or blank prompt is refused before any tier runs") {
  World w;
  w.StartSpeaker();
  for (const char* prompt : {"", "  \t\n "}) {
    CAPTURE(prompt);
    Result<Answer> a = w.SpeakerClient().Ask(prompt);
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().message().find("the prompt is empty") != std::string::npos);
  }
  CHECK(w.LedgerRows(0) == 0);  // nothing reached the cloud
}

TEST_CASE("An app_socket path that is not a socket is refused and left alone") {
  World w;
  AgentConfig c = w.Config("speaker", "smart-speaker", w.speaker_runtime);
  const std::string path = w.cp.dir.Write("not-a-socket", "an operator's file\n");
  c.app_socket = path;
  Result<std::unique_ptr<Agent>> agent = Agent::Create(c);
  REQUIRE(agent.ok());
  const Status started = (*agent)->Start();
  REQUIRE_FALSE(started.ok());
  CHECK(started.message().find("exists and is not a socket") != std::string::npos);
  agent->reset();
  std::ifstream in(path);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "an operator's file\n");
}

TEST_CASE("The SDK says clearly when no agent is running") {
  partita::testing::TempDir tmp;
  Client client(tmp.File("nobody.sock"));
  Result<Answer> a = client.Ask("hello");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == StatusCode::kUnavailable);
  CHECK(a.status().message().find("no Partita agent at " + tmp.File("nobody.sock")) == 0);
  CHECK(a.status().message().find("partita agent --config") != std::string::npos);
}

}  // namespace
}  // namespace partita::agent
