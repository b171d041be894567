/*
 * partita.h: the C interface to Partita's SDK ("answer this"), for C and for other languages'
 * foreign-function interfaces. It wraps partita::Client (sdk/client.h).
 *
 *   partita_client* c = partita_client_new(NULL);          // $PARTITA_SOCKET or /tmp/partita.sock
 *   partita_answer* a = NULL;
 *   if (partita_ask(c, "Turn off the lights", NULL, &a) == PARTITA_OK) {
 *     printf("%s (%s)\n", partita_answer_text(a), partita_answer_tier(a));
 *     partita_answer_free(a);
 *   } else {
 *     fprintf(stderr, "%s\n", partita_client_last_error(c));
 *   }
 *   partita_client_free(c);
 *
 * Strings returned by accessors belong to the object they came from and live until it is
 * freed. A client is used by one thread at a time. Every function is safe to call with NULL
 * where a pointer is documented as optional.
 */
#ifndef PARTITA_H_
#define PARTITA_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum partita_status {
  PARTITA_OK = 0,
  PARTITA_ERR_INVALID_ARGUMENT = 1,  /* a bad argument (NULL prompt, prompt too large, ...) */
  PARTITA_ERR_AGENT_UNAVAILABLE = 2, /* no agent at the socket, or it went away */
  PARTITA_ERR_TIMEOUT = 3,           /* no answer within the timeout */
  PARTITA_ERR_ALL_TIERS_FAILED = 4,  /* every tier failed or none was allowed (see the error) */
  PARTITA_ERR_BUDGET = 5,            /* a cost budget would be crossed */
  PARTITA_ERR_INTERNAL = 6
} partita_status;

typedef enum partita_privacy {
  PARTITA_PRIVACY_NORMAL = 0,
  PARTITA_PRIVACY_PUBLIC = 1,
  PARTITA_PRIVACY_PRIVATE = 2 /* policies keep private requests off the cloud */
} partita_privacy;

typedef enum partita_kind {
  PARTITA_KIND_AUTO = 0, /* inferred from the prompt */
  PARTITA_KIND_COMMAND = 1,
  PARTITA_KIND_CHAT = 2,
  PARTITA_KIND_REASONING = 3
} partita_kind;

typedef struct partita_ask_options {
  partita_privacy privacy;
  partita_kind kind;
  uint32_t latency_budget_ms; /* 0: the policy's deadline */
  double max_cost_usd;        /* 0: no limit */
  uint32_t max_tokens;        /* 0: the kind's typical answer length */
  uint32_t timeout_ms;        /* 0: 120000 */
} partita_ask_options;

typedef struct partita_client partita_client;
typedef struct partita_answer partita_answer;

/* Called with each piece of the answer as it arrives (not NUL-terminated). */
typedef void (*partita_chunk_fn)(const char* text, size_t length, void* user_data);

/* Fills `options` with the defaults (normal privacy, inferred kind, no limits). */
void partita_ask_options_init(partita_ask_options* options);

/* socket_path: optional; NULL for $PARTITA_SOCKET or /tmp/partita.sock. Never returns NULL. */
partita_client* partita_client_new(const char* socket_path);
void partita_client_free(partita_client* client);
/* The message of the client's last failure ("" after a success). */
const char* partita_client_last_error(const partita_client* client);

/* options: optional. On PARTITA_OK, *answer is set and must be freed with partita_answer_free. */
partita_status partita_ask(partita_client* client, const char* prompt,
                           const partita_ask_options* options, partita_answer** answer);
/* Like partita_ask, calling on_chunk as the answer streams. */
partita_status partita_ask_stream(partita_client* client, const char* prompt,
                                  const partita_ask_options* options, partita_chunk_fn on_chunk,
                                  void* user_data, partita_answer** answer);

const char* partita_answer_text(const partita_answer* answer);
const char* partita_answer_tier(const partita_answer* answer); /* "device", "phone", "cloud" */
const char* partita_answer_model(const partita_answer* answer);
const char* partita_answer_rule(const partita_answer* answer);
double partita_answer_ttft_ms(const partita_answer* answer);
double partita_answer_total_ms(const partita_answer* answer);
uint32_t partita_answer_tokens_in(const partita_answer* answer);
uint32_t partita_answer_tokens_out(const partita_answer* answer);
double partita_answer_cost_usd(const partita_answer* answer);
double partita_answer_energy_j(const partita_answer* answer);
/* 1 when the answer stopped early: the text is the part that arrived; the reason says why. */
int partita_answer_truncated(const partita_answer* answer);
const char* partita_answer_truncated_reason(const partita_answer* answer); /* "" if not */
const char* partita_answer_policy_version(const partita_answer* answer);
int partita_answer_simulated(const partita_answer* answer);
int partita_answer_decided_offline(const partita_answer* answer);
/* The fallback trail: attempts in order. */
size_t partita_answer_attempt_count(const partita_answer* answer);
const char* partita_answer_attempt_tier(const partita_answer* answer, size_t i);
const char* partita_answer_attempt_model(const partita_answer* answer, size_t i);
const char* partita_answer_attempt_result(const partita_answer* answer, size_t i);
const char* partita_answer_attempt_detail(const partita_answer* answer, size_t i); /* why */
uint32_t partita_answer_attempt_elapsed_ms(const partita_answer* answer, size_t i);
void partita_answer_free(partita_answer* answer);

/* "ok", "invalid_argument", "agent_unavailable", ... */
const char* partita_status_name(partita_status status);

#ifdef __cplusplus
}
#endif

#endif /* PARTITA_H_ */
