// The least any agent must hold in memory: a process that opens one TLS 1.3 connection with
// mutual authentication to the router (the agent's certificate, key and CA, the system's
// dynamically linked OpenSSL 3), then waits. It uses nothing of the C++ runtime, so libstdc++ is
// not even loaded. agent_idle_bench runs it beside the agent and prints its resident memory, so
// the agent's figure can be read against this floor.
//
//   tls_client_floor HOST PORT CA CERT KEY
//
// It sends no application data: the router closes the connection after its Hello timeout, and
// the process keeps everything it loaded until it is killed. Exits 1 if the client's side of
// the handshake fails (in TLS 1.3 the server checks the client's certificate after that; a
// refused one only ends the wait sooner, and the memory figure is the same).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: tls_client_floor HOST PORT CA CERT KEY\n");
    return 2;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_load_verify_locations(ctx, argv[3], nullptr) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx, argv[4]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[5], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (fd < 0 || inet_pton(AF_INET, argv[1], &address.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("tls_client_floor: connect");
    return 1;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  char byte = 0;
  (void)SSL_read(ssl, &byte, 1);  // until the router closes the connection
  for (;;) pause();
}
