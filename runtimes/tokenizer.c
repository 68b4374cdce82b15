/*
 * tokenizer.c — loading a tokenizer from GGUF metadata (vocabulary, scores, token types,
 * special ids, add-BOS/EOS defaults per model type as llama.cpp sets them), splitting input
 * text at special-token strings, dispatching the pieces to the SPM or BPE tokenizer, and the
 * way back: token pieces and detokenization.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtimes/tokenizer-impl.h"

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES "tokenizer.ggml.token_type"
#define KEY_MERGES "tokenizer.ggml.merges"

/* ---- hashing ------------------------------------------------------------------------------ */

uint64_t lpq__hash(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0x100000001B3ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)s[i] << (8 * i);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 32);
}

int32_t lpq__tok_find(const struct lpq_tokenizer *t, const char *s, size_t n) {
    for (uint32_t i = (uint32_t)lpq__hash(s, n) & t->map_mask;; i = (i + 1) & t->map_mask) {
        uint32_t v = t->map[i];
        if (!v) return -1;
        uint32_t id = v - 1;
        if (t->len[id] == n && memcmp(t->pool + t->off[id], s, n) == 0) return (int32_t)id;
    }
}

void lpq__ids_push(struct lpq__ids *o, int32_t id) {
    if (o->oom) return;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 256;
        int32_t *v = lpq_realloc(o->v, nc * sizeof(*v));
        if (!v) { o->oom = true; return; }
        o->v = v;
        o->cap = nc;
    }
    o->v[o->n++] = id;
}

static uint32_t pow2_slots(uint64_t n) {
    uint64_t s = 16;
    while (s < 2 * n) s *= 2;
    return (uint32_t)s;
}

/* ---- loading ------------------------------------------------------------------------------ */

void lpq_tokenizer_free(struct lpq_tokenizer *t) {
    if (!t) return;
    lpq_free(t->pool);
    lpq_free(t->off);
    lpq_free(t->len);
    lpq_free(t->score);
    lpq_free(t->attr);
    lpq_free(t->ttype);
    lpq_free(t->map);
    lpq_free(t->merges);
    lpq_free(t->merge_pool);
    lpq_free(t->merge_map);
    lpq_free(t->piece_pool);
    lpq_free(t->piece_off);
    lpq_free(t->piece_len);
    lpq_free(t->special);
    for (int i = 0; i < t->n_re; i++) lpq__re_free(t->re[i]);
    lpq_free(t);
}

static enum lpq_status load_tokens(struct lpq_tokenizer *t, struct lpq_gguf *g, struct lpq_err *err) {
    int64_t ki = lpq_gguf_find_key(g, KEY_TOKENS);
    if (ki < 0) return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "%s: missing (no vocabulary in the file)", KEY_TOKENS);
    if (lpq_gguf_kv_type(g, ki) != LPQ_GGUF_ARRAY || lpq_gguf_kv_arr_type(g, ki) != LPQ_GGUF_STRING) {
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: expected an array of strings", KEY_TOKENS);
    }
    uint64_t n = lpq_gguf_kv_arr_n(g, ki);
    if (n == 0 || n > INT32_MAX / 2) {
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %llu tokens is out of range", KEY_TOKENS, (unsigned long long)n);
    }
    t->n_vocab = (int32_t)n;
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        if (!lpq_gguf_kv_str(g, ki, i, &len)) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: entry %llu unreadable", KEY_TOKENS, (unsigned long long)i);
        total += (len ? len : 24) + 1;
    }
    if (total > UINT32_MAX) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: vocabulary text too large", KEY_TOKENS);
    t->pool = lpq_malloc(total);
    t->off = lpq_malloc_array(n, sizeof(*t->off));
    t->len = lpq_malloc_array(n, sizeof(*t->len));
    t->score = lpq_calloc(n, sizeof(*t->score));
    t->attr = lpq_calloc(n, sizeof(*t->attr));
    t->ttype = lpq_calloc(n, sizeof(*t->ttype));
    uint32_t slots = pow2_slots(n);
    t->map = lpq_calloc(slots, sizeof(*t->map));
    t->map_mask = slots - 1;
    if (!t->pool || !t->off || !t->len || !t->score || !t->attr || !t->ttype || !t->map) {
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizer: out of memory for %llu tokens", (unsigned long long)n);
    }
    uint32_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = lpq_gguf_kv_str(g, ki, i, &len);
        t->off[i] = pos;
        if (len == 0) {
            /* llama.cpp renames empty entries so every token has a distinct text. */
            len = (size_t)snprintf(t->pool + pos, 25, "[EMPTY_%llu]", (unsigned long long)i);
        } else {
            memcpy(t->pool + pos, s, len);
            t->pool[pos + len] = 0;
        }
        t->len[i] = (uint32_t)len;
        pos += (uint32_t)len + 1;
        /* A repeated text maps to its last id, as llama.cpp's token_to_id does. */
        uint32_t h = (uint32_t)lpq__hash(t->pool + t->off[i], len) & t->map_mask;
        for (;; h = (h + 1) & t->map_mask) {
            uint32_t v = t->map[h];
            if (!v) { t->map[h] = (uint32_t)i + 1; break; }
            if (t->len[v - 1] == len && memcmp(t->pool + t->off[v - 1], t->pool + t->off[i], len) == 0) {
                t->map[h] = (uint32_t)i + 1;
                break;
            }
        }
    }

    int64_t si = lpq_gguf_find_key(g, KEY_SCORES);
    if (si >= 0) {
        enum lpq_gguf_vtype et = lpq_gguf_kv_arr_type(g, si);
        if (lpq_gguf_kv_type(g, si) != LPQ_GGUF_ARRAY || (et != LPQ_GGUF_F32 && et != LPQ_GGUF_I32)) {
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: expected an array of f32 or i32", KEY_SCORES);
        }
        uint64_t ns = lpq_gguf_kv_arr_n(g, si);
        if (ns < n) {
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %llu scores for %llu tokens", KEY_SCORES,
                               (unsigned long long)ns, (unsigned long long)n);
        }
        const uint8_t *d = lpq_gguf_kv_data(g, si);
        for (uint64_t i = 0; i < n; i++) {
            if (et == LPQ_GGUF_F32) memcpy(&t->score[i], d + 4 * i, 4);
            else {
                int32_t v;
                memcpy(&v, d + 4 * i, 4);
                t->score[i] = (float)v;
            }
        }
    }

    int64_t ti = lpq_gguf_find_key(g, KEY_TYPES);
    for (uint64_t i = 0; i < n; i++) t->attr[i] = LPQ__ATTR_NORMAL;
    for (uint64_t i = 0; i < n; i++) t->ttype[i] = LPQ_TOKEN_TYPE_NORMAL;
    if (ti >= 0) {
        if (lpq_gguf_kv_type(g, ti) != LPQ_GGUF_ARRAY || lpq_gguf_kv_arr_type(g, ti) != LPQ_GGUF_I32) {
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: expected an array of i32", KEY_TYPES);
        }
        uint64_t nt = lpq_gguf_kv_arr_n(g, ti);
        if (nt < n) {
            return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %llu types for %llu tokens", KEY_TYPES,
                               (unsigned long long)nt, (unsigned long long)n);
        }
        const uint8_t *d = lpq_gguf_kv_data(g, ti);
        for (uint64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, d + 4 * i, 4);
            uint16_t a;
            switch (v) {
            case LPQ_TOKEN_TYPE_NORMAL: a = LPQ__ATTR_NORMAL; break;
            case LPQ_TOKEN_TYPE_UNKNOWN: a = LPQ__ATTR_UNKNOWN; break;
            case LPQ_TOKEN_TYPE_CONTROL: a = LPQ__ATTR_CONTROL; break;
            case LPQ_TOKEN_TYPE_USER_DEFINED: a = LPQ__ATTR_USER_DEFINED; break;
            case LPQ_TOKEN_TYPE_UNUSED: a = LPQ__ATTR_UNUSED; break;
            case LPQ_TOKEN_TYPE_BYTE: a = LPQ__ATTR_BYTE; break;
            default: a = 0; v = 0; break;
            }
            t->attr[i] = a;
            t->ttype[i] = (uint8_t)v;
        }
    }
    return LPQ_STATUS_OK;
}

static enum lpq_status load_merges(struct lpq_tokenizer *t, struct lpq_gguf *g, struct lpq_err *err) {
    int64_t ki = lpq_gguf_find_key(g, KEY_MERGES);
    if (ki < 0) return lpq_err_set(err, LPQ_STATUS_NOT_FOUND, "%s: missing (a gpt2 tokenizer needs its merges)", KEY_MERGES);
    if (lpq_gguf_kv_type(g, ki) != LPQ_GGUF_ARRAY || lpq_gguf_kv_arr_type(g, ki) != LPQ_GGUF_STRING) {
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: expected an array of strings", KEY_MERGES);
    }
    uint64_t n = lpq_gguf_kv_arr_n(g, ki);
    if (n > INT32_MAX / 2) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: too many merges", KEY_MERGES);
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        lpq_gguf_kv_str(g, ki, i, &len);
        total += len;
    }
    if (total > UINT32_MAX) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: too large", KEY_MERGES);
    t->merges = lpq_malloc_array(n ? n : 1, sizeof(*t->merges));
    t->merge_pool = lpq_malloc(total ? total : 1);
    uint32_t slots = pow2_slots(n);
    t->merge_map = lpq_calloc(slots, sizeof(*t->merge_map));
    t->merge_mask = slots - 1;
    if (!t->merges || !t->merge_pool || !t->merge_map) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizer: out of memory for merges");
    uint32_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = lpq_gguf_kv_str(g, ki, i, &len);
        /* "first second": split at the first space after position 0 (llama.cpp); no space
         * means both halves are empty, a merge that never applies. */
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        struct lpq__merge *m = &t->merges[t->n_merges];
        m->off = pos;
        if (sp) {
            size_t a = (size_t)(sp - s), b = len - a - 1;
            memcpy(t->merge_pool + pos, s, a);
            memcpy(t->merge_pool + pos + a, sp + 1, b);
            m->len_first = (uint32_t)a;
            m->len = (uint32_t)(a + b);
        } else {
            m->len_first = m->len = 0;
        }
        pos += m->len;
        /* The first occurrence of a pair keeps its rank (llama.cpp's map emplace). */
        if (lpq__bpe_merge_rank(t, t->merge_pool + m->off, m->len_first, m->len - m->len_first) >= 0) {
            t->n_merges++;
            continue;
        }
        uint64_t h = lpq__hash(t->merge_pool + m->off, m->len) ^ ((uint64_t)m->len_first * 0x9E3779B97F4A7C15ull);
        uint32_t k = (uint32_t)h & t->merge_mask;
        while (t->merge_map[k]) k = (k + 1) & t->merge_mask;
        t->merge_map[k] = t->n_merges + 1;
        t->n_merges++;
    }
    return LPQ_STATUS_OK;
}

/* Optional integer id key: -1 when absent; BAD_FILE when not an integer or out of range
 * (for the ids lpq uses); others out of range are ignored. */
static enum lpq_status get_id(struct lpq_tokenizer *t, struct lpq_gguf *g, const char *key, int32_t *id,
                              bool strict, struct lpq_err *err) {
    int64_t v;
    enum lpq_status st = lpq_gguf_get_int(g, key, &v);
    if (st == LPQ_STATUS_NOT_FOUND) return LPQ_STATUS_OK;
    if (st != LPQ_STATUS_OK) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %s", key, lpq_gguf_errmsg(g));
    if (v < 0 || v >= t->n_vocab) {
        if (!strict) return LPQ_STATUS_OK;
        return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: id %lld is out of range (vocabulary of %d tokens)",
                           key, (long long)v, t->n_vocab);
    }
    *id = (int32_t)v;
    return LPQ_STATUS_OK;
}

static enum lpq_status get_flag(struct lpq_gguf *g, const char *key, bool *out, struct lpq_err *err) {
    bool v;
    enum lpq_status st = lpq_gguf_get_bool(g, key, &v);
    if (st == LPQ_STATUS_NOT_FOUND) return LPQ_STATUS_OK;
    if (st != LPQ_STATUS_OK) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %s", key, lpq_gguf_errmsg(g));
    *out = v;
    return LPQ_STATUS_OK;
}

/* Texts llama.cpp treats as end of generation (and promotes to control tokens): end of
 * turn/text markers and the FIM pad/repo/file-separator tokens. */
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>", "[e~[",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
};
/* Texts that make a token the EOT id when tokenizer.ggml.eot_token_id is absent. */
static const char *const k_eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
    "<end_of_utterance>",
};

static void mark_eog(struct lpq_tokenizer *t) {
    /* EOT by text: the lowest matching id (llama.cpp takes whichever its hash map yields). */
    if (t->eot < 0) {
        for (size_t k = 0; k < LPQ_ARRAY_SIZE(k_eot_texts) && t->eot < 0; k++) {
            int32_t id = lpq__tok_find(t, k_eot_texts[k], strlen(k_eot_texts[k]));
            if (id >= 0) t->eot = id;
        }
        if (t->eot >= 0) t->attr[t->eot] |= LPQ__ATTR_CONTROL;
    }
    if (t->eom < 0) {
        t->eom = lpq__tok_find(t, "<|eom_id|>", 10);
        if (t->eom >= 0) t->attr[t->eom] |= LPQ__ATTR_CONTROL;
    }
    for (size_t k = 0; k < LPQ_ARRAY_SIZE(k_eog_texts); k++) {
        int32_t id = lpq__tok_find(t, k_eog_texts[k], strlen(k_eog_texts[k]));
        if (id >= 0) t->attr[id] |= LPQ__ATTR_EOG | LPQ__ATTR_CONTROL;
    }
    if (t->eos >= 0) t->attr[t->eos] |= LPQ__ATTR_EOG;
    if (t->eot >= 0) t->attr[t->eot] |= LPQ__ATTR_EOG;
    if (t->eom >= 0) t->attr[t->eom] |= LPQ__ATTR_EOG;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static enum lpq_status build_special(struct lpq_tokenizer *t, struct lpq_err *err) {
    uint32_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->attr[i] & (LPQ__ATTR_CONTROL | LPQ__ATTR_USER_DEFINED | LPQ__ATTR_UNKNOWN)) n++;
    }
    t->special = lpq_malloc_array(n ? n : 1, sizeof(*t->special));
    uint64_t *keys = lpq_malloc_array(n ? n : 1, sizeof(*keys));
    if (!t->special || !keys) {
        lpq_free(keys);
        return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizer: out of memory");
    }
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->attr[i] & (LPQ__ATTR_CONTROL | LPQ__ATTR_USER_DEFINED | LPQ__ATTR_UNKNOWN)) {
            /* Longest first, as llama.cpp partitions (ties by id, which its unstable sort
             * leaves open): sort keys (UINT32_MAX - length, id). */
            keys[t->n_special++] = ((uint64_t)(UINT32_MAX - t->len[i]) << 32) | (uint32_t)i;
            t->special_first[(uint8_t)t->pool[t->off[i]]] = 1;
            t->special_max_len = LPQ_MAX(t->special_max_len, t->len[i]);
            if (t->len[i] < 64) t->special_len_mask |= 1ull << t->len[i];
        }
    }
    qsort(keys, n, sizeof(*keys), cmp_u64);
    for (uint32_t i = 0; i < n; i++) t->special[i] = (int32_t)(uint32_t)keys[i];
    lpq_free(keys);
    return LPQ_STATUS_OK;
}

static void set_attr_by_text(struct lpq_tokenizer *t, const char *s, uint16_t a, bool on) {
    int32_t id = lpq__tok_find(t, s, strlen(s));
    if (id < 0) return;
    t->attr[id] = on ? (uint16_t)(t->attr[id] | a) : (uint16_t)(t->attr[id] & ~a);
}

/* Per-model strip rules llama.cpp keys on the model name (general.name). */
static void strip_rules(struct lpq_tokenizer *t, struct lpq_gguf *g) {
    const char *name = NULL;
    char low[128] = "";
    if (lpq_gguf_get_str(g, "general.name", &name, NULL) == LPQ_STATUS_OK && name) {
        size_t i = 0;
        for (; name[i] && i + 1 < sizeof(low); i++) low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
        low[i] = 0;
    }
    if (strstr(t->pre, "jina-v2-de") || strstr(t->pre, "jina-v2-es") || strstr(t->pre, "jina-v2-code")) {
        set_attr_by_text(t, "<mask>", LPQ__ATTR_LSTRIP, true);
    } else if (strstr(low, "phi-3") || strstr(low, "phi3")) {
        for (uint32_t i = 0; i < t->n_special; i++) t->attr[t->special[i]] |= LPQ__ATTR_RSTRIP;
        set_attr_by_text(t, "</s>", LPQ__ATTR_RSTRIP, true);
        set_attr_by_text(t, "<unk>", LPQ__ATTR_RSTRIP, false);
        set_attr_by_text(t, "<s>", LPQ__ATTR_RSTRIP, false);
        set_attr_by_text(t, "<|endoftext|>", LPQ__ATTR_RSTRIP, false);
    }
}

/* The text a token renders as with special = true (llama.cpp's token_to_piece cache). */
static enum lpq_status build_pieces(struct lpq_tokenizer *t, struct lpq_err *err) {
    int16_t inv[512];
    for (int i = 0; i < 512; i++) inv[i] = -1;
    if (t->type == LPQ_TOKENIZER_BPE) {
        for (int b = 0; b < 256; b++) inv[t->byte_cp[b]] = (int16_t)b;
    }
    size_t cap = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) cap += t->len[i];
    cap = cap * 2 + 64;
    t->piece_pool = lpq_malloc(cap);
    t->piece_off = lpq_malloc_array((size_t)t->n_vocab, sizeof(*t->piece_off));
    t->piece_len = lpq_malloc_array((size_t)t->n_vocab, sizeof(*t->piece_len));
    if (!t->piece_pool || !t->piece_off || !t->piece_len) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizer: out of memory");
    size_t pos = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const char *s = t->pool + t->off[i];
        size_t n = t->len[i];
        uint16_t a = t->attr[i];
        /* Worst case: BPE "[UNK_BYTE_0x..]" per character, bounded by 32 + 2n per char. */
        size_t need = (a & LPQ__ATTR_NORMAL) && t->type == LPQ_TOKENIZER_BPE ? n * (n + 40) : n;
        if (pos + need + 8 > cap) {
            while (pos + need + 8 > cap) cap *= 2;
            char *p = lpq_realloc(t->piece_pool, cap);
            if (!p) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizer: out of memory");
            t->piece_pool = p;
        }
        char *o = t->piece_pool + pos;
        size_t k = 0;
        if (a & (LPQ__ATTR_UNKNOWN | LPQ__ATTR_CONTROL | LPQ__ATTR_USER_DEFINED)) {
            memcpy(o, s, n);
            k = n;
        } else if (a & LPQ__ATTR_NORMAL) {
            if (t->type != LPQ_TOKENIZER_BPE) {
                for (size_t j = 0; j < n; j++) {
                    if (j + 2 < n && (uint8_t)s[j] == 0xE2 && (uint8_t)s[j + 1] == 0x96 && (uint8_t)s[j + 2] == 0x81) {
                        o[k++] = ' ';
                        j += 2;
                    } else o[k++] = s[j];
                }
            } else {
                for (size_t j = 0; j < n;) {
                    size_t adv;
                    uint32_t cp = lpq__utf8_decode((const uint8_t *)s + j, n - j, &adv);
                    j += adv;
                    if (cp < 512 && inv[cp] >= 0) {
                        o[k++] = (char)inv[cp];
                    } else {
                        /* Not a byte character: llama.cpp writes this marker. */
                        char u[4];
                        size_t un = lpq__utf8_encode(cp, u);
                        k += (size_t)sprintf(o + k, "[UNK_BYTE_0x");
                        for (size_t q = 0; q < un; q++) k += (size_t)sprintf(o + k, "%02x", (uint8_t)u[q]);
                        memcpy(o + k, s, n);
                        k += n;
                        o[k++] = ']';
                    }
                }
            }
        } else if (a & LPQ__ATTR_BYTE) {
            char hex[3] = { n > 3 ? s[3] : 0, n > 4 ? s[4] : 0, 0 };
            o[k++] = (char)strtol(hex, NULL, 16);
        }
        t->piece_off[i] = (uint32_t)pos;
        t->piece_len[i] = (uint32_t)k;
        pos += k;
        if (pos > UINT32_MAX - 1024) return lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: pieces too large", KEY_TOKENS);
    }
    return LPQ_STATUS_OK;
}

enum lpq_status lpq_tokenizer_load(struct lpq_gguf *g, struct lpq_tokenizer **out, struct lpq_err *err) {
    enum lpq_status st;
    const char *model = NULL, *pre = NULL;
    struct lpq_tokenizer *t = lpq_calloc(1, sizeof(*t));
    if (!t) return lpq_err_set(err, LPQ_STATUS_NO_MEMORY, "tokenizer: out of memory");
    t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = -1;

    st = lpq_gguf_get_str(g, KEY_MODEL, &model, NULL);
    if (st == LPQ_STATUS_NOT_FOUND) { st = lpq_err_set(err, st, "%s: missing (no tokenizer in the file)", KEY_MODEL); goto done; }
    if (st != LPQ_STATUS_OK) { st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %s", KEY_MODEL, lpq_gguf_errmsg(g)); goto done; }
    st = lpq_gguf_get_str(g, KEY_PRE, &pre, NULL);
    if (st == LPQ_STATUS_NOT_FOUND) pre = NULL;
    else if (st != LPQ_STATUS_OK) { st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: %s", KEY_PRE, lpq_gguf_errmsg(g)); goto done; }

    if (strcmp(model, "llama") == 0) t->type = LPQ_TOKENIZER_SPM;
    else if (strcmp(model, "gpt2") == 0) t->type = LPQ_TOKENIZER_BPE;
    else if (strcmp(model, "bert") == 0) t->type = LPQ_TOKENIZER_WPM;
    else {
        st = lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "%s: tokenizer '%s' is not supported (lpq has llama, gpt2, bert)", KEY_MODEL, model);
        goto done;
    }

    st = load_tokens(t, g, err);
    if (st != LPQ_STATUS_OK) goto done;

    if (t->type == LPQ_TOKENIZER_SPM) {
        /* llama.cpp's SPM defaults: <unk> 0, <s> 1, </s> 2, BOS on, space prefix on. */
        snprintf(t->pre, sizeof(t->pre), "default");
        t->unk = 0;
        t->bos = 1;
        t->eos = 2;
        t->add_bos = true;
        t->add_space_prefix = true;
        for (int b = 0; b < 256; b++) {
            char buf[8];
            snprintf(buf, sizeof(buf), "<0x%02X>", b);
            int32_t id = lpq__tok_find(t, buf, 6);
            if (id < 0) {
                char c = (char)b;
                id = lpq__tok_find(t, &c, 1);
            }
            t->byte_token[b] = id;
        }
    } else if (t->type == LPQ_TOKENIZER_WPM) {
        /* llama.cpp's BERT defaults: [UNK] 100, [CLS] 101 as BOS, [SEP] 102. */
        snprintf(t->pre, sizeof(t->pre), "%s", pre ? pre : "default");
        t->unk = 100;
        t->bos = 101;
        t->sep = 102;
        t->add_bos = true;
        t->add_sep = true;
        t->clean_spaces = true;
        t->wpm_lowercase = true;
        for (int b = 0; b < 256; b++) t->byte_token[b] = -1;
    } else {
        st = load_merges(t, g, err);
        if (st != LPQ_STATUS_OK) goto done;
        t->bos = t->eos = 11;   /* llama.cpp's gpt2 defaults */
        st = lpq__bpe_init(t, pre, err);
        if (st != LPQ_STATUS_OK) goto done;
    }
    /* Defaults that do not exist in this vocabulary are dropped. */
    if (t->bos >= t->n_vocab) t->bos = -1;
    if (t->eos >= t->n_vocab) t->eos = -1;
    if (t->unk >= t->n_vocab) t->unk = -1;
    if (t->sep >= t->n_vocab) t->sep = -1;

    if ((st = get_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_id(t, g, "tokenizer.ggml.bos_token_id", &t->bos, true, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_id(t, g, "tokenizer.ggml.eos_token_id", &t->eos, true, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_id(t, g, "tokenizer.ggml.eot_token_id", &t->eot, true, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_id(t, g, "tokenizer.ggml.eom_token_id", &t->eom, true, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_id(t, g, "tokenizer.ggml.unknown_token_id", &t->unk, true, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err)) != LPQ_STATUS_OK) goto done;
    if ((st = get_flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err)) != LPQ_STATUS_OK) goto done;
    if (t->type == LPQ_TOKENIZER_WPM) {
        if ((st = get_id(t, g, "tokenizer.ggml.seperator_token_id", &t->sep, true, err)) != LPQ_STATUS_OK) goto done;
        if ((st = get_flag(g, "tokenizer.ggml.add_sep_token", &t->add_sep, err)) != LPQ_STATUS_OK) goto done;
        if ((st = get_flag(g, "tokenizer.ggml.normalizer.lowercase", &t->wpm_lowercase, err)) != LPQ_STATUS_OK) goto done;
        t->wpm_strip_accents = t->wpm_lowercase;
        if ((st = get_flag(g, "tokenizer.ggml.normalizer.strip_accents", &t->wpm_strip_accents, err)) != LPQ_STATUS_OK) goto done;
        if (t->unk < 0 || t->sep < 0) {
            st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "%s: a bert tokenizer needs [UNK] and [SEP] ids",
                             t->unk < 0 ? "tokenizer.ggml.unknown_token_id" : "tokenizer.ggml.seperator_token_id");
            goto done;
        }
    }
    if (t->add_bos && t->bos < 0) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "tokenizer.ggml.bos_token_id: missing, but BOS is to be added");
        goto done;
    }
    if (t->add_eos && t->eos < 0) {
        st = lpq_err_set(err, LPQ_STATUS_BAD_FILE, "tokenizer.ggml.eos_token_id: missing, but EOS is to be added");
        goto done;
    }

    for (int32_t i = 0; i < t->n_vocab; i++) {
        const uint8_t *s = (const uint8_t *)t->pool + t->off[i];
        t->max_token_len = LPQ_MAX(t->max_token_len, t->len[i]);
        for (uint32_t j = 1; j < t->len[i]; j++) {
            unsigned k = (unsigned)s[j - 1] << 8 | s[j];
            t->pair_bits[k >> 3] |= (uint8_t)(1u << (k & 7));
        }
    }
    mark_eog(t);
    st = build_special(t, err);
    if (st != LPQ_STATUS_OK) goto done;
    strip_rules(t, g);
    st = build_pieces(t, err);
    if (st != LPQ_STATUS_OK) goto done;

    *out = t;
    t = NULL;
    st = LPQ_STATUS_OK;
done:
    lpq_tokenizer_free(t);
    return st;
}

/* ---- accessors ------------------------------------------------------------------------------ */

enum lpq_tokenizer_type lpq_tokenizer_type(const struct lpq_tokenizer *t) { return t->type; }
const char *lpq_tokenizer_pre(const struct lpq_tokenizer *t) { return t->pre; }
int32_t lpq_tokenizer_n_vocab(const struct lpq_tokenizer *t) { return t->n_vocab; }
int32_t lpq_tokenizer_bos(const struct lpq_tokenizer *t) { return t->bos; }
int32_t lpq_tokenizer_eos(const struct lpq_tokenizer *t) { return t->eos; }
int32_t lpq_tokenizer_eot(const struct lpq_tokenizer *t) { return t->eot; }
int32_t lpq_tokenizer_unk(const struct lpq_tokenizer *t) { return t->unk; }
bool lpq_tokenizer_add_bos(const struct lpq_tokenizer *t) { return t->add_bos; }
bool lpq_tokenizer_add_eos(const struct lpq_tokenizer *t) { return t->add_eos; }

bool lpq_tokenizer_is_eog(const struct lpq_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab && (t->attr[id] & LPQ__ATTR_EOG);
}

bool lpq_tokenizer_is_control(const struct lpq_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab && (t->attr[id] & LPQ__ATTR_CONTROL);
}

enum lpq_token_type lpq_tokenizer_token_type(const struct lpq_tokenizer *t, int32_t id) {
    return (id >= 0 && id < t->n_vocab) ? (enum lpq_token_type)t->ttype[id] : LPQ_TOKEN_TYPE_UNDEFINED;
}

const char *lpq_tokenizer_token_text(const struct lpq_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->len[id];
    return t->pool + t->off[id];
}

int32_t lpq_tokenizer_find(const struct lpq_tokenizer *t, const char *s, size_t len) {
    return s ? lpq__tok_find(t, s, len) : -1;
}

/* ---- text → ids ----------------------------------------------------------------------------- */

struct frag {
    size_t off, len;               /* bytes of the input (text fragments) */
    int32_t id;                    /* special token, or -1 for text */
};

struct frags {
    struct frag *v;
    size_t n, cap;
};

static bool frag_push(struct frags *f, size_t off, size_t len, int32_t id) {
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        struct frag *v = lpq_realloc(f->v, nc * sizeof(*v));
        if (!v) return false;
        f->v = v;
        f->cap = nc;
    }
    f->v[f->n++] = (struct frag){ off, len, id };
    return true;
}

static bool special_usable(const struct lpq_tokenizer *t, int32_t id, bool parse_special) {
    /* Control and unknown tokens only when asked; user-defined ones always (llama.cpp). */
    return parse_special || !(t->attr[id] & (LPQ__ATTR_CONTROL | LPQ__ATTR_UNKNOWN));
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static const char *find_bytes(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn == 0 || hn < nn) return NULL;
    const char *end = h + hn - nn + 1;
    while (h < end) {
        const char *p = memchr(h, nd[0], (size_t)(end - h));
        if (!p) return NULL;
        if (memcmp(p, nd, nn) == 0) return p;
        h = p + 1;
    }
    return NULL;
}

static inline bool is_c_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Splits text at special-token strings the way llama.cpp's tokenizer_st_partition does: the
 * special tokens in order (longest first), each cutting every remaining text fragment at its
 * leftmost non-overlapping occurrences. Only tokens that occur at all are tried: one pass over
 * the text looks up, at each byte that starts some special text, every length of text. */
static enum lpq_status partition(const struct lpq_tokenizer *t, const char *text, size_t n, bool parse_special,
                                 struct frags *out) {
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;
    int32_t *present = NULL;
    size_t n_present = 0, cap_present = 0;
    struct frags tmp = { 0 };
    if (!frag_push(out, 0, n, -1)) return st;
    if (t->n_special == 0) return LPQ_STATUS_OK;

    for (size_t i = 0; i < n; i++) {
        if (!t->special_first[(uint8_t)text[i]]) continue;
        size_t max = LPQ_MIN((size_t)t->special_max_len, n - i);
        for (size_t l = 1; l <= max; l++) {
            if (l < 64 && !((t->special_len_mask >> l) & 1)) continue;
            int32_t id = lpq__tok_find(t, text + i, l);
            if (id < 0 || !(t->attr[id] & (LPQ__ATTR_CONTROL | LPQ__ATTR_USER_DEFINED | LPQ__ATTR_UNKNOWN))) continue;
            if (!special_usable(t, id, parse_special)) continue;
            if (n_present == cap_present) {
                size_t nc = cap_present ? cap_present * 2 : 16;
                int32_t *p = lpq_realloc(present, nc * sizeof(*p));
                if (!p) goto done;
                present = p;
                cap_present = nc;
            }
            present[n_present++] = id;
        }
    }
    if (n_present == 0) { st = LPQ_STATUS_OK; goto done; }
    qsort(present, n_present, sizeof(*present), cmp_i32);

    for (uint32_t si = 0; si < t->n_special; si++) {
        int32_t id = t->special[si];
        if (!bsearch(&id, present, n_present, sizeof(*present), cmp_i32)) continue;
        const char *s = t->pool + t->off[id];
        size_t sl = t->len[id];
        uint16_t a = t->attr[id];
        tmp.n = 0;
        for (size_t k = 0; k < out->n; k++) {
            struct frag f = out->v[k];
            if (f.id >= 0) { if (!frag_push(&tmp, f.off, f.len, f.id)) goto done; continue; }
            size_t base = f.off, left = f.len;
            for (;;) {
                const char *m = find_bytes(text + base, left, s, sl);
                if (!m) {
                    if (left && !frag_push(&tmp, base, left, -1)) goto done;
                    break;
                }
                size_t mpos = (size_t)(m - text);
                size_t ll = mpos - base;
                if (a & LPQ__ATTR_LSTRIP) while (ll > 0 && is_c_space(text[base + ll - 1])) ll--;
                if (ll && !frag_push(&tmp, base, ll, -1)) goto done;
                if (!frag_push(&tmp, mpos, sl, id)) goto done;
                size_t rbase = mpos + sl, rleft = base + left - rbase;
                if (a & LPQ__ATTR_RSTRIP) while (rleft > 0 && is_c_space(text[rbase])) { rbase++; rleft--; }
                base = rbase;
                left = rleft;
            }
        }
        struct frags sw = *out;
        *out = tmp;
        tmp = sw;
    }
    st = LPQ_STATUS_OK;
done:
    lpq_free(present);
    lpq_free(tmp.v);
    return st;
}

enum lpq_status lpq_tokenize(const struct lpq_tokenizer *t, const char *text, size_t len,
                             bool add_special, bool parse_special, int32_t *ids, size_t cap,
                             size_t *n_out) {
    if (!text && len) return LPQ_STATUS_BAD_ARG;
    enum lpq_status st = LPQ_STATUS_OK;
    struct lpq__ids o = { 0 };
    struct frags fr = { 0 };
    char *buf = NULL;

    if (len) {
        st = partition(t, text, len, parse_special, &fr);
        if (st != LPQ_STATUS_OK) goto done;
    }
    if (add_special && (t->add_bos || t->type == LPQ_TOKENIZER_WPM) && t->bos >= 0) lpq__ids_push(&o, t->bos);
    if (t->type == LPQ_TOKENIZER_SPM) {
        /* The space prefix goes before the first text and every text after a special token. */
        bool prev_special = true;
        size_t cap_buf = 0;
        for (size_t k = 0; k < fr.n && st == LPQ_STATUS_OK; k++) {
            const struct frag *f = &fr.v[k];
            if (f->id >= 0) { lpq__ids_push(&o, f->id); prev_special = true; continue; }
            const char *s = text + f->off;
            size_t n = f->len;
            if (t->add_space_prefix && prev_special) {
                if (n + 1 > cap_buf) {
                    char *b = lpq_realloc(buf, n + 1);
                    if (!b) { st = LPQ_STATUS_NO_MEMORY; break; }
                    buf = b;
                    cap_buf = n + 1;
                }
                buf[0] = ' ';
                memcpy(buf + 1, s, n);
                s = buf;
                n++;
            }
            st = lpq__spm_tokenize(t, s, n, &o);
            prev_special = false;
        }
    } else {
        for (size_t k = 0; k < fr.n && st == LPQ_STATUS_OK; k++) {
            const struct frag *f = &fr.v[k];
            if (f->id >= 0) lpq__ids_push(&o, f->id);
            else if (t->type == LPQ_TOKENIZER_WPM) st = lpq__wpm_tokenize(t, text + f->off, f->len, &o);
            else st = lpq__bpe_tokenize(t, text + f->off, f->len, &o);
        }
    }
    if (st != LPQ_STATUS_OK) goto done;
    if (t->type == LPQ_TOKENIZER_WPM) {
        if (add_special && t->sep >= 0) lpq__ids_push(&o, t->sep);   /* llama.cpp: always [SEP] */
    } else if (add_special && t->add_eos && t->eos >= 0) lpq__ids_push(&o, t->eos);
    if (o.oom) { st = LPQ_STATUS_NO_MEMORY; goto done; }
    if (n_out) *n_out = o.n;
    if (o.n > cap) { st = LPQ_STATUS_RANGE; goto done; }
    if (o.n) memcpy(ids, o.v, o.n * sizeof(*ids));
done:
    lpq_free(o.v);
    lpq_free(fr.v);
    lpq_free(buf);
    return st;
}

/* ---- ids → text ----------------------------------------------------------------------------- */

size_t lpq_token_to_piece(const struct lpq_tokenizer *t, int32_t id, char *buf, size_t cap, bool special) {
    if (id < 0 || id >= t->n_vocab) return 0;
    if (!special && (t->attr[id] & (LPQ__ATTR_UNKNOWN | LPQ__ATTR_CONTROL))) return 0;
    size_t n = t->piece_len[id];
    if (buf && cap) memcpy(buf, t->piece_pool + t->piece_off[id], LPQ_MIN(n, cap));
    return n;
}

/* llama.cpp's clean_spaces passes over the detokenized text, in place; returns the new length. */
static size_t clean_spaces(char *s, size_t n) {
    size_t total = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {           /* " ?", " !", " .", " ," */
        char x = s[i];
        if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
        s[total++] = x;
    }
    n = total;
    total = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {           /* " ' " → "'" */
        char x = s[i];
        if (x == '\'' && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ') {
            total--;
            s[++i] = 0;
        }
        s[total++] = x;
    }
    n = total;
    total = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {           /* " 's", " 'm", " 're", " 've" */
        char x = s[i];
        if (s[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = s[i + 1];
            if (x1 == 's' || x1 == 'm') total--;
            else if (i + 2 < n && ((x1 == 'r' && s[i + 2] == 'e') || (x1 == 'v' && s[i + 2] == 'e'))) total--;
        }
        s[total++] = x;
    }
    return total;
}

enum lpq_status lpq_detokenize(const struct lpq_tokenizer *t, const int32_t *ids, size_t n,
                               bool special, char *buf, size_t cap, size_t *n_out) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) return LPQ_STATUS_BAD_ARG;
        total += lpq_token_to_piece(t, ids[i], NULL, 0, special);
    }
    char *tmp = lpq_malloc(total + 1);
    if (!tmp) return LPQ_STATUS_NO_MEMORY;
    size_t k = 0;
    bool remove_space = t->add_space_prefix;
    for (size_t i = 0; i < n; i++) {
        size_t pl = lpq_token_to_piece(t, ids[i], tmp + k, total - k, special);
        if (remove_space && pl && tmp[k] == ' ') {
            memmove(tmp + k, tmp + k + 1, pl - 1);
            pl--;
        }
        remove_space = false;
        k += pl;
    }
    if (t->clean_spaces) k = clean_spaces(tmp, k);
    if (n_out) *n_out = k;
    enum lpq_status st = LPQ_STATUS_OK;
    if (k + 1 > cap) st = LPQ_STATUS_RANGE;
    else {
        memcpy(buf, tmp, k);
        buf[k] = 0;
    }
    lpq_free(tmp);
    return st;
}
