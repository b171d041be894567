/* The smallest Partita app in C: ask the local agent, print the answer and where it ran. */
#include <partita.h>
#include <stdio.h>

int main(int argc, char** argv) {
  partita_client* client = partita_client_new(NULL); /* $PARTITA_SOCKET or /tmp/partita.sock */
  partita_answer* answer = NULL;
  const char* prompt = argc > 1 ? argv[1] : "What time is sunset today?";
  if (partita_ask(client, prompt, NULL, &answer) != PARTITA_OK) {
    fprintf(stderr, "partita: %s\n", partita_client_last_error(client));
    partita_client_free(client);
    return 1;
  }
  printf("%s\n[%s, %s, rule %s, %.0f ms]\n", partita_answer_text(answer),
         partita_answer_tier(answer), partita_answer_model(answer), partita_answer_rule(answer),
         partita_answer_total_ms(answer));
  partita_answer_free(answer);
  partita_client_free(client);
  return 0;
}
