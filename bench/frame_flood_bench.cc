// Announced-frame flood: what connections that announce a large frame and send little of it
// cost a real `partita router` process and a phone's `partita agent` (its peer port).
//
//   frame_flood_bench [--connections 200] [--same-identity 600] [--partita PATH]
//
// For each target: VmRSS before; `--connections` connections from as many device certificates,
// each sending a 1 MiB length prefix and 1,000 bytes, held open; VmRSS then; the same from one
// certificate `--same-identity` times (how many were accepted, and VmRSS); all closed; VmRSS
// once the process has let them go. Before the fix (announced frames allocated up front, no
// limit per identity) the router went from 45 to 251 MB for 200 connections and to 688 MB for
// 600 from one certificate, and kept 683 MB after they closed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/flags.h"
#include "net/asio.h"
#include "net/pki.h"
#include "net/tls.h"
#include "net/tls_listener.h"

using namespace partita;
using namespace std::chrono_literals;

namespace {

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// The first capture of `pattern` in the log file, waiting up to 20 s.
std::string WaitLog(const std::string& log, const std::string& pattern) {
  const std::regex re(pattern);
  for (int i = 0; i < 2000; ++i) {
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    std::smatch m;
    if (std::regex_search(text, m, re)) return m[1].str();
    std::this_thread::sleep_for(10ms);
  }
  return "";
}

struct Flood {
  std::size_t accepted = 0;
  long rss_kb = 0;
};

// Opens `count` connections to port, the i-th with certs[i % certs.size()], each announcing a
// 1 MiB frame and sending 1,000 bytes; measures `pid`'s VmRSS with them held open.
Flood FloodWith(std::uint16_t port, const std::vector<net::TlsContextPtr>& certs, std::size_t count,
                pid_t pid) {
  net::asio::io_context io;
  std::vector<std::unique_ptr<net::TlsStream>> held;
  std::string announced(4, '\0');
  announced[1] = 0x10;  // 1 MiB
  announced += std::string(1000, 'x');
  Flood f;
  for (std::size_t i = 0; i < count; ++i) {
    std::optional<Result<net::TlsStream>> stream;
    net::asio::co_spawn(
        io,
        [&]() -> net::asio::awaitable<void> {
          stream.emplace(co_await net::ConnectTls(io.get_executor(), "127.0.0.1", port,
                                                  certs[i % certs.size()], 5s));
        },
        net::asio::detached);
    io.restart();
    io.run();
    if (!stream || !stream->ok()) continue;
    net::error_code ec;
    net::asio::write(**stream, net::asio::buffer(announced), ec);
    if (!ec) held.push_back(std::make_unique<net::TlsStream>(std::move(**stream)));
  }
  std::this_thread::sleep_for(1s);  // the server reads what was sent
  // A refused connection is closed by the server: count those still open (reading what is
  // there, such as session tickets, ends in would_block, not the end of the stream).
  for (auto& s : held) {
    net::tcp::socket& socket = net::beast::get_lowest_layer(*s).socket();
    socket.non_blocking(true);
    char bytes[4096];
    net::error_code ec;
    while (!ec) socket.receive(net::asio::buffer(bytes), 0, ec);
    if (ec == net::asio::error::would_block) ++f.accepted;
  }
  f.rss_kb = RssKb(pid);
  return f;
}

void Measure(const char* name, pid_t pid, std::uint16_t port,
             const std::vector<net::TlsContextPtr>& many, const net::TlsContextPtr& one,
             std::size_t connections, std::size_t same) {
  const long before = RssKb(pid);
  const Flood spread = FloodWith(port, many, connections, pid);
  std::this_thread::sleep_for(6s);  // the flood's connections time out (no Hello)
  const Flood single = FloodWith(port, {one}, same, pid);
  std::this_thread::sleep_for(8s);  // all closed and let go
  const long after = RssKb(pid);
  std::printf(
      "%-6s VmRSS %6.1f MB before | %zu connections, %zu identities: %6.1f MB (%zu held) | %zu "
      "from one identity: %6.1f MB (%zu accepted) | after: %6.1f MB\n",
      name, before / 1024.0, connections, many.size(), spread.rss_kb / 1024.0, spread.accepted,
      same, single.rss_kb / 1024.0, single.accepted, after / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t connections = 200;
  std::size_t same = 600;
  std::string partita = std::string(PARTITA_BINARY_DIR) + "/../build/sdk/cli/partita";
  bench::Flags(
      "usage: frame_flood_bench [--connections 200] [--same-identity 600] [--partita PATH]")
      .Option("--connections", &connections)
      .Option("--same-identity", &same)
      .Option("--partita", &partita)
      .Parse(argc, argv);
  if (!std::filesystem::exists(partita)) {
    std::fprintf(stderr, "no partita binary at %s (build it, or pass --partita PATH)\n",
                 partita.c_str());
    return 1;
  }
  const std::string dir = std::filesystem::temp_directory_path() / "partita-frame-flood";
  std::filesystem::remove_all(dir);
  net::PkiInitOptions pki;
  pki.dir = dir + "/pki";
  pki.device_ids = net::NumberedDeviceIds(static_cast<int>(connections));
  pki.device_ids.push_back("phone");
  if (!net::InitPki(pki).ok()) return 1;
  std::ofstream(dir + "/router.yaml")
      << "apiVersion: partita/v1\nkind: RouterConfig\nlisten: 127.0.0.1:0\npki_dir: pki\n"
         "policy: "
      << PARTITA_SOURCE_DIR << "/policies/library/balanced.yaml\ndecision_log: router.db\n";
  const pid_t router =
      Spawn({partita, "router", "--config", dir + "/router.yaml"}, dir + "/router.log");
  const std::string router_port =
      WaitLog(dir + "/router.log", R"(listening on 127\.0\.0\.1:(\d+))");
  std::ofstream(dir + "/phone.yaml")
      << "apiVersion: partita/v1\nkind: AgentConfig\ndevice_id: phone\nprofile: phone-mid\n"
         "pki_dir: pki\nrouter: 127.0.0.1:"
      << router_port << "\napp_socket: " << dir
      << "/phone.sock\npeer_listen: 127.0.0.1:0\nruntime: {url: 'http://127.0.0.1:1/v1'}\n";
  const pid_t phone =
      Spawn({partita, "agent", "--config", dir + "/phone.yaml"}, dir + "/phone.log");
  const std::string phone_port = WaitLog(dir + "/phone.log", R"(offloads on 127\.0\.0\.1:(\d+))");
  if (router_port.empty() || phone_port.empty()) {
    std::fprintf(stderr, "the router or the phone did not start; see %s\n", dir.c_str());
    return 1;
  }
  std::this_thread::sleep_for(2s);
  std::vector<net::TlsContextPtr> many;
  for (const std::string& id : net::NumberedDeviceIds(static_cast<int>(connections))) {
    many.push_back(*net::MakeClientTlsContext(net::DeviceTlsFiles(pki.dir, id),
                                              {net::PeerKind::kRouter, net::PeerKind::kDevice}));
  }
  const net::TlsContextPtr one = many.front();
  Measure("router", router, static_cast<std::uint16_t>(std::stoi(router_port)), many, one,
          connections, same);
  Measure("phone", phone, static_cast<std::uint16_t>(std::stoi(phone_port)), many, one, connections,
          same);
  kill(phone, SIGTERM);
  kill(router, SIGTERM);
  waitpid(phone, nullptr, 0);
  waitpid(router, nullptr, 0);
  std::filesystem::remove_all(dir);
  return 0;
}
