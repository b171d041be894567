// The smallest Partita app: ask the local agent, print the answer and where it ran.
//   build: see CMakeLists.txt next to this file;  run: ./hello "Turn off the kitchen lights"
#include <iostream>

#include "sdk/client.h"

int main(int argc, char** argv) {
  partita::Client client;  // the agent's socket: $PARTITA_SOCKET, else /tmp/partita.sock
  partita::AskOptions options;
  options.privacy = partita::Privacy::kNormal;
  auto answer = client.Ask(argc > 1 ? argv[1] : "What time is sunset today?", options);
  if (!answer) {
    std::cerr << "partita: " << answer.status().message() << "\n";
    return 1;
  }
  std::cout << answer->text << "\n[" << partita::Name(answer->tier) << ", " << answer->model
            << ", rule " << answer->rule << ", " << answer->total_ms << " ms, $" << answer->cost_usd
            << "]\n";
  return 0;
}
