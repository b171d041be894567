// The shipped model's bytes (scorer/models/default.scorer), linked into the binary by the
// assembler, so a `partita` anywhere scores without a file beside it.
#include "scorer/model.h"

__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global partita_scorer_shipped_begin\n"
    "partita_scorer_shipped_begin:\n"
    ".incbin \"" PARTITA_SCORER_SHIPPED_MODEL
    "\"\n"
    ".global partita_scorer_shipped_end\n"
    "partita_scorer_shipped_end:\n"
    ".previous\n");
extern "C" const char partita_scorer_shipped_begin[];
extern "C" const char partita_scorer_shipped_end[];

namespace partita::scorer {

const Result<DifficultyModel>& DifficultyModel::Shipped() {
  static const Result<DifficultyModel> model = Parse(
      std::string_view(
          partita_scorer_shipped_begin,
          static_cast<std::size_t>(partita_scorer_shipped_end - partita_scorer_shipped_begin)),
      "the shipped scorer model");
  return model;
}

}  // namespace partita::scorer
