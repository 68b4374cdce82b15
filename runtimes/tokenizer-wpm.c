/*
 * tokenizer-wpm.c — WordPiece ("bert" vocabularies) as llama.cpp does it: the text is split
 * into words at whitespace and around punctuation, ASCII symbols and CJK ideographs
 * (lowercased and accent-stripped via the first NFD code point, when the vocabulary asks),
 * and each "▁word" is cut greedily into the longest vocabulary entries; a word that cannot be
 * covered becomes the unknown token.
 */
#include <string.h>

#include "runtimes/tokenizer-impl.h"

uint32_t lpq__unicode_nfd_first(uint32_t cp) {
    size_t lo = 0, hi = lpq__unicode_n_nfd;
    while (lo < hi) {                     /* first range with first > cp */
        size_t mid = (lo + hi) / 2;
        if (lpq__unicode_nfd[mid][0] <= cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return cp;
    const uint32_t *r = lpq__unicode_nfd[lo - 1];
    return cp <= r[1] ? r[2] : cp;
}

uint32_t lpq__unicode_tolower(uint32_t cp) {
    size_t lo = 0, hi = lpq__unicode_n_lower;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (lpq__unicode_lower[mid][0] < cp) lo = mid + 1;
        else hi = mid;
    }
    return (lo < lpq__unicode_n_lower && lpq__unicode_lower[lo][0] == cp) ? lpq__unicode_lower[lo][1] : cp;
}

/* The ideograph blocks BERT isolates (0x2B920 rather than 0x2B820, as HF's code has it). */
static bool is_chinese_char(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Cuts "▁" + word[0..n) into the longest vocabulary entries, left to right. */
static void wpm_word(const struct lpq_tokenizer *t, const char *w, size_t n, struct lpq__ids *out) {
    size_t mark = out->n;
    for (size_t i = 0; i < n; i++) {
        bool match = false;
        for (size_t j = LPQ_MIN(n, i + t->max_token_len + 1); j > i; j--) {
            int32_t id = lpq__tok_find(t, w + i, j - i);
            if (id >= 0) {
                lpq__ids_push(out, id);
                match = true;
                i = j - 1;
                break;
            }
        }
        if (!match) {                     /* discard the whole word */
            out->n = mark;
            break;
        }
    }
    if (out->n == mark) lpq__ids_push(out, t->unk);
}

enum lpq_status lpq__wpm_tokenize(const struct lpq_tokenizer *t, const char *text, size_t n,
                                  struct lpq__ids *out) {
    /* Each code point grows to at most 4 bytes; each word adds a 3-byte "▁". */
    char *w = lpq_malloc(4 * n + 8);
    if (!w) return LPQ_STATUS_NO_MEMORY;
    size_t wn = 0;
    const size_t pre = 3;                 /* "▁" */
    memcpy(w, "\xE2\x96\x81", pre);
    wn = pre;
    for (size_t off = 0; off <= n;) {
        uint32_t cp = 0;
        uint8_t pr = 0;
        bool end = off == n;
        if (!end) {
            size_t adv;
            cp = lpq__utf8_decode((const uint8_t *)text + off, n - off, &adv);
            off += adv;
            if (t->wpm_strip_accents) cp = lpq__unicode_nfd_first(cp);
            pr = lpq__unicode_props(cp);
        }
        unsigned cat = pr & LPQ__UPROP_CAT;
        bool ws = pr & LPQ__UPROP_WS;
        if (end || ws) {
            if (wn > pre) wpm_word(t, w, wn, out);
            wn = pre;
            if (end) break;
            continue;
        }
        bool control = cat == LPQ__UCAT_CC || cat == LPQ__UCAT_CF || cat == LPQ__UCAT_CO || cat == LPQ__UCAT_CS;
        if (cp == 0 || cp == 0xFFFD || control) continue;
        if (t->wpm_strip_accents && (LPQ__UCAT_BIT(cat) & LPQ__UMASK_M)) continue;
        uint32_t lc = t->wpm_lowercase ? lpq__unicode_tolower(cp) : cp;
        bool single = (LPQ__UCAT_BIT(cat) & LPQ__UMASK_P) || (cp < 0x7F && (LPQ__UCAT_BIT(cat) & LPQ__UMASK_S)) ||
                      is_chinese_char(cp);
        if (single) {
            if (wn > pre) wpm_word(t, w, wn, out);
            wn = pre + lpq__utf8_encode(lc, w + pre);
            wpm_word(t, w, wn, out);
            wn = pre;
        } else {
            wn += lpq__utf8_encode(lc, w + wn);
        }
    }
    lpq_free(w);
    return out->oom ? LPQ_STATUS_NO_MEMORY : LPQ_STATUS_OK;
}
