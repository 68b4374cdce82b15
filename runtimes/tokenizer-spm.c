/*
 * tokenizer-spm.c — SentencePiece-style tokenization ("llama" vocabularies) as llama.cpp does
 * it: spaces become U+2581 "▁", the text is split into UTF-8 characters, and the adjacent
 * pair whose concatenation is the highest-scoring vocabulary entry is merged first (ties:
 * leftmost) until no pair is a token; leftover characters fall back to <0xNN> byte tokens.
 */
#include <string.h>

#include "runtimes/tokenizer-impl.h"

struct sym {
    int32_t prev, next;
    uint32_t start, n;             /* bytes within the escaped text */
};

struct bigram {
    float score;
    int32_t left, right;
    uint32_t size;                 /* bytes of left + right when pushed */
};

struct work {
    const struct lpq_tokenizer *t;
    const char *s;                 /* escaped text */
    struct sym *sym;
    struct bigram *heap;
    size_t n_heap, cap_heap;
};

/* Max-heap on (score, -left): the best-scoring pair first, leftmost among equals. */
static inline bool bg_before(const struct bigram *a, const struct bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static bool heap_push(struct work *w, struct bigram b) {
    if (w->n_heap == w->cap_heap) {
        size_t nc = w->cap_heap ? w->cap_heap * 2 : 256;
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

static bool add_bigram(struct work *w, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return true;
    const struct sym *l = &w->sym[left], *r = &w->sym[right];
    uint32_t size = l->n + r->n;
    int32_t id = lpq__tok_find(w->t, w->s + l->start, size);
    if (id < 0) return true;
    return heap_push(w, (struct bigram){ w->t->score[id], left, right, size });
}

/* One final symbol: its token, or its bytes as byte tokens. Merged symbols are always
 * tokens, so a miss is one character the vocabulary lacks; when one of its bytes has no byte
 * token (a vocabulary without byte fallback) the character becomes one unknown token
 * (llama.cpp throws there). */
static void emit(const struct lpq_tokenizer *t, const char *s, const struct sym *sy, struct lpq__ids *out) {
    int32_t id = lpq__tok_find(t, s + sy->start, sy->n);
    if (id >= 0) {
        lpq__ids_push(out, id);
        return;
    }
    bool all = true;
    for (uint32_t j = 0; j < sy->n; j++) all = all && t->byte_token[(uint8_t)s[sy->start + j]] >= 0;
    if (all) {
        for (uint32_t j = 0; j < sy->n; j++) lpq__ids_push(out, t->byte_token[(uint8_t)s[sy->start + j]]);
    } else if (t->unk >= 0) {
        lpq__ids_push(out, t->unk);
    }
}

enum lpq_status lpq__spm_tokenize(const struct lpq_tokenizer *t, const char *text, size_t n,
                                  struct lpq__ids *out) {
    enum lpq_status st = LPQ_STATUS_NO_MEMORY;
    struct work w = { .t = t };
    char *s = NULL;
    if (n == 0) return LPQ_STATUS_OK;

    /* Escape: ' ' → "▁" (3 bytes). */
    size_t spaces = 0;
    for (size_t i = 0; i < n; i++) spaces += text[i] == ' ';
    size_t sn = n + 2 * spaces;
    if (sn > UINT32_MAX) return LPQ_STATUS_BAD_ARG;
    s = lpq_malloc(sn);
    w.sym = lpq_malloc_array(sn, sizeof(*w.sym));
    if (!s || !w.sym) goto done;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == ' ') { s[k++] = (char)0xE2; s[k++] = (char)0x96; s[k++] = (char)0x81; }
        else s[k++] = text[i];
    }
    w.s = s;

    /* Symbols; a boundary where no vocabulary entry has the two bytes on either side next to
     * each other can never be merged across, so the text falls into independent segments
     * (chain ends there). Merging segment by segment gives the same tokens as one queue over
     * the whole text (the queue order within a segment is unchanged) with small queues. */
    int32_t ns = 0;
    for (size_t off = 0; off < sn;) {
        size_t len = LPQ_MIN(lpq__utf8_len((uint8_t)s[off]), sn - off);
        bool end = off + len == sn;
        if (!end) {
            unsigned a = (uint8_t)s[off + len - 1], b = (uint8_t)s[off + len];
            end = !((t->pair_bits[(a << 8 | b) >> 3] >> (b & 7)) & 1);
        }
        bool start = ns == 0 || w.sym[ns - 1].next < 0;
        w.sym[ns] = (struct sym){ start ? -1 : ns - 1, end ? -1 : ns + 1, (uint32_t)off, (uint32_t)len };
        ns++;
        off += len;
    }
    for (int32_t seg = 0; seg < ns;) {
        int32_t last = seg;
        while (w.sym[last].next >= 0) last = w.sym[last].next;
        w.n_heap = 0;
        for (int32_t i = seg + 1; i <= last; i++) if (!add_bigram(&w, i - 1, i)) goto done;
        while (w.n_heap) {
            struct bigram b = heap_pop(&w);
            struct sym *l = &w.sym[b.left], *r = &w.sym[b.right];
            if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;   /* stale */
            l->n += r->n;
            r->n = 0;
            l->next = r->next;
            if (r->next >= 0) w.sym[r->next].prev = b.left;
            if (!add_bigram(&w, l->prev, b.left) || !add_bigram(&w, b.left, l->next)) goto done;
        }
        for (int32_t i = seg; i >= 0; i = w.sym[i].next) emit(t, s, &w.sym[i], out);
        seg = last + 1;
    }
    st = out->oom ? LPQ_STATUS_NO_MEMORY : LPQ_STATUS_OK;
done:
    lpq_free(s);
    lpq_free(w.sym);
    lpq_free(w.heap);
    return st;
}
