/*
 * tokenizer.h — text ↔ token ids from a GGUF file's tokenizer.ggml.* metadata, reproducing
 * llama.cpp's tokenizers: SentencePiece-style ("llama": score-ordered bigram merging, byte
 * fallback, ▁ for spaces), byte-level BPE ("gpt2": merges by rank after a regex
 * pre-tokenizer chosen by tokenizer.ggml.pre) and WordPiece ("bert"), with special/control
 * tokens and BOS/EOS rules.
 * A loaded tokenizer is read-only: any number of threads may call every function at once.
 */
#ifndef LPQ_TOKENIZER_H
#define LPQ_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"
#include "quant/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lpq_tokenizer;

enum lpq_tokenizer_type {
    LPQ_TOKENIZER_SPM = 1,     /* tokenizer.ggml.model = "llama" */
    LPQ_TOKENIZER_BPE = 2,     /* tokenizer.ggml.model = "gpt2" */
    LPQ_TOKENIZER_WPM = 3,     /* tokenizer.ggml.model = "bert" (WordPiece) */
};

/* The values of the tokenizer.ggml.token_type array. */
enum lpq_token_type {
    LPQ_TOKEN_TYPE_UNDEFINED    = 0,
    LPQ_TOKEN_TYPE_NORMAL       = 1,
    LPQ_TOKEN_TYPE_UNKNOWN      = 2,
    LPQ_TOKEN_TYPE_CONTROL      = 3,
    LPQ_TOKEN_TYPE_USER_DEFINED = 4,
    LPQ_TOKEN_TYPE_UNUSED       = 5,
    LPQ_TOKEN_TYPE_BYTE         = 6,
};

/*
 * Builds the tokenizer from `g`'s metadata (tokenizer.ggml.model, .pre, .tokens, .scores,
 * .token_type, .merges, .*_token_id, .add_bos_token, .add_eos_token, .add_space_prefix).
 * Everything is copied: `g` may be closed afterwards. On success *out is owned by the
 * caller (lpq_tokenizer_free). Returns LPQ_STATUS_OK, LPQ_STATUS_NOT_FOUND (a required key
 * is missing), LPQ_STATUS_BAD_FILE (wrong type, length mismatch, bos/eos/unk/eot id out of
 * range; the message names the key), LPQ_STATUS_UNSUPPORTED (tokenizer model or
 * pre-tokenizer lpq does not implement, e.g. "t5", "rwkv") or LPQ_STATUS_NO_MEMORY.
 * *out is untouched on failure. `err` may be NULL.
 */
enum lpq_status lpq_tokenizer_load(struct lpq_gguf *g, struct lpq_tokenizer **out, struct lpq_err *err);
void lpq_tokenizer_free(struct lpq_tokenizer *t);   /* NULL is a no-op */

enum lpq_tokenizer_type lpq_tokenizer_type(const struct lpq_tokenizer *t);
/* Pre-tokenizer name as in tokenizer.ggml.pre ("gpt-2", "llama-bpe", ...; "default" for SPM).
 * Static or owned by t. */
const char *lpq_tokenizer_pre(const struct lpq_tokenizer *t);
int32_t lpq_tokenizer_n_vocab(const struct lpq_tokenizer *t);
/* Special ids, -1 when the vocabulary has none. */
int32_t lpq_tokenizer_bos(const struct lpq_tokenizer *t);
int32_t lpq_tokenizer_eos(const struct lpq_tokenizer *t);
int32_t lpq_tokenizer_eot(const struct lpq_tokenizer *t);
int32_t lpq_tokenizer_unk(const struct lpq_tokenizer *t);
/* Whether lpq_tokenize(add_special = true) prepends BOS / appends EOS (WordPiece always
 * adds BOS ([CLS]) and, with add_sep, [SEP], as llama.cpp does). */
bool lpq_tokenizer_add_bos(const struct lpq_tokenizer *t);
bool lpq_tokenizer_add_eos(const struct lpq_tokenizer *t);
/* End of generation: EOS, EOT, EOM and the end-of-turn texts llama.cpp recognises
 * ("<|im_end|>", "<|eot_id|>", "<|endoftext|>", ...). False for an out-of-range id. */
bool lpq_tokenizer_is_eog(const struct lpq_tokenizer *t, int32_t id);
/* Control token (token_type 3, or promoted to control as an EOG text). */
bool lpq_tokenizer_is_control(const struct lpq_tokenizer *t, int32_t id);
enum lpq_token_type lpq_tokenizer_token_type(const struct lpq_tokenizer *t, int32_t id);
/* The vocabulary string of `id` (NUL-terminated, valid until free; *len excludes the NUL;
 * len may be NULL). NULL for an out-of-range id. */
const char *lpq_tokenizer_token_text(const struct lpq_tokenizer *t, int32_t id, size_t *len);
/* Id of the vocabulary string s[0..len), -1 if none. */
int32_t lpq_tokenizer_find(const struct lpq_tokenizer *t, const char *s, size_t len);

/*
 * text[0..len) (UTF-8; invalid bytes are read as U+FFFD like llama.cpp does) → ids.
 * add_special: add BOS/EOS as lpq_tokenizer_add_bos/_eos say. parse_special: text equal to
 * a control or unknown token's string ("<|im_start|>", "<s>") becomes that token;
 * user-defined tokens (type 4) are always recognised, as in llama.cpp.
 * Writes at most `cap` ids; *n_out = the number of ids the text needs (ids may be NULL when
 * cap is 0). Returns LPQ_STATUS_OK, LPQ_STATUS_RANGE (cap too small; *n_out says how many are
 * needed), LPQ_STATUS_BAD_ARG (NULL text with len > 0) or LPQ_STATUS_NO_MEMORY.
 */
enum lpq_status lpq_tokenize(const struct lpq_tokenizer *t, const char *text, size_t len,
                             bool add_special, bool parse_special, int32_t *ids, size_t cap,
                             size_t *n_out);

/*
 * The bytes one token stands for: SPM ▁ → space, byte tokens <0xNN> → that byte, BPE
 * byte-level characters → their bytes. Control and unknown tokens give their text when
 * `special`, nothing otherwise. Copies min(length, cap) bytes (no NUL) and returns the full
 * length, like snprintf; 0 for an out-of-range id.
 */
size_t lpq_token_to_piece(const struct lpq_tokenizer *t, int32_t id, char *buf, size_t cap, bool special);

/*
 * ids → text as llama.cpp's llama_detokenize(remove_special = false, unparse_special =
 * special): the pieces concatenated; for SPM (add_space_prefix) one leading space of the
 * first piece is dropped, undoing the prefix lpq_tokenize added; for BPE vocabularies with
 * clean-up (gpt-2, falcon, mpt, starcoder, ...) " ." " ," " !" " ?" " 's" " 'm" " 're" " 've"
 * lose their space. Writes the text and a NUL when it fits (*n_out = length without NUL).
 * Returns LPQ_STATUS_OK, LPQ_STATUS_RANGE (cap <= length; *n_out = length) or
 * LPQ_STATUS_BAD_ARG (an id out of range; *n_out untouched).
 */
enum lpq_status lpq_detokenize(const struct lpq_tokenizer *t, const int32_t *ids, size_t n,
                               bool special, char *buf, size_t cap, size_t *n_out);

#ifdef __cplusplus
}
#endif

#endif /* LPQ_TOKENIZER_H */
