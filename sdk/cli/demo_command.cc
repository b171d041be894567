// `partita demo`: the whole system on loopback, in one command.
//
// A fresh PKI in a temporary directory; the router, the cloud gateway, three simulated model
// servers (modeld) and three agents (a smart speaker, a mid-tier phone and a car in one
// household), each a real process talking over real sockets with TLS 1.3. It asks questions
// that land on every tier for a visible reason, kills the cloud's model server in the middle of
// an answer to show the fallback, prints what happened, runs a small fleet simulation, writes
// report.html, and stops everything it started.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "device_profiles/catalog_loader.h"
#include "http/io.h"
#include "net/asio.h"
#include "net/pki.h"
#include "policies/loader.h"
#include "reports/render.h"
#include "reports/report.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/text_table.h"
#include "sdk/client.h"
#include "sim/run.h"

namespace partita::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct DemoArgs {
  std::string out = "report.html";
  std::string repo = PARTITA_SOURCE_DIR;
  bool keep = false;
};

// Ctrl-C, SIGTERM or SIGHUP while the demo runs: the processes it started are stopped and its
// temporary directory (private keys, logs, databases) is removed, then the demo dies of the
// same signal. While one exists, a thread waits for those signals, blocked in every other
// thread of the demo (its children unblock them before exec); a signal the demo was started
// with ignored (nohup, a background job) stays ignored. Forks and reaps of the children go
// through it, so that none is started after the cleanup began and none is reaped twice.
class InterruptCleanup {
 public:
  InterruptCleanup() {
    sigemptyset(&signals_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction current {};
      if (sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
      sigaddset(&signals_, sig);
    }
    sigaddset(&signals_, SIGTERM);  // also how the destructor wakes the thread
    pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
    instance_ = this;
    thread_ = std::thread([this] { Wait(); });
  }
  ~InterruptCleanup() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait, which sees done_
    thread_.join();
    instance_ = nullptr;
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;

  // fork(), except after an interruption (-1). The parent tracks the child.
  static pid_t Fork() {
    if (instance_ == nullptr) return fork();
    std::lock_guard<std::mutex> lock(instance_->mu_);
    if (instance_->interrupted_) return -1;
    const pid_t pid = fork();
    if (pid > 0) instance_->pids_.push_back(pid);
    return pid;
  }
  // waitpid(pid, WNOHANG unless `block`); a reaped child is no longer tracked.
  static pid_t Reap(pid_t pid, bool block) {
    std::unique_lock<std::mutex> lock;
    if (instance_ != nullptr) lock = std::unique_lock<std::mutex>(instance_->mu_);
    int status = 0;
    const pid_t r = waitpid(pid, &status, block ? 0 : WNOHANG);
    if (instance_ != nullptr && r != 0) std::erase(instance_->pids_, pid);
    return r;
  }
  void RemoveOnInterrupt(std::string dir) {
    std::lock_guard<std::mutex> lock(mu_);
    dir_ = std::move(dir);
  }
  // For a child between fork and exec: the default signal mask back.
  static void UnblockInChild() {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
  }

 private:
  void Wait() {
    int sig = 0;
    sigwait(&signals_, &sig);
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    interrupted_ = true;
    std::fflush(stdout);
    std::fprintf(stderr, "\npartita demo: interrupted; stopping what it started\n");
    for (pid_t pid : pids_) kill(pid, SIGTERM);
    const auto until = Clock::now() + 5s;
    for (pid_t pid : pids_) {
      int status = 0;
      pid_t r = 0;
      while ((r = waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() < until) {
        std::this_thread::sleep_for(10ms);
      }
      if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      if (ec) fs::remove_all(dir_, ec);  // once more: a file may have appeared meanwhile
      if (ec) {
        std::fprintf(stderr, "partita demo: could not remove %s: %s\n", dir_.c_str(),
                     ec.message().c_str());
      } else {
        std::fprintf(stderr, "partita demo: removed %s\n", dir_.c_str());
      }
    }
    std::fflush(stderr);
    // Die of the signal, as a shell expects of an interrupted command.
    std::signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    kill(getpid(), sig);
    std::_Exit(128 + sig);
  }

  static inline InterruptCleanup* instance_ = nullptr;
  sigset_t signals_{};
  sigset_t previous_{};
  std::mutex mu_;
  bool done_ = false;         // guarded by mu_
  bool interrupted_ = false;  // guarded by mu_
  std::vector<pid_t> pids_;   // guarded by mu_
  std::string dir_;           // guarded by mu_; "" with --keep
  std::thread thread_;
};

// A child process running `partita <args>`, its output in a log file.
class Child {
 public:
  Child(std::string name, std::vector<std::string> args, const std::string& log)
      : name_(std::move(name)), log_(log) {
    pid_ = InterruptCleanup::Fork();
    if (pid_ == 0) {
      InterruptCleanup::UnblockInChild();
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      std::vector<char*> argv;
      static std::string self = "/proc/self/exe";
      argv.push_back(self.data());
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      _exit(127);
    }
  }
  ~Child() { Stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  const std::string& name() const { return name_; }
  const std::string& log() const { return log_; }
  bool running() {
    if (pid_ <= 0) return false;
    if (InterruptCleanup::Reap(pid_, false) != 0) {  // exited (or already reaped)
      pid_ = -1;
      return false;
    }
    return true;
  }
  // SIGTERM, then SIGKILL if it has not exited within `grace`.
  void Stop(std::chrono::milliseconds grace = 5s) {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto until = Clock::now() + grace;
    while (Clock::now() < until) {
      if (InterruptCleanup::Reap(pid_, false) != 0) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    Kill();
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    InterruptCleanup::Reap(pid_, true);
    pid_ = -1;
  }

 private:
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
};

std::uint16_t FreePort() {
  asio::io_context io;
  net::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool TcpReady(std::uint16_t port) {
  asio::io_context io;
  net::tcp::socket s(io);
  net::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

asio::awaitable<std::string> GetBody(std::uint16_t port, std::string target) {
  net::beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(2s);
  auto [ec] = co_await stream.async_connect(
      net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), net::use_nothrow_awaitable);
  if (ec) co_return std::string();
  http::ReadBuffer buffer;
  http::Response response;
  const http::ReadResult r = co_await http::Exchange(
      stream, http::GetRequest("127.0.0.1", target, "partita-demo", /*close=*/true), buffer,
      response);
  co_return r.status == http::ReadStatus::kOk ? response.body : std::string();
}

// The body of GET `target` on a loopback port ("" when it does not answer).
std::string HttpGet(std::uint16_t port, const std::string& target) {
  asio::io_context io;
  std::string body;
  asio::co_spawn(io, GetBody(port, target),
                 [&body](std::exception_ptr, std::string b) { body = std::move(b); });
  io.run();
  return body;
}

// Polls `ready` every 20 ms until it holds or `timeout` passes (waiting on other processes).
bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return ready();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Trail(const Answer& a) {
  std::string out;
  for (const AttemptInfo& t : a.trail) {
    if (!out.empty()) out += " > ";
    out += std::string(t.tier ? Name(*t.tier) : "?") + " " + t.result;
  }
  return out;
}

struct Row {
  std::string device;
  std::string question;
  std::string why;
  Result<Answer> answer = Status(StatusCode::kInternal, "not asked");
};

class Demo {
 public:
  explicit Demo(DemoArgs args) : args_(std::move(args)) {}
  ~Demo() { StopAll(); }

  int Run() {
    if (!fs::exists(args_.repo + "/policies/library/balanced.yaml")) {
      PrintError("cannot find the repository at '" + args_.repo +
                 "' (policies/library/balanced.yaml); run the demo from a checkout with "
                 "`make demo`, or pass --repo DIR");
      return 1;
    }
    char templ[] = "/tmp/partita-demo-XXXXXX";
    if (mkdtemp(templ) == nullptr) {
      PrintError("cannot create a temporary directory");
      return 1;
    }
    dir_ = templ;
    if (!args_.keep) interrupt_.RemoveOnInterrupt(dir_);
    std::printf("Partita demo: everything runs on loopback; files and logs in %s\n\n",
                dir_.c_str());
    if (!StartEverything()) return Fail();
    AskQuestions();
    PrintTable();
    const bool fallback_ok = ShowFallback();
    std::printf(
        "\nModel outputs above are SIMULATED: `partita modeld` streams placeholder text at the\n"
        "speed of each model in the catalog. To answer with real models, point an agent's\n"
        "runtime.url at llama.cpp's server or Ollama, and the gateway's upstreams at vLLM or any\n"
        "OpenAI-compatible API (docs/backends.md). Everything else you saw is the real system.\n");
    StopAll();
    std::printf("\nStopped the router, the gateway, the agents and the model servers.\n");
    const bool sim_ok = SimulateAndReport();
    if (!args_.keep) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    return fallback_ok && sim_ok && failures_ == 0 ? 0 : 1;
  }

 private:
  int Fail() {
    std::fprintf(stderr, "\npartita demo failed; logs are in %s\n", dir_.c_str());
    StopAll();
    return 1;
  }

  Child& Start(const std::string& name, std::vector<std::string> args) {
    children_.push_back(std::make_unique<Child>(name, std::move(args), dir_ + "/" + name + ".log"));
    return *children_.back();
  }

  bool Step(const std::string& what, const std::function<bool()>& ready) {
    std::printf("  %-50s", (what + " ...").c_str());
    std::fflush(stdout);
    const bool ok = WaitFor(ready, 20s);
    std::printf("%s\n", ok ? "ok" : "FAILED");
    return ok;
  }

  void StopAll() {
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) (*it)->Stop();
    children_.clear();
  }

  bool StartEverything() {
    const std::string pki = dir_ + "/pki";
    net::PkiInitOptions o;
    o.dir = pki;
    o.device_ids = {"speaker", "phone", "car"};
    if (Result<net::PkiResult> r = net::InitPki(o); !r.ok()) {
      PrintError(r.status().message());
      return false;
    }
    std::printf("  %-50sok\n", "a fresh PKI (CA, router, gateway, 3 devices) ...");
    const std::uint16_t small_port = FreePort(), mid_port = FreePort(), big_port = FreePort();
    const std::uint16_t gw_port = FreePort(), gw_ops = FreePort();
    router_port_ = FreePort();
    metrics_port_ = FreePort();
    auto port = [](std::uint16_t p) { return std::to_string(p); };
    // Rates x4 so the demo takes seconds, not minutes; relative speeds are the catalog's.
    Start("modeld-speaker", {"modeld", "--model", "milm-1.3b", "--device", "smart-speaker",
                             "--port", port(small_port), "--rate-scale", "4"});
    Start("modeld-phone", {"modeld", "--model", "milm-7b-moe", "--device", "phone-mid", "--port",
                           port(mid_port), "--rate-scale", "4"});
    cloud_model_ = &Start("modeld-cloud", {"modeld", "--model", "milm-70b-moe", "--port",
                                           port(big_port), "--rate-scale", "1"});
    if (!Step("3 simulated model servers (modeld)",
              [&] { return TcpReady(small_port) && TcpReady(mid_port) && TcpReady(big_port); })) {
      return false;
    }
    Write(dir_ + "/gateway.yaml",
          "listen: 127.0.0.1:" + port(gw_port) +
              "\ntls: {ca: pki/ca.crt, cert: pki/gateway.crt, key: pki/gateway.key}\n"
              "metrics_listen: 127.0.0.1:" +
              port(gw_ops) +
              "\nledger: gateway-ledger.db\n"
              "timeouts: {first_token_ms: 5000, between_chunks_ms: 1500}\n"
              "models:\n"
              "  - name: milm-70b-moe\n"
              "    upstreams: [{name: big, url: 'http://127.0.0.1:" +
              port(big_port) +
              "/v1'}]\n"
              "  - name: milm-7b-moe\n"
              "    upstreams: [{name: mid, url: 'http://127.0.0.1:" +
              port(big_port) + "/v1'}]\n");
    Start("gateway", {"gateway", "--config", dir_ + "/gateway.yaml"});
    if (!Step("the cloud gateway (TLS 1.3, metering)", [&] { return TcpReady(gw_port); })) {
      return false;
    }
    policy_path_ = dir_ + "/policy.yaml";
    Write(policy_path_, ReadFile(args_.repo + "/policies/library/balanced.yaml"));
    Write(dir_ + "/router.yaml",
          "apiVersion: partita/v1\nkind: RouterConfig\nlisten: 127.0.0.1:" + port(router_port_) +
              "\nmetrics_listen: 127.0.0.1:" + port(metrics_port_) +
              "\npki_dir: pki\npolicy: policy.yaml\ndecision_log: router.db\n"
              "heartbeat_interval_ms: 1000\ncloud:\n  health_url: http://127.0.0.1:" +
              port(gw_ops) +
              "/v1/partita/health\n  poll_interval_ms: 500\n"
              "households: {speaker: home, phone: home, car: home}\n");
    Start("router", {"router", "--config", dir_ + "/router.yaml"});
    if (!Step("the router (policy 'balanced')", [&] { return TcpReady(router_port_); })) {
      return false;
    }
    auto agent = [&](const std::string& id, const std::string& profile, std::uint16_t runtime,
                     const std::string& extra, const std::string& state) {
      Write(dir_ + "/" + id + "-state.yaml", state);
      Write(dir_ + "/" + id + ".yaml",
            "apiVersion: partita/v1\nkind: AgentConfig\ndevice_id: " + id +
                "\nprofile: " + profile + "\nhousehold: home\npki_dir: pki\nrouter: 127.0.0.1:" +
                port(router_port_) + "\napp_socket: " + dir_ + "/" + id +
                ".sock\nheartbeat_interval_ms: 1000\nruntime: {url: 'http://127.0.0.1:" +
                port(runtime) + "/v1'}\ngateway: {url: 'https://127.0.0.1:" + port(gw_port) +
                "/v1'}\nstate_file: " + id +
                "-state.yaml\nttft_timeout_ms: 3000\n"
                "stall_timeout_ms: 800\n" +
                extra);
      Start("agent-" + id, {"agent", "--config", dir_ + "/" + id + ".yaml"});
    };
    agent("speaker", "smart-speaker", small_port, "", "network: {type: wifi}\n");
    agent("phone", "phone-mid", mid_port, "peer_listen: 127.0.0.1:" + port(FreePort()) + "\n",
          "battery_pct: 85\ncharging: false\nnetwork: {type: wifi}\n");
    agent("car", "car", small_port, "", "network: {type: cellular, metered: true}\n");
    if (!Step("3 agents: speaker, phone, car (one household)", [&] {
          const std::string m = HttpGet(metrics_port_, "/metrics");
          return m.find("partita_router_connected_devices 3") != std::string::npos;
        })) {
      return false;
    }
    // The router has seen the gateway healthy before the first question.
    WaitFor(
        [&] {
          return HttpGet(gw_ops, "/v1/partita/health").find("\"healthy\":true") !=
                 std::string::npos;
        },
        5s);
    return true;
  }

  Result<Answer> Ask(const std::string& device, const std::string& question,
                     const AskOptions& options) {
    Client client(dir_ + "/" + device + ".sock");
    return client.Ask(question, options);
  }

  void AskQuestions() {
    std::printf("\nAsking questions (each line: where it ran, and the rule that chose it):\n");
    auto ask = [&](const std::string& device, const std::string& question, const std::string& why,
                   AskOptions options = {}) {
      Row row{device, question, why, Ask(device, question, options)};
      if (!row.answer.ok()) ++failures_;
      std::printf("  %-7s %-46s -> %s\n", device.c_str(), question.c_str(),
                  row.answer.ok() ? std::string(Name(row.answer->tier)).c_str() : "FAILED");
      rows_.push_back(std::move(row));
    };
    ask("speaker", "Turn off the kitchen lights", "a quick command stays on the device");
    ask("car", "Navigate to the nearest charging station", "a quick command stays on the device");
    AskOptions hard;
    hard.kind = RequestKind::kReasoning;
    hard.max_tokens = 120;
    ask("speaker", "Explain step by step how a heat pump works",
        "a hard question goes to the cloud", hard);
    AskOptions priv;
    priv.privacy = Privacy::kPrivate;
    priv.kind = RequestKind::kReasoning;
    priv.max_tokens = 80;
    ask("speaker", "Summarize my doctor's notes from today", "private: never the cloud", priv);
    AskOptions chat;
    chat.kind = RequestKind::kChat;
    chat.max_tokens = 60;
    ask("speaker", "What should I cook with leeks and potatoes?", "best by the objective", chat);
    // The phone's battery runs down: its own requests go to the cloud.
    Write(dir_ + "/phone-state.yaml", "battery_pct: 12\ncharging: false\nnetwork: {type: wifi}\n");
    std::this_thread::sleep_for(1500ms);  // the agent re-reads its state file every second
    ask("phone", "Plan a three-day trip to Kyoto", "a drained battery offloads", chat);
    Write(dir_ + "/phone-state.yaml", "battery_pct: 85\ncharging: false\nnetwork: {type: wifi}\n");
    std::this_thread::sleep_for(1500ms);
  }

  void PrintTable() {
    std::printf("\n");
    TextTable t({"#", "device", "question", "tier", "model", "rule", "ttft_ms", "total_ms",
                 "cost_usd", "trail"});
    int n = 0;
    for (const Row& r : rows_) {
      ++n;
      if (!r.answer.ok()) {
        t.AddRow({std::to_string(n), r.device, r.question, "FAILED", "", "", "", "", "",
                  r.answer.status().message()});
        continue;
      }
      const Answer& a = *r.answer;
      t.AddRow({std::to_string(n), r.device, r.question, std::string(Name(a.tier)), a.model, a.rule,
                FormatNumber(a.ttft_ms, 0), FormatNumber(a.total_ms, 0),
                FormatNumber(a.cost_usd, 7), Trail(a)});
    }
    std::printf("%s", t.ToString().c_str());
    std::printf("\nWhy: ");
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      std::printf("%s%zu %s", i ? "; " : "", i + 1, rows_[i].why.c_str());
    }
    std::printf(".\n");
  }

  bool ShowFallback() {
    std::printf(
        "\nFallback: the speaker asks a hard question; the cloud's model server is killed\n"
        "after the first words of the answer...\n\n  ");
    std::fflush(stdout);
    AskOptions hard;
    hard.kind = RequestKind::kReasoning;
    hard.max_tokens = 300;
    std::promise<void> first_words;
    bool signalled = false;
    std::size_t streamed = 0;
    Client client(dir_ + "/speaker.sock");
    std::thread killer([&] {
      first_words.get_future().wait();
      std::this_thread::sleep_for(300ms);
      cloud_model_->Kill();
    });
    Result<Answer> a =
        client.AskStream("Explain step by step why the sky is blue at noon and red at sunset", hard,
                         [&](std::string_view text) {
                           streamed += text.size();
                           if (streamed <= 240) std::fwrite(text.data(), 1, text.size(), stdout);
                           std::fflush(stdout);
                           if (!signalled) {
                             signalled = true;
                             first_words.set_value();
                           }
                         });
    if (!signalled) first_words.set_value();
    killer.join();
    std::printf("%s\n\n", streamed > 240 ? " ..." : "");
    if (!a.ok()) {
      std::printf("  the answer failed: %s\n", a.status().message().c_str());
      return false;
    }
    std::printf("  completed on the %s (%s) after the cloud stopped: trail %s%s\n",
                std::string(Name(a->tier)).c_str(), a->model.c_str(), Trail(*a).c_str(),
                a->truncated ? " (TRUNCATED)" : "");
    std::printf("  the app saw one answer, %u tokens, first token after %s ms, done after %s ms\n",
                a->tokens_out, FormatNumber(a->ttft_ms, 0).c_str(),
                FormatNumber(a->total_ms, 0).c_str());
    return a->trail.size() >= 2 && !a->truncated;
  }

  bool SimulateAndReport() {
    std::printf(
        "\nA fleet simulation: 100 devices for 24 simulated hours, policies 'balanced' "
        "and 'battery-saver'...\n");
    CatalogPtr catalog = DefaultCatalog();
    Result<sim::FleetPtr> fleet =
        sim::LoadFleetFile(args_.repo + "/sim/fleets/household-100.yaml", *catalog);
    if (!fleet.ok()) {
      PrintError(fleet.status().message());
      return false;
    }
    sim::SimulationOptions options;
    options.fleet = *fleet;
    for (const char* name : {"balanced", "battery-saver"}) {
      Result<policy::PolicyPtr> p =
          policy::LoadPolicyFile(args_.repo + "/policies/library/" + name + ".yaml", catalog);
      if (!p.ok()) {
        PrintError(p.status().message());
        return false;
      }
      options.policies.push_back(*p);
    }
    options.hours = 24;
    options.seed = 1;
    options.out_path = dir_ + "/run.db";
    Result<std::vector<sim::RunSummary>> runs = sim::RunSimulation(options);
    if (!runs.ok()) {
      PrintError(runs.status().message());
      return false;
    }
    reports::BuildOptions build;
    build.partita_version = PARTITA_VERSION;
    build.command = "partita demo";
    Result<reports::Report> report = reports::BuildReport({options.out_path}, build);
    if (!report.ok()) {
      PrintError(report.status().message());
      return false;
    }
    if (Status s = reports::WriteFile(args_.out, reports::RenderHtml(*report)); !s.ok()) {
      PrintError(s.message());
      return false;
    }
    for (const sim::RunSummary& r : *runs) {
      std::printf("  %-14s %6llu requests, %4.1f%% answered, p95 %s ms\n", r.info.label.c_str(),
                  static_cast<unsigned long long>(r.stats.requests),
                  r.stats.requests ? 100.0 * r.stats.succeeded / r.stats.requests : 0.0,
                  FormatNumber(r.stats.latency_ms.Percentile(95), 0).c_str());
    }
    std::error_code ec;
    const std::string where = fs::absolute(args_.out, ec).string();
    std::printf("\nWrote the tradeoff report: %s\n  open it: file://%s\n", args_.out.c_str(),
                where.c_str());
    return true;
  }

  DemoArgs args_;
  InterruptCleanup interrupt_;  // before children_: destroyed after them
  std::string dir_;
  std::string policy_path_;
  std::uint16_t router_port_ = 0;
  std::uint16_t metrics_port_ = 0;
  std::vector<std::unique_ptr<Child>> children_;
  Child* cloud_model_ = nullptr;
  std::vector<Row> rows_;
  int failures_ = 0;
};

}  // namespace

void AddDemoCommands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Run the whole system on loopback: router, gateway, simulated models, three agents; "
      "ask questions on every tier, show a fallback, simulate a fleet and write report.html");
  demo->add_option("--out", args->out, "Where to write the report")->default_val("report.html");
  demo->add_option("--repo", args->repo,
                   "The Partita checkout (for the shipped policies and fleets)")
      ->default_val(PARTITA_SOURCE_DIR);
  demo->add_flag("--keep", args->keep, "Keep the temporary directory (configs, logs, databases)");
  demo->callback([args, &exit_code] { exit_code = Demo(*args).Run(); });
}

}  // namespace partita::cli
