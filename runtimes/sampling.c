/*
 * sampling.c — turns one logits row into a token: repetition penalty, then greedy argmax, or
 * temperature → top-k → top-p → min-p → a categorical draw from a seeded xoshiro256** stream.
 * Deterministic for a given RNG state; never allocates (the caller lends `work`).
 */
#include "runtimes/runtime.h"

#include <math.h>
#include <string.h>

/* ---- RNG: xoshiro256** (Blackman & Vigna), state filled from the seed by splitmix64 ----- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void lpq_rng_seed(struct lpq_rng *r, uint64_t seed) {
    /* splitmix64 never yields four zero words, so the state is valid for any seed. */
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rng_next(struct lpq_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double lpq_rng_uniform(struct lpq_rng *r) {
    /* Top 53 bits → a double in [0, 1) with every value equally likely. */
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- candidate ordering ----------------------------------------------------------------- */

/* Work layout: float w[n_vocab] (unnormalised probabilities by token id) then int32
 * idx[n_vocab] (candidate ids). */
size_t lpq_rt_sample_work_size(int32_t n_vocab) {
    return (size_t)(n_vocab > 0 ? n_vocab : 0) * (sizeof(float) + sizeof(int32_t));
}

/* Strict "ranks before": larger logit first, ties to the lower id, so every ordering (and
 * greedy) is reproducible whatever the input order. */
static bool ranks_before(const float *l, int32_t a, int32_t b) {
    return l[a] > l[b] || (l[a] == l[b] && a < b);
}

static void sift_down(int32_t *h, int64_t n, int64_t i, const float *l) {
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && ranks_before(l, h[c + 1], h[c])) c++;
        if (!ranks_before(l, h[c], h[i])) return;
        int32_t t = h[c];
        h[c] = h[i];
        h[i] = t;
        i = c;
    }
}

/*
 * Partial heap sort: a max-heap over idx[0..n) in O(n), then pops the best candidates one
 * at a time (O(log n) each) until `enough` says stop or `limit` are out. The popped ones end
 * up, best first, in idx[0..k); returns k. Cheap when only a few of a large vocabulary are
 * needed, which is the usual case for top-k and top-p.
 */
struct pop_state {
    double cum, target;         /* top-p: stop once cum >= target */
    const float *w;             /* unnormalised probability per token id */
};

static int64_t select_best(int32_t *idx, int64_t n, const float *l, int64_t limit,
                           struct pop_state *ps) {
    for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(idx, n, i, l);
    int64_t k = 0, end = n;
    while (k < limit && end > 0) {
        int32_t top = idx[0];
        idx[0] = idx[end - 1];
        idx[end - 1] = top;
        end--;
        sift_down(idx, end, 0, l);
        k++;
        if (ps) {
            ps->cum += ps->w[top];
            if (ps->cum >= ps->target) break;
        }
    }
    /* Popped items sit in idx[end..n), best last: reverse them to the front. */
    for (int64_t i = 0; i < k / 2; i++) {
        int32_t t = idx[n - 1 - i];
        idx[n - 1 - i] = idx[n - k + i];
        idx[n - k + i] = t;
    }
    memmove(idx, idx + n - k, (size_t)k * sizeof(int32_t));
    return k;
}

/* Min-heap (worst candidate at the root) for top-k. */
static void sift_down_worst(int32_t *h, int64_t n, int64_t i, const float *l) {
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && ranks_before(l, h[c], h[c + 1])) c++;
        if (!ranks_before(l, h[i], h[c])) return;
        int32_t t = h[c];
        h[c] = h[i];
        h[i] = t;
        i = c;
    }
}

/* The k best of l[0..n) into idx[0..k), best first: one pass with a k-sized heap whose root
 * is the worst kept, so most tokens cost one comparison; then a heap sort of the k. */
static int64_t top_k_select(int32_t *idx, int32_t n, const float *l, int64_t k) {
    for (int32_t v = 0; v < k; v++) idx[v] = v;
    for (int64_t i = k / 2 - 1; i >= 0; i--) sift_down_worst(idx, k, i, l);
    for (int32_t v = (int32_t)k; v < n; v++) {
        if (ranks_before(l, v, idx[0])) {
            idx[0] = v;
            sift_down_worst(idx, k, 0, l);
        }
    }
    for (int64_t end = k - 1; end > 0; end--) {
        int32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift_down_worst(idx, end, 0, l);
    }
    return k;
}

/*
 * top-p over an unranked candidate set without ranking all of it: bucket the candidates by
 * logit (bucket 0 = the highest), find the bucket where the cumulative mass crosses `target`,
 * keep every bucket above it whole and rank only that bucket's members. A flat 150k-token
 * distribution then costs a few O(n) passes instead of a full heap sort. The kept ids end up
 * in idx[0..k) (the whole buckets first, in a fixed order); returns k.
 */
#define TOP_P_BUCKETS 512

static int bucket_of(float l, float hi, double scale) {
    double b = ((double)hi - (double)l) * scale;
    return b < TOP_P_BUCKETS - 1 ? (int)b : TOP_P_BUCKETS - 1;
}

static int64_t top_p_prefix(int32_t *idx, int64_t n, const float *l, const float *w, float max_l,
                            double target) {
    float lo = max_l;
    for (int64_t i = 0; i < n; i++) lo = l[idx[i]] < lo ? l[idx[i]] : lo;
    if (n <= 256 || !(max_l > lo)) {
        struct pop_state ps = { .cum = 0.0, .target = target, .w = w };
        return select_best(idx, n, l, n, &ps);
    }
    const double scale = TOP_P_BUCKETS / ((double)max_l - (double)lo);
    double mass[TOP_P_BUCKETS] = { 0 };
    for (int64_t i = 0; i < n; i++)
        mass[bucket_of(l[idx[i]], max_l, scale)] += w[idx[i]];
    double cum = 0.0;
    int B = 0;
    while (B < TOP_P_BUCKETS - 1 && cum + mass[B] < target) cum += mass[B++];
    /* Three-way partition: [buckets < B | bucket B | the rest]. */
    int64_t lt = 0, i = 0, gt = n;
    while (i < gt) {
        int b = bucket_of(l[idx[i]], max_l, scale);
        int32_t t = idx[i];
        if (b < B) {
            idx[i++] = idx[lt];
            idx[lt++] = t;
        } else if (b > B) {
            idx[i] = idx[--gt];
            idx[gt] = t;
        } else {
            i++;
        }
    }
    struct pop_state ps = { .cum = cum, .target = target, .w = w };
    return lt + select_best(idx + lt, gt - lt, l, gt - lt, &ps);
}

static int32_t argmax(const float *l, int32_t n) {
    int32_t best = 0;
    float bv = l[0];
    for (int32_t v = 1; v < n; v++) {
        if (l[v] > bv) {
            bv = l[v];
            best = v;
        }
    }
    return best;
}

/* llama.cpp's convention: a positive logit is divided by the penalty, a negative one
 * multiplied, so a penalty > 1 always makes a seen token less likely. Each distinct token
 * in the last repeat_last_n of history is penalised once. */
static void apply_repeat_penalty(const struct lpq_rt_sampler *s, float *l, int32_t n_vocab,
                                 const int32_t *history, int64_t n_history, int32_t *seen) {
    if (s->repeat_penalty == 1.0f || s->repeat_penalty <= 0.0f || !history || n_history <= 0 ||
        s->repeat_last_n == 0)
        return;
    int64_t n = s->repeat_last_n < 0 ? n_history : LPQ_MIN(n_history, (int64_t)s->repeat_last_n);
    const int32_t *h = history + n_history - n;
    memset(seen, 0, (size_t)n_vocab * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        int32_t t = h[i];
        if (t < 0 || t >= n_vocab || seen[t]) continue;
        seen[t] = 1;
        l[t] = l[t] > 0.0f ? l[t] / s->repeat_penalty : l[t] * s->repeat_penalty;
    }
}

int32_t lpq_rt_sample(const struct lpq_rt_sampler *s, float *logits, int32_t n_vocab,
                      const int32_t *history, int64_t n_history, struct lpq_rng *rng, void *work) {
    if (n_vocab <= 0) return -1;
    float *w = work;
    int32_t *idx = (int32_t *)(w + n_vocab);
    apply_repeat_penalty(s, logits, n_vocab, history, n_history, idx);
    if (!(s->temperature > 0.0f)) return argmax(logits, n_vocab);

    const float inv_t = 1.0f / s->temperature;
    for (int32_t v = 0; v < n_vocab; v++) logits[v] *= inv_t;

    /* top-k: the k best, ordered. */
    int64_t n = n_vocab;
    bool sorted = false;
    if (s->top_k > 0 && s->top_k < n_vocab) {
        n = top_k_select(idx, n_vocab, logits, s->top_k);
        sorted = true;
    } else {
        for (int32_t v = 0; v < n_vocab; v++) idx[v] = v;
    }
    float max_l = sorted ? logits[idx[0]] : logits[argmax(logits, n_vocab)];
    if (!isfinite(max_l)) return idx[sorted ? 0 : argmax(logits, n_vocab)];

    /* Unnormalised probabilities, indexed by token id, and the mass of the top-k set, which
     * top-p's threshold is relative to. */
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        w[idx[i]] = (float)exp((double)logits[idx[i]] - (double)max_l);
        total += w[idx[i]];
    }

    /* min-p keeps p >= min_p * p_max, i.e. logit >= max + log(min_p). It keeps a prefix of
     * the ranked order, as top-p does, so applying it first gives the same intersection and
     * shrinks what top-p must rank. Order is preserved. */
    if (s->min_p > 0.0f && s->min_p <= 1.0f) {
        const double lo = (double)max_l + log((double)s->min_p);
        int64_t j = 0;
        for (int64_t i = 0; i < n; i++)
            if ((double)logits[idx[i]] >= lo) idx[j++] = idx[i];
        n = j;
    }

    /* top-p: the shortest ranked prefix whose mass reaches top_p of the top-k set's. */
    if (s->top_p < 1.0f) {
        const double target = (double)(s->top_p > 0.0f ? s->top_p : 0.0f) * total;
        if (sorted) {
            double cum = 0.0;
            int64_t k = 0;
            while (k < n) {
                cum += w[idx[k]];
                k++;
                if (cum >= target) break;
            }
            n = k;
        } else {
            n = top_p_prefix(idx, n, logits, w, max_l, target);
        }
    }
    if (n < 1) return idx[0];

    /* Categorical draw over what is left, in a fixed order. */
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += w[idx[i]];
    double r = lpq_rng_uniform(rng) * sum, acc = 0.0;
    for (int64_t i = 0; i < n; i++) {
        acc += w[idx[i]];
        if (r < acc) return idx[i];
    }
    return idx[n - 1];
}
