/*
 * tokenizer-impl.h — internals shared by the tokenizer files (tokenizer.c: loading, special
 * tokens, pieces; tokenizer-spm.c; tokenizer-bpe.c; tokenizer-regex.c: the pre-tokenizer
 * regex engine; tokenizer-unicode.c: generated category tables). Only those files include it.
 */
#ifndef LPQ_TOKENIZER_IMPL_H
#define LPQ_TOKENIZER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/common.h"
#include "runtimes/tokenizer.h"

/* ---- Unicode ------------------------------------------------------------------------- */

/* General categories; the order is the generator's (scripts/gen-unicode-tables.py). */
enum lpq__ucat {
    LPQ__UCAT_CN, LPQ__UCAT_LU, LPQ__UCAT_LL, LPQ__UCAT_LT, LPQ__UCAT_LM, LPQ__UCAT_LO,
    LPQ__UCAT_MN, LPQ__UCAT_MC, LPQ__UCAT_ME, LPQ__UCAT_ND, LPQ__UCAT_NL, LPQ__UCAT_NO,
    LPQ__UCAT_PC, LPQ__UCAT_PD, LPQ__UCAT_PS, LPQ__UCAT_PE, LPQ__UCAT_PI, LPQ__UCAT_PF,
    LPQ__UCAT_PO, LPQ__UCAT_SM, LPQ__UCAT_SC, LPQ__UCAT_SK, LPQ__UCAT_SO, LPQ__UCAT_ZS,
    LPQ__UCAT_ZL, LPQ__UCAT_ZP, LPQ__UCAT_CC, LPQ__UCAT_CF, LPQ__UCAT_CS, LPQ__UCAT_CO,
    LPQ__UCAT_COUNT
};
#define LPQ__UCAT_BIT(c) (1u << (c))
#define LPQ__UMASK_L (LPQ__UCAT_BIT(LPQ__UCAT_LU) | LPQ__UCAT_BIT(LPQ__UCAT_LL) | \
                      LPQ__UCAT_BIT(LPQ__UCAT_LT) | LPQ__UCAT_BIT(LPQ__UCAT_LM) | LPQ__UCAT_BIT(LPQ__UCAT_LO))
#define LPQ__UMASK_M (LPQ__UCAT_BIT(LPQ__UCAT_MN) | LPQ__UCAT_BIT(LPQ__UCAT_MC) | LPQ__UCAT_BIT(LPQ__UCAT_ME))
#define LPQ__UMASK_N (LPQ__UCAT_BIT(LPQ__UCAT_ND) | LPQ__UCAT_BIT(LPQ__UCAT_NL) | LPQ__UCAT_BIT(LPQ__UCAT_NO))
#define LPQ__UMASK_P (LPQ__UCAT_BIT(LPQ__UCAT_PC) | LPQ__UCAT_BIT(LPQ__UCAT_PD) | \
                      LPQ__UCAT_BIT(LPQ__UCAT_PS) | LPQ__UCAT_BIT(LPQ__UCAT_PE) | \
                      LPQ__UCAT_BIT(LPQ__UCAT_PI) | LPQ__UCAT_BIT(LPQ__UCAT_PF) | LPQ__UCAT_BIT(LPQ__UCAT_PO))
#define LPQ__UMASK_S (LPQ__UCAT_BIT(LPQ__UCAT_SM) | LPQ__UCAT_BIT(LPQ__UCAT_SC) | \
                      LPQ__UCAT_BIT(LPQ__UCAT_SK) | LPQ__UCAT_BIT(LPQ__UCAT_SO))
#define LPQ__UMASK_Z (LPQ__UCAT_BIT(LPQ__UCAT_ZS) | LPQ__UCAT_BIT(LPQ__UCAT_ZL) | LPQ__UCAT_BIT(LPQ__UCAT_ZP))
#define LPQ__UMASK_C (LPQ__UCAT_BIT(LPQ__UCAT_CN) | LPQ__UCAT_BIT(LPQ__UCAT_CC) | LPQ__UCAT_BIT(LPQ__UCAT_CF) | \
                      LPQ__UCAT_BIT(LPQ__UCAT_CS) | LPQ__UCAT_BIT(LPQ__UCAT_CO))
#define LPQ__UPROP_WS 0x20u      /* White_Space property bit in lpq__unicode_props */
#define LPQ__UPROP_CAT 0x1Fu

/* Category (low 5 bits) | LPQ__UPROP_WS. Generated table (tokenizer-unicode.c). */
uint8_t lpq__unicode_props(uint32_t cp);
extern const char lpq__unicode_version[];
/* Generated: {first, last, nfd first code point} ranges and {code point, lowercase} pairs. */
extern const uint32_t lpq__unicode_nfd[][3];
extern const size_t lpq__unicode_n_nfd;
extern const uint32_t lpq__unicode_lower[][2];
extern const size_t lpq__unicode_n_lower;
/* First code point of cp's NFD decomposition (cp itself when it has none). */
uint32_t lpq__unicode_nfd_first(uint32_t cp);
/* Simple lowercase mapping (cp itself when none). */
uint32_t lpq__unicode_tolower(uint32_t cp);

/* Decodes one code point at s[0..n) (n >= 1) the way llama.cpp does: a lead byte's length
 * with continuation bytes checked, no overlong/surrogate checks; an invalid sequence gives
 * U+FFFD and consumes one byte. *adv = bytes consumed. */
uint32_t lpq__utf8_decode(const uint8_t *s, size_t n, size_t *adv);
/* Encodes cp (<= 0x10FFFF) into out[0..4); returns the byte count. */
size_t lpq__utf8_encode(uint32_t cp, char *out);
/* llama.cpp's unicode_len_utf8: sequence length from the lead byte's high nibble. */
static inline size_t lpq__utf8_len(uint8_t c) {
    static const uint8_t lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return lookup[c >> 4];
}

/* ---- pre-tokenizer regexes -------------------------------------------------------------
 * A backtracking matcher for the regex subset tokenizer.json pre-tokenizers use: literals,
 * classes with ranges, \s \S \p{L} \p{N} \p{P} \p{S} \p{M} \p{Lu} ..., groups (?:), negative
 * and positive lookahead, alternation (leftmost-first), greedy ? * + {n} {n,} {n,m}, $ ^.
 */
struct lpq__re;

/* Compiles `pattern` (UTF-8). LPQ_STATUS_BAD_ARG with a message on a syntax it lacks. */
enum lpq_status lpq__re_compile(const char *pattern, struct lpq__re **out, struct lpq_err *err);
void lpq__re_free(struct lpq__re *re);

/* A decoded text: code points and their lpq__unicode_props. */
struct lpq__utext {
    const uint32_t *cp;
    const uint8_t *props;
    size_t n;
};

/* Backtracking stack and visited-state memo reused across matches (one per thread/call;
 * zero-initialise). The memo remembers loop states (instruction, position) that failed, so
 * trying every start position of a window costs O(window × loops), not O(window²). */
struct lpq__re_scratch {
    int64_t *stack;        /* pairs (pc, pos) */
    size_t cap;            /* int64 slots */
    uint64_t *memo;        /* bit (loop * width + pos - lo) */
    size_t memo_words;     /* allocated uint64 */
    const struct lpq__re *memo_re;
    size_t memo_lo, memo_hi;   /* window the memo describes */
    size_t dmin, dmax;     /* positions marked by the current attempt (dmin > dmax: none) */
};
void lpq__re_scratch_free(struct lpq__re_scratch *sc);

/* Matches `re` at exactly `pos` inside the window [lo, hi) of `txt` (lookahead and $ see hi
 * as the end of text). Returns the end of the match (> pos), or -1 for no (or an empty)
 * match, or -2 when out of memory. */
int64_t lpq__re_match_at(const struct lpq__re *re, const struct lpq__utext *txt, size_t lo, size_t hi,
                         size_t pos, struct lpq__re_scratch *sc);

/* ---- the tokenizer --------------------------------------------------------------------- */

/* llama.cpp's token attributes (bit flags), plus EOG. */
enum {
    LPQ__ATTR_UNKNOWN = 1 << 0,
    LPQ__ATTR_UNUSED = 1 << 1,
    LPQ__ATTR_NORMAL = 1 << 2,
    LPQ__ATTR_CONTROL = 1 << 3,
    LPQ__ATTR_USER_DEFINED = 1 << 4,
    LPQ__ATTR_BYTE = 1 << 5,
    LPQ__ATTR_LSTRIP = 1 << 7,
    LPQ__ATTR_RSTRIP = 1 << 8,
    LPQ__ATTR_EOG = 1 << 12,
};

#define LPQ__RE_MAX 8

struct lpq__merge {
    uint32_t off;          /* bytes into merge_pool: first and second, concatenated */
    uint32_t len_first;    /* bytes */
    uint32_t len;          /* bytes, first + second */
};

struct lpq_tokenizer {
    enum lpq_tokenizer_type type;
    char pre[48];                       /* pre-tokenizer name */
    int32_t n_vocab;                    /* tokens */

    char *pool;                         /* token texts, each NUL-terminated */
    uint32_t *off;                      /* bytes into pool, per token */
    uint32_t *len;                      /* bytes, per token */
    float *score;                       /* per token (SPM merge priority) */
    uint16_t *attr;                     /* LPQ__ATTR_* per token */
    uint8_t *ttype;                     /* enum lpq_token_type per token as read */
    uint32_t *map;                      /* text → id+1 hash slots (0 = empty) */
    uint32_t map_mask;                  /* slots - 1 */

    struct lpq__merge *merges;          /* BPE merges, index = rank */
    uint32_t n_merges;
    char *merge_pool;
    uint32_t *merge_map;                /* (first, second) → rank+1 slots */
    uint32_t merge_mask;

    char *piece_pool;                   /* rendered pieces (special = true) */
    uint32_t *piece_off;                /* bytes into piece_pool */
    uint32_t *piece_len;                /* bytes */

    int32_t *special;                   /* control/user-defined/unknown ids, longest text first */
    uint32_t n_special;
    uint32_t special_max_len;           /* bytes */
    uint64_t special_len_mask;          /* bit l set: some special text is l (< 64) bytes */
    uint8_t special_first[256];         /* 1 when some special text starts with that byte */

    int32_t bos, eos, eot, eom, unk;    /* -1 = none */
    int32_t sep;                        /* WPM: appended with add_special; -1 = none */
    bool add_bos, add_eos, add_sep;
    bool wpm_lowercase, wpm_strip_accents;  /* WPM normaliser options */
    uint32_t max_token_len;             /* bytes, longest vocabulary text */
    bool add_space_prefix;              /* SPM: prepend ' ' to text after BOS/specials */
    bool clean_spaces;                  /* detokenize clean-up of " ." etc. */
    bool ignore_merges;                 /* BPE: a pre-token that is a whole token skips merging */

    struct lpq__re *re[LPQ__RE_MAX];    /* BPE pre-tokenizer, applied in order */
    int n_re;
    uint32_t byte_cp[256];              /* GPT-2 byte → code point */
    int32_t byte_token[256];            /* byte → token (SPM <0xNN> or raw char; BPE encoded char) */
    uint8_t pair_bits[8192];            /* bit a*256+b: bytes a, b are adjacent in some token */
};

/* Output id buffer that grows (lpq_realloc). */
struct lpq__ids {
    int32_t *v;
    size_t n, cap;
    bool oom;
};
void lpq__ids_push(struct lpq__ids *o, int32_t id);

/* Token id of text s[0..n), -1 if none. */
int32_t lpq__tok_find(const struct lpq_tokenizer *t, const char *s, size_t n);
uint64_t lpq__hash(const void *s, size_t n);

/* Per-model tokenizers over one raw-text fragment (no special tokens inside). */
enum lpq_status lpq__spm_tokenize(const struct lpq_tokenizer *t, const char *text, size_t n,
                                  struct lpq__ids *out);
enum lpq_status lpq__wpm_tokenize(const struct lpq_tokenizer *t, const char *text, size_t n,
                                  struct lpq__ids *out);
enum lpq_status lpq__bpe_tokenize(const struct lpq_tokenizer *t, const char *text, size_t n,
                                  struct lpq__ids *out);
/* BPE setup at load: pre-tokenizer regexes by name, flags, byte table. UNSUPPORTED for an
 * unknown pre-tokenizer. */
enum lpq_status lpq__bpe_init(struct lpq_tokenizer *t, const char *pre, struct lpq_err *err);
/* Rank of the merge (a[0..na), a[na..na+nb)), -1 if none; the two halves are adjacent. */
int32_t lpq__bpe_merge_rank(const struct lpq_tokenizer *t, const char *a, size_t na, size_t nb);

#endif /* LPQ_TOKENIZER_IMPL_H */
