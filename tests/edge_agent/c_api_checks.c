/* Exercises the C ABI (sdk/include/partita.h) from plain C against a running agent. Returns the
 * number of failed checks and describes the first one in `error`. */
#include <partita.h>
#include <stdio.h>
#include <string.h>

struct Collected {
  size_t bytes;
  int chunks;
};

static void on_chunk(const char* text, size_t length, void* user) {
  struct Collected* c = (struct Collected*)user;
  (void)text;
  c->bytes += length;
  c->chunks += 1;
}

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      if (failures++ == 0) snprintf(error, error_size, "%s:%d: %s", __FILE__, __LINE__, #cond); \
    }                                                                                       \
  } while (0)

int partita_c_api_checks(const char* socket_path, char* error, unsigned long error_size) {
  int failures = 0;
  partita_client* client = partita_client_new(socket_path);
  CHECK(client != NULL);

  partita_answer* answer = NULL;
  partita_status s = partita_ask(client, "Turn on the hallway lights", NULL, &answer);
  CHECK(s == PARTITA_OK);
  if (s == PARTITA_OK) {
    CHECK(strcmp(partita_answer_tier(answer), "device") == 0);
    CHECK(strcmp(partita_answer_model(answer), "milm-1.3b") == 0);
    CHECK(strncmp(partita_answer_text(answer), "[simulated]", 11) == 0);
    CHECK(partita_answer_simulated(answer) == 1);
    CHECK(partita_answer_truncated(answer) == 0);
    CHECK(strcmp(partita_answer_truncated_reason(answer), "") == 0);
    CHECK(strlen(partita_answer_policy_version(answer)) > 0);
    CHECK(partita_answer_attempt_count(answer) == 1);
    CHECK(strcmp(partita_answer_attempt_result(answer, 0), "ok") == 0);
    CHECK(strcmp(partita_answer_attempt_model(answer, 0), "milm-1.3b") == 0);
    CHECK(strcmp(partita_answer_attempt_detail(answer, 0), "") == 0);
    CHECK(partita_answer_total_ms(answer) >= partita_answer_ttft_ms(answer));
    partita_answer_free(answer);
  }

  partita_ask_options options;
  partita_ask_options_init(&options);
  options.kind = PARTITA_KIND_COMMAND;
  options.max_tokens = 6;
  struct Collected collected = {0, 0};
  answer = NULL;
  s = partita_ask_stream(client, "set a timer for five minutes", &options, on_chunk, &collected,
                         &answer);
  CHECK(s == PARTITA_OK);
  if (s == PARTITA_OK) {
    CHECK(collected.chunks >= 1);
    CHECK(collected.bytes == strlen(partita_answer_text(answer)));
    CHECK(partita_answer_tokens_out(answer) == 6);
    partita_answer_free(answer);
  }

  CHECK(partita_ask(client, NULL, NULL, &answer) == PARTITA_ERR_INVALID_ARGUMENT);
  CHECK(strlen(partita_client_last_error(client)) > 0);
  partita_client_free(client);

  partita_client* nobody = partita_client_new("/nonexistent/partita.sock");
  CHECK(partita_ask(nobody, "hello", NULL, &answer) == PARTITA_ERR_AGENT_UNAVAILABLE);
  CHECK(strstr(partita_client_last_error(nobody), "no Partita agent") != NULL);
  CHECK(strcmp(partita_status_name(PARTITA_ERR_AGENT_UNAVAILABLE), "agent_unavailable") == 0);
  partita_client_free(nobody);
  return failures;
}
