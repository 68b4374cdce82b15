/*
 * tokenizer-bpe.c — byte-level BPE ("gpt2" vocabularies): the pre-tokenizer regexes chosen by
 * tokenizer.ggml.pre split the text into words, each word's UTF-8 bytes are mapped to GPT-2's
 * printable byte characters, and adjacent symbols are merged lowest merge rank first (ties:
 * leftmost), as llama.cpp's BPE session does.
 */
#include <stdio.h>
#include <string.h>

#include "runtimes/tokenizer-impl.h"

/* The split patterns per pre-tokenizer, from the models' tokenizer.json files (as llama.cpp
 * lists them, with the case-insensitive contraction group spelled out). Each pattern splits
 * every piece the previous one produced; text between matches stays a piece of its own. */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3 RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
#define RE_CJK_KANA "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+"
#define RE_BLOOM " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"
#define RE_DEEPSEEK3 "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+"
#define RE_UPPER "((?=[\\p{L}])([^a-z]))"
#define RE_LOWER "((?=[\\p{L}])([^A-Z]))"
#define RE_TEKKEN "[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "*" RE_LOWER "+|[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "+" RE_LOWER "*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT4O "[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "*" RE_LOWER "+" RE_CONTRACTIONS "?|[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "+" RE_LOWER "*" RE_CONTRACTIONS "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

struct pre_def {
    const char *names[8];          /* tokenizer.ggml.pre values */
    const char *re[LPQ__RE_MAX];
    bool clean_spaces;             /* detokenize clean-up (llama.cpp's default for BPE: on) */
    bool ignore_merges;
    bool add_bos;                  /* default before tokenizer.ggml.add_bos_token */
};

static const struct pre_def k_pre[] = {
    { { "default" }, { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" }, true, false, false },
    { { "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "mpt" },
      { RE_GPT2 }, true, false, false },
    { { "olmo", "jais", "a.x-4.0", "mellum", "exaone4" }, { RE_GPT2 }, true, false, false },
    { { "trillion", "granite-docling" }, { RE_GPT2 }, false, false, false },
    { { "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2" },
      { RE_LLAMA3 }, true, true, true },
    { { "dbrx", "smaug-bpe" }, { RE_LLAMA3 }, true, false, false },
    { { "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan" }, { RE_QWEN2 }, false, false, false },
    { { "stablelm2", "megrez" }, { RE_QWEN2 }, true, false, false },
    { { "deepseek-llm" },
      { "[\r\n]",
        "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-"
        "\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}"
        "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}"
        "\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
        "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}"
        "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}"
        "\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
        "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"
        "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"
        "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-"
        "\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
        "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}"
        "\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"
        "\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-"
        "\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
        "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", RE_CJK, "\\p{N}+" }, false, false, false },
    { { "deepseek-coder" }, { "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}" }, false, false, false },
    { { "falcon" }, { "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]" }, true, false, false },
    { { "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2" }, { "\\p{N}", RE_GPT2 }, true, false, false },
    { { "command-r", "smollm" }, { "\\p{N}", RE_GPT2 }, false, false, false },
    { { "chatglm-bpe" }, { RE_LLAMA3 }, true, false, false },
    { { "glm4", "glm5" }, { RE_LLAMA3 }, true, true, false },
    { { "poro-chat" }, { RE_BLOOM }, false, false, false },
    { { "bloom", "gpt3-finnish" }, { RE_BLOOM }, true, false, false },
    { { "viking" }, { RE_BLOOM, "\\p{N}" }, false, false, false },
    { { "tekken" }, { RE_TEKKEN }, false, true, true },
    { { "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2" }, { RE_GPT4O }, false, false, false },
    { { "bailingmoe", "bailingmoe2", "llada-moe" },
      { "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+" },
      false, false, false },
    { { "seed-coder" },
      { RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      false, false, false },
    { { "ufakzeka" }, { "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      false, false, false },
    { { "grok-2", "solar-open" }, { RE_QWEN2 }, false, false, false },
    { { "qwen35" },
      { RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      false, false, false },
    { { "laguna" }, { "[^\\n]+|[\\n]+", RE_QWEN2 }, false, false, false },
    { { "minicpm5" },
      { "\\p{N}{1,3}", RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      true, true, false },
    { { "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4" },
      { "\\p{N}{1,3}", RE_CJK_KANA, RE_DEEPSEEK3 "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, false, false, false },
    { { "spark2_5" }, { "\\p{N}{1,3}", RE_CJK_KANA, RE_DEEPSEEK3 "|[\\r\\n]|\\s+(?!\\S)|\\s+", "\\p{N}" },
      false, false, false },
};

/* GPT-2's byte ↔ character map: printable Latin-1 bytes stand for themselves, the other 68
 * bytes take code points 256, 257, ... in byte order. */
static void byte_map_init(uint32_t map[256]) {
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        map[b] = printable ? b : next++;
    }
}

enum lpq_status lpq__bpe_init(struct lpq_tokenizer *t, const char *pre, struct lpq_err *err) {
    const struct pre_def *d = NULL;
    if (!pre || !*pre) pre = "default";
    for (size_t i = 0; i < LPQ_ARRAY_SIZE(k_pre) && !d; i++) {
        for (size_t j = 0; j < LPQ_ARRAY_SIZE(k_pre[i].names) && k_pre[i].names[j]; j++) {
            if (strcmp(k_pre[i].names[j], pre) == 0) { d = &k_pre[i]; break; }
        }
    }
    if (!d) {
        return lpq_err_set(err, LPQ_STATUS_UNSUPPORTED, "tokenizer.ggml.pre: unsupported pre-tokenizer '%s'", pre);
    }
    snprintf(t->pre, sizeof(t->pre), "%s", pre);
    t->clean_spaces = d->clean_spaces;
    t->ignore_merges = d->ignore_merges;
    t->add_bos = d->add_bos;
    t->add_eos = false;
    t->add_space_prefix = false;
    for (int i = 0; i < LPQ__RE_MAX && d->re[i]; i++) {
        enum lpq_status st = lpq__re_compile(d->re[i], &t->re[i], err);
        if (st != LPQ_STATUS_OK) return st;
        t->n_re = i + 1;
    }
    byte_map_init(t->byte_cp);
    for (int b = 0; b < 256; b++) {
        char buf[4];
        size_t n = lpq__utf8_encode(t->byte_cp[b], buf);
        t->byte_token[b] = lpq__tok_find(t, buf, n);
    }
    return LPQ_STATUS_OK;
}

int32_t lpq__bpe_merge_rank(const struct lpq_tokenizer *t, const char *a, size_t na, size_t nb) {
    if (!t->merge_map) return -1;
    size_t n = na + nb;
    uint64_t h = lpq__hash(a, n) ^ ((uint64_t)na * 0x9E3779B97F4A7C15ull);
    for (uint32_t i = (uint32_t)h & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        uint32_t v = t->merge_map[i];
        if (!v) return -1;
        const struct lpq__merge *m = &t->merges[v - 1];
        if (m->len == n && m->len_first == na && memcmp(t->merge_pool + m->off, a, n) == 0) return (int32_t)(v - 1);
    }
}

/* ---- merging one word ------------------------------------------------------------------- */

struct sym {
    int32_t prev, next;
    uint32_t start, n;             /* bytes within the word */
};

struct bigram {
    int32_t left, right;
    int32_t rank;
    uint32_t size;                 /* bytes of left + right when pushed */
};

struct work {
    struct sym *sym;
    size_t cap_sym;
    struct bigram *heap;
    size_t n_heap, cap_heap;
    char *word;                    /* byte-encoded word */
    size_t cap_word;
    uint32_t *cp;
    uint8_t *props;
    size_t cap_cp;
    uint32_t *pieces, *pieces2;    /* code point lengths of the split */
    size_t cap_pieces;
    struct lpq__re_scratch re;
    /* Words repeat: encoded word → its ids, for this call (merging is deterministic). */
    uint32_t *cache;               /* slots: entry + 1, 0 = empty */
    struct cache_entry *ent;
    size_t n_ent, cap_ent;
    char *ckey;                    /* key bytes */
    size_t n_ckey, cap_ckey;
    int32_t *cids;                 /* cached ids */
    size_t n_cids, cap_cids;
};

struct cache_entry {
    uint64_t hash;
    uint32_t key_off, key_len;     /* bytes into ckey */
    uint32_t ids_off, n_ids;       /* into cids */
};

#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_WORD 64          /* bytes; longer words are rare and not cached */

/* Min-heap on (rank, left): the lowest rank merges first, leftmost among equals. */
static inline bool bg_before(const struct bigram *a, const struct bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static bool heap_push(struct work *w, struct bigram b) {
    if (w->n_heap == w->cap_heap) {
        size_t nc = w->cap_heap ? w->cap_heap * 2 : 64;
        struct bigram *h = lpq_realloc(w->heap, nc * sizeof(*h));
        if (!h) return false;
        w->heap = h;
        w->cap_heap = nc;
    }
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bg_before(&b, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = b;
    return true;
}

static struct bigram heap_pop(struct work *w) {
    struct bigram top = w->heap[0];
    struct bigram last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bg_before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!bg_before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static bool add_bigram(const struct lpq_tokenizer *t, struct work *w, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return true;
    const struct sym *l = &w->sym[left], *r = &w->sym[right];
    int32_t rank = lpq__bpe_merge_rank(t, w->word + l->start, l->n, r->n);
    if (rank < 0) return true;
    return heap_push(w, (struct bigram){ left, right, rank, l->n + r->n });
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = lpq_realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* BPE over the byte-encoded word w->word[0..n). */
static enum lpq_status merge_word(const struct lpq_tokenizer *t, struct work *w, size_t n, struct lpq__ids *out) {
    if (t->ignore_merges) {
        int32_t id = lpq__tok_find(t, w->word, n);
        if (id >= 0) { lpq__ids_push(out, id); return LPQ_STATUS_OK; }
    }
    if (!grow((void **)&w->sym, &w->cap_sym, n, sizeof(*w->sym))) return LPQ_STATUS_NO_MEMORY;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t len = LPQ_MIN(lpq__utf8_len((uint8_t)w->word[off]), n - off);
        w->sym[ns] = (struct sym){ ns - 1, off + len == n ? -1 : ns + 1, (uint32_t)off, (uint32_t)len };
        ns++;
        off += len;
    }
    w->n_heap = 0;
    for (int32_t i = 1; i < ns; i++) if (!add_bigram(t, w, i - 1, i)) return LPQ_STATUS_NO_MEMORY;
    while (w->n_heap) {
        struct bigram b = heap_pop(w);
        struct sym *l = &w->sym[b.left], *r = &w->sym[b.right];
        /* Stale: a side was merged away or grew since the pair was queued. */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size || l->next != b.right) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = b.left;
        if (!add_bigram(t, w, l->prev, b.left) || !add_bigram(t, w, b.left, l->next)) return LPQ_STATUS_NO_MEMORY;
    }
    for (int32_t i = 0; i >= 0 && ns > 0; i = w->sym[i].next) {
        const struct sym *s = &w->sym[i];
        int32_t id = lpq__tok_find(t, w->word + s->start, s->n);
        if (id >= 0) {
            lpq__ids_push(out, id);
            continue;
        }
        /* Not a token: each byte of the symbol's text on its own, if that is a token
         * (llama.cpp drops the ones that are not). */
        for (uint32_t k = 0; k < s->n; k++) {
            int32_t bid = lpq__tok_find(t, w->word + s->start + k, 1);
            if (bid >= 0) lpq__ids_push(out, bid);
        }
    }
    return out->oom ? LPQ_STATUS_NO_MEMORY : LPQ_STATUS_OK;
}

/* Cached ids of word w->word[0..n) pushed to out: true on a hit. */
static bool cache_get(struct work *w, uint64_t h, size_t n, struct lpq__ids *out) {
    if (!w->cache) return false;
    for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        uint32_t v = w->cache[i];
        if (!v) return false;
        const struct cache_entry *e = &w->ent[v - 1];
        if (e->hash == h && e->key_len == n && memcmp(w->ckey + e->key_off, w->word, n) == 0) {
            for (uint32_t k = 0; k < e->n_ids; k++) lpq__ids_push(out, w->cids[e->ids_off + k]);
            return true;
        }
    }
}

/* Remembers ids[0..n_ids) for word w->word[0..n); silently skips when full or out of memory. */
static void cache_put(struct work *w, uint64_t h, size_t n, const int32_t *ids, size_t n_ids) {
    if (w->n_ent >= CACHE_SLOTS / 2) return;
    if (!w->cache && !(w->cache = lpq_calloc(CACHE_SLOTS, sizeof(*w->cache)))) return;
    if (!grow((void **)&w->ent, &w->cap_ent, w->n_ent + 1, sizeof(*w->ent)) ||
        !grow((void **)&w->ckey, &w->cap_ckey, w->n_ckey + n, 1) ||
        !grow((void **)&w->cids, &w->cap_cids, w->n_cids + n_ids, sizeof(*w->cids))) return;
    struct cache_entry *e = &w->ent[w->n_ent];
    *e = (struct cache_entry){ h, (uint32_t)w->n_ckey, (uint32_t)n, (uint32_t)w->n_cids, (uint32_t)n_ids };
    memcpy(w->ckey + w->n_ckey, w->word, n);
    memcpy(w->cids + w->n_cids, ids, n_ids * sizeof(*ids));
    w->n_ckey += n;
    w->n_cids += n_ids;
    uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);
    while (w->cache[i]) i = (i + 1) & (CACHE_SLOTS - 1);
    w->cache[i] = (uint32_t)++w->n_ent;
}

static void work_free(struct work *w) {
    lpq_free(w->cache);
    lpq_free(w->ent);
    lpq_free(w->ckey);
    lpq_free(w->cids);
    lpq_free(w->sym);
    lpq_free(w->heap);
    lpq_free(w->word);
    lpq_free(w->cp);
    lpq_free(w->props);
    lpq_free(w->pieces);
    lpq_free(w->pieces2);
    lpq__re_scratch_free(&w->re);
}

enum lpq_status lpq__bpe_tokenize(const struct lpq_tokenizer *t, const char *text, size_t n,
                                  struct lpq__ids *out) {
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;
    struct work w;
    memset(&w, 0, sizeof(w));
    if (n == 0) return LPQ_STATUS_OK;
    /* Decode once; invalid bytes become U+FFFD, which is what gets byte-encoded (as in
     * llama.cpp, which rebuilds the words from code points). */
    if (!grow((void **)&w.cp, &w.cap_cp, n, sizeof(*w.cp))) goto done;
    w.props = lpq_malloc(w.cap_cp);
    if (!w.props) goto done;
    size_t ncp = 0;
    for (size_t off = 0; off < n;) {
        size_t adv;
        uint32_t cp = lpq__utf8_decode((const uint8_t *)text + off, n - off, &adv);
        w.cp[ncp] = cp;
        w.props[ncp] = lpq__unicode_props(cp);
        ncp++;
        off += adv;
    }
    struct lpq__utext ut = { w.cp, w.props, ncp };

    /* Piece lengths in code points; every regex refines the previous split. */
    if (!grow((void **)&w.pieces, &w.cap_pieces, ncp + 1, sizeof(*w.pieces))) goto done;
    w.pieces2 = lpq_malloc(w.cap_pieces * sizeof(*w.pieces2));
    if (!w.pieces2) goto done;
    size_t np = 1;
    w.pieces[0] = (uint32_t)ncp;
    for (int r = 0; r < t->n_re; r++) {
        size_t np2 = 0, start = 0;
        for (size_t k = 0; k < np; k++) {
            size_t lo = start, hi = start + w.pieces[k];
            size_t gap = lo;
            for (size_t pos = lo; pos < hi;) {
                int64_t e = lpq__re_match_at(t->re[r], &ut, lo, hi, pos, &w.re);
                if (e == -2) goto done;
                if (e > 0) {
                    if (pos > gap) w.pieces2[np2++] = (uint32_t)(pos - gap);
                    w.pieces2[np2++] = (uint32_t)((size_t)e - pos);
                    pos = gap = (size_t)e;
                } else pos++;
            }
            if (hi > gap) w.pieces2[np2++] = (uint32_t)(hi - gap);
            start = hi;
        }
        uint32_t *tmp = w.pieces;
        w.pieces = w.pieces2;
        w.pieces2 = tmp;
        np = np2;
    }

    size_t start = 0;
    for (size_t k = 0; k < np; k++) {
        size_t lo = start, hi = start + w.pieces[k];
        start = hi;
        /* Byte-encode: each UTF-8 byte → its GPT-2 character (up to 2 bytes each). */
        if (!grow((void **)&w.word, &w.cap_word, (hi - lo) * 8, 1)) goto done;
        size_t wn = 0;
        for (size_t i = lo; i < hi; i++) {
            char u[4];
            size_t un = lpq__utf8_encode(w.cp[i], u);
            for (size_t j = 0; j < un; j++) wn += lpq__utf8_encode(t->byte_cp[(uint8_t)u[j]], w.word + wn);
        }
        if (wn == 0) continue;
        uint64_t h = 0;
        bool cacheable = wn <= CACHE_MAX_WORD && np >= 256;   /* short texts: not worth the table */
        if (cacheable) {
            h = lpq__hash(w.word, wn);
            if (cache_get(&w, h, wn, out)) continue;
        }
        size_t before = out->n;
        st = merge_word(t, &w, wn, out);
        if (st != LPQ_STATUS_OK) goto done;
        if (cacheable) cache_put(&w, h, wn, out->v + before, out->n - before);
    }
    st = out->oom ? LPQ_STATUS_NO_MEMORY : LPQ_STATUS_OK;
done:
    work_free(&w);
    return st;
}
