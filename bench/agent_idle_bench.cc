// The edge agent at rest: a real `partita agent` process connected to a router (in this
// process) with a 5 s heartbeat, measured from /proc after a settling period.
//
//   agent_idle_bench [--seconds 60] [--partita PATH] [--floor PATH]
//
// Prints the agent's resident memory (VmRSS, USS: its private pages, PSS: shared pages divided
// among their sharers) and its CPU use over the window, and beside it the
// resident memory of tls_client_floor: the least a process holding one mutual-TLS connection to
// the router needs with the system's shared OpenSSL (and no C++ runtime).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/flags.h"
#include "common/log.h"
#include "net/pki.h"
#include "router/router.h"

using namespace partita;

namespace {

// The agent's resident memory by mapping (file or [anon]), largest first, as "name kB" lines.
std::string ResidentByMapping(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, long> kb;
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.rfind("Rss:", 0) == 0) {
      kb[current] += std::stol(line.substr(4));
    } else if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
               line.find('-') < line.find(' ')) {
      const auto path = line.find('/');
      const auto bracket = line.find('[');
      current = path != std::string::npos      ? line.substr(path)
                : bracket != std::string::npos ? line.substr(bracket)
                                               : "[anon]";
    }
  }
  std::vector<std::pair<long, std::string>> rows;
  for (const auto& [name, k] : kb) rows.emplace_back(k, name);
  std::sort(rows.rbegin(), rows.rend());
  std::string out;
  for (std::size_t i = 0; i < rows.size() && i < 8; ++i) {
    out += "  " + std::to_string(rows[i].first) + " kB  " + rows[i].second + "\n";
  }
  return out;
}

double CpuSecondsOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Key:   1234 kB" field of /proc/PID/{status,smaps_rollup}.
long FieldKb(pid_t pid, const char* file, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// Forks and execs `argv` (a null-terminated list); the child's pid.
pid_t Spawn(const std::vector<const char*>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  return pid;
}

int Stop(pid_t pid) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 60;
  std::string partita = std::string(PARTITA_BINARY_DIR) + "/../build/sdk/cli/partita";
  std::string floor = PARTITA_TLS_CLIENT_FLOOR;
  bench::Flags("usage: agent_idle_bench [--seconds 60] [--partita PATH] [--floor PATH]")
      .Option("--seconds", &seconds)
      .Option("--partita", &partita)
      .Option("--floor", &floor)
      .Parse(argc, argv);
  if (!std::filesystem::exists(partita)) {
    std::fprintf(stderr, "no partita binary at %s (build it, or pass --partita PATH)\n",
                 partita.c_str());
    return 1;
  }
  SetLogLevel(LogLevel::kWarn);
  const std::string dir = std::filesystem::temp_directory_path() / "partita-agent-idle";
  std::filesystem::remove_all(dir);
  net::PkiInitOptions pki;
  pki.dir = dir + "/pki";
  pki.device_ids = {"speaker"};
  if (!net::InitPki(pki).ok()) return 1;
  router::RouterConfig config;
  config.listen = "127.0.0.1:0";
  config.metrics_listen = "";
  config.tls = net::RouterTlsFiles(pki.dir);
  config.policy_file = std::string(PARTITA_SOURCE_DIR) + "/policies/library/balanced.yaml";
  config.decision_log = dir + "/router.db";
  config.heartbeat_interval = std::chrono::milliseconds(5000);
  auto router = router::Router::Create(config);
  if (!router.ok() || !(*router)->Start().ok()) return 1;
  const std::string agent_yaml = dir + "/speaker.yaml";
  std::ofstream(agent_yaml) << "apiVersion: partita/v1\nkind: AgentConfig\ndevice_id: speaker\n"
                               "profile: smart-speaker\npki_dir: pki\nrouter: 127.0.0.1:"
                            << (*router)->agent_endpoint().port() << "\napp_socket: " << dir
                            << "/speaker.sock\n";
  const pid_t pid = Spawn(
      {partita.c_str(), "--log-level", "warn", "agent", "--config", agent_yaml.c_str(), nullptr});
  if (pid < 0) {
    std::perror("agent_idle_bench: fork");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));  // connect and settle
  const double cpu0 = CpuSecondsOf(pid);
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double cpu = CpuSecondsOf(pid) - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long rss = FieldKb(pid, "status", "VmRSS");
  const long anon = FieldKb(pid, "status", "RssAnon");
  const long pss = FieldKb(pid, "smaps_rollup", "Pss");
  // USS: the pages only this process maps (what stopping it would give back).
  const long uss =
      FieldKb(pid, "smaps_rollup", "Private_Clean") + FieldKb(pid, "smaps_rollup", "Private_Dirty");
  const bool connected = (*router)->registry().online() == 1;
  const std::string smaps = ResidentByMapping(pid);
  // The floor starts once the agent is measured (sharing pages with it would lower the
  // agent's PSS). Its connection sends no Hello: the router closes it, with a warning not
  // worth printing here.
  SetLogLevel(LogLevel::kError);
  const net::TlsFiles device = net::DeviceTlsFiles(pki.dir, "speaker");
  const std::string port = std::to_string((*router)->agent_endpoint().port());
  long floor_rss = -1;
  std::string floor_smaps;
  if (std::filesystem::exists(floor)) {
    const pid_t floor_pid = Spawn({floor.c_str(), "127.0.0.1", port.c_str(), device.ca_file.c_str(),
                                   device.cert_file.c_str(), device.key_file.c_str(), nullptr});
    if (floor_pid > 0) {
      std::this_thread::sleep_for(std::chrono::seconds(2));  // connect and settle
      floor_rss = FieldKb(floor_pid, "status", "VmRSS");
      floor_smaps = ResidentByMapping(floor_pid);
      Stop(floor_pid);
    }
  }
  const int exit_status = Stop(pid);
  (*router)->Shutdown();
  std::printf("agent idle for %.0f s with a 5 s heartbeat (connected: %s)\n", wall,
              connected ? "yes" : "NO");
  std::printf(
      "resident memory (VmRSS) %.1f MB, of which anonymous %.1f MB; USS (private pages) %.1f MB "
      "(target <= 3 MB); PSS (shared pages divided among their sharers) %.1f MB (target <= 10 "
      "MB)\n",
      static_cast<double>(rss) / 1024.0, static_cast<double>(anon) / 1024.0,
      static_cast<double>(uss) / 1024.0, static_cast<double>(pss) / 1024.0);
  std::printf("largest resident mappings:\n%s", smaps.c_str());
  std::printf("CPU %.3f%% of one core   exit status %d\n", 100.0 * cpu / wall, exit_status);
  if (floor_rss > 0) {
    std::printf(
        "floor: one mutual-TLS connection to the router from a minimal client with no C++ "
        "runtime (tls_client_floor): VmRSS %.1f MB; the agent is %.1f MB above it\n",
        static_cast<double>(floor_rss) / 1024.0, static_cast<double>(rss - floor_rss) / 1024.0);
    std::printf("floor's largest resident mappings:\n%s", floor_smaps.c_str());
  } else {
    std::printf("floor: not measured (no %s, or it failed to start)\n", floor.c_str());
  }
  std::filesystem::remove_all(dir);
  return 0;
}
