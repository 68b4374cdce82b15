/*
 * test_sampling.c — lpq_rt_sample and the xoshiro256** stream: greedy, determinism per seed,
 * top-k / top-p / min-p filtering, the temperature limit, the repetition penalty and, with a
 * fixed seed, a chi-square check that draws follow the softmax they should.
 */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "runtimes/runtime.h"

#define V_MAX 8192

static float g_work[V_MAX * 2];     /* lpq_rt_sample_work_size(V_MAX) bytes and more */

static struct lpq_rt_sampler sampler(float temp) {
    struct lpq_rt_sampler s = lpq_rt_sampler_default();
    s.temperature = temp;
    return s;
}

/* lpq_rt_sample modifies its row, so every draw gets a fresh copy. */
static int32_t draw(const struct lpq_rt_sampler *s, const float *logits, int32_t n,
                    const int32_t *hist, int64_t n_hist, struct lpq_rng *rng) {
    float row[V_MAX];
    memcpy(row, logits, (size_t)n * sizeof(float));
    return lpq_rt_sample(s, row, n, hist, n_hist, rng, g_work);
}

static void fill_random(float *l, int32_t n, uint64_t seed) {
    struct lpq_rng r;
    lpq_rng_seed(&r, seed);
    for (int32_t i = 0; i < n; i++) l[i] = (float)(lpq_rng_uniform(&r) * 8.0 - 4.0);
}

static double chi_square(const int *c, const double *p, int nv, int n);

static void test_work_size(void **state) {
    (void)state;
    assert_true(lpq_rt_sample_work_size(V_MAX) <= sizeof(g_work));
    assert_int_equal(lpq_rt_sample_work_size(10), 10 * (sizeof(float) + sizeof(int32_t)));
}

static void test_rng_uniform_range_and_seed(void **state) {
    (void)state;
    struct lpq_rng a, b, c;
    lpq_rng_seed(&a, 42);
    lpq_rng_seed(&b, 42);
    lpq_rng_seed(&c, 43);
    int differ = 0;
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        double x = lpq_rng_uniform(&a), y = lpq_rng_uniform(&b), z = lpq_rng_uniform(&c);
        assert_true(x >= 0.0 && x < 1.0);
        assert_true(x == y);
        differ += x != z;
        sum += x;
    }
    assert_true(differ > 9990);
    assert_true(fabs(sum / 10000 - 0.5) < 0.02);
    /* Seed 0 is a valid seed (splitmix64 fills the state). */
    lpq_rng_seed(&a, 0);
    assert_true(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
}

static void test_greedy_is_argmax(void **state) {
    (void)state;
    float l[1000];
    struct lpq_rng rng;
    lpq_rng_seed(&rng, 1);
    struct lpq_rt_sampler s = sampler(0.0f);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        fill_random(l, 1000, seed);
        int32_t best = 0;
        for (int32_t i = 1; i < 1000; i++)
            if (l[i] > l[best]) best = i;
        assert_int_equal(draw(&s, l, 1000, NULL, 0, &rng), best);
    }
    /* Ties go to the lower id; a negative temperature is greedy too. */
    float t[5] = { 1, 3, 2, 3, 0 };
    s.temperature = -1.0f;
    assert_int_equal(draw(&s, t, 5, NULL, 0, &rng), 1);
}

static void test_seed_determinism(void **state) {
    (void)state;
    float l[64];
    fill_random(l, 64, 7);
    for (int i = 0; i < 64; i++) l[i] *= 0.2f;   /* flat: many tokens plausible */
    struct lpq_rt_sampler s = sampler(1.0f);
    int32_t a[200], b[200], c[200];
    struct lpq_rng ra, rb, rc;
    lpq_rng_seed(&ra, 1234);
    lpq_rng_seed(&rb, 1234);
    lpq_rng_seed(&rc, 1235);
    int differ = 0;
    for (int i = 0; i < 200; i++) {
        a[i] = draw(&s, l, 64, NULL, 0, &ra);
        b[i] = draw(&s, l, 64, NULL, 0, &rb);
        c[i] = draw(&s, l, 64, NULL, 0, &rc);
        differ += a[i] != c[i];
    }
    assert_memory_equal(a, b, sizeof(a));
    assert_true(differ > 100);
}

static void test_top_k1_and_tiny_top_p_are_greedy(void **state) {
    (void)state;
    float l[3000];
    struct lpq_rng rng;
    lpq_rng_seed(&rng, 9);
    struct lpq_rt_sampler g = sampler(0.0f), k1 = sampler(1.5f), p0 = sampler(1.5f);
    k1.top_k = 1;
    p0.top_p = 1e-6f;
    for (uint64_t seed = 100; seed < 130; seed++) {
        fill_random(l, 3000, seed);
        int32_t want = draw(&g, l, 3000, NULL, 0, &rng);
        assert_int_equal(draw(&k1, l, 3000, NULL, 0, &rng), want);
        assert_int_equal(draw(&p0, l, 3000, NULL, 0, &rng), want);
    }
}

static void test_temperature_limit(void **state) {
    (void)state;
    float l[50];
    for (int i = 0; i < 50; i++) l[i] = (float)((i * 37) % 50) * 0.01f;   /* distinct, gap 0.01 */
    int32_t best = 0;
    for (int i = 1; i < 50; i++)
        if (l[i] > l[best]) best = i;
    struct lpq_rt_sampler s = sampler(1e-4f);
    struct lpq_rng rng;
    lpq_rng_seed(&rng, 5);
    for (int i = 0; i < 500; i++) assert_int_equal(draw(&s, l, 50, NULL, 0, &rng), best);
    /* ...while at T=1 the same row is far from greedy. */
    s.temperature = 1.0f;
    int hits = 0;
    for (int i = 0; i < 500; i++) hits += draw(&s, l, 50, NULL, 0, &rng) == best;
    assert_true(hits < 100);
}

/* Draw n times; counts[v] = how often v came out. */
static void histogram(const struct lpq_rt_sampler *s, const float *l, int32_t nv, int n,
                      uint64_t seed, int *counts) {
    struct lpq_rng rng;
    lpq_rng_seed(&rng, seed);
    memset(counts, 0, (size_t)nv * sizeof(int));
    for (int i = 0; i < n; i++) {
        int32_t t = draw(s, l, nv, NULL, 0, &rng);
        assert_true(t >= 0 && t < nv);
        counts[t]++;
    }
}

static void test_min_p_filters(void **state) {
    (void)state;
    float l[6] = { 0.0f, -1.0f, -2.0f, -3.0f, -5.0f, -10.0f };
    struct lpq_rt_sampler s = sampler(1.0f);
    s.min_p = expf(-2.5f);      /* keeps p >= 0.082 p_max: logits 0, -1, -2 */
    int c[6];
    histogram(&s, l, 6, 3000, 11, c);
    assert_true(c[0] > 0 && c[1] > 0 && c[2] > 0);
    assert_int_equal(c[3] + c[4] + c[5], 0);
    /* Without min-p the same stream does reach token 3. */
    s.min_p = 0.0f;
    histogram(&s, l, 6, 3000, 11, c);
    assert_true(c[3] > 0);
}

static void test_top_p_filters(void **state) {
    (void)state;
    /* Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 keeps the first two (0.5 < 0.7 <= 0.8). */
    float l[4] = { logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f) };
    float perm[4] = { l[3], l[1], l[0], l[2] };   /* unsorted input order */
    struct lpq_rt_sampler s = sampler(1.0f);
    s.top_p = 0.7f;
    int c[4];
    histogram(&s, l, 4, 3000, 3, c);
    assert_true(c[0] > 1500 && c[1] > 800);
    assert_int_equal(c[2] + c[3], 0);
    histogram(&s, perm, 4, 3000, 3, c);
    assert_true(c[2] > 1500 && c[1] > 800);
    assert_int_equal(c[0] + c[3], 0);
    /* The sorted path (after top-k) gives the same set. */
    s.top_k = 3;
    histogram(&s, perm, 4, 3000, 3, c);
    assert_true(c[2] > 0 && c[1] > 0);
    assert_int_equal(c[0] + c[3], 0);
}

static void test_top_p_large_vocab(void **state) {
    (void)state;
    /* 8000 tokens at -20, five real candidates: top-p 0.9 must pick among the five only. */
    static float l[V_MAX];
    for (int i = 0; i < 8000; i++) l[i] = -20.0f;
    const int hot[5] = { 7000, 13, 4096, 999, 5555 };
    for (int i = 0; i < 5; i++) l[hot[i]] = (float)(5 - i);
    struct lpq_rt_sampler s = sampler(1.0f);
    s.top_p = 0.9f;
    struct lpq_rng rng;
    lpq_rng_seed(&rng, 77);
    int seen_first = 0;
    for (int i = 0; i < 300; i++) {
        int32_t t = draw(&s, l, 8000, NULL, 0, &rng);
        bool ok = false;
        for (int j = 0; j < 5; j++) ok |= t == hot[j];
        assert_true(ok);
        seen_first += t == hot[0];
    }
    assert_true(seen_first > 100);
}

static void test_top_p_bucketed_distribution(void **state) {
    (void)state;
    /* 2000 tokens: 12 close "hot" ones (0.004 apart, so they share one logit bucket and must
     * be ranked inside it) and 1988 at -30 (mass ~1e-11). top_p sits halfway between the
     * cumulative mass of the best 6 and 7, so exactly 7 survive (the token that crosses the
     * threshold is kept); their draws must follow the renormalised softmax (chi-square,
     * 6 dof, p = 0.001: 22.46). */
    enum { NV = 2000, NH = 12, N = 20000, KEEP = 7 };
    static float l[NV];
    int hot[NH];
    for (int i = 0; i < NV; i++) l[i] = -30.0f;
    for (int j = 0; j < NH; j++) {
        hot[j] = (j * 677 + 31) % NV;
        l[hot[j]] = 2.0f - 0.004f * (float)j;
    }
    double tot = 0, cum_below = 0, cum_keep = 0;
    for (int i = 0; i < NV; i++) tot += exp((double)l[i] - 2.0);
    for (int j = 0; j < KEEP; j++) {
        double e = exp((double)l[hot[j]] - 2.0) / tot;
        if (j < KEEP - 1) cum_below += e;
        cum_keep += e;
    }
    struct lpq_rt_sampler s = sampler(1.0f);
    s.top_p = (float)((cum_below + cum_keep) / 2);
    static int c[NV];
    histogram(&s, l, NV, N, 4242, c);
    static double p[NV];
    double z = 0;
    for (int j = 0; j < KEEP; j++) z += exp((double)l[hot[j]] - 2.0);
    for (int j = 0; j < KEEP; j++) p[hot[j]] = exp((double)l[hot[j]] - 2.0) / z;
    for (int j = 0; j < KEEP; j++) assert_true(c[hot[j]] > 0);
    assert_true(chi_square(c, p, NV, N) < 22.46);   /* also fails if any other token came out */
}

static void test_repetition_penalty(void **state) {
    (void)state;
    struct lpq_rt_sampler s = sampler(0.0f);
    struct lpq_rng rng;
    lpq_rng_seed(&rng, 1);
    float l[4] = { 2.0f, 1.9f, 0.5f, -1.0f };
    int32_t h0[1] = { 0 };
    assert_int_equal(draw(&s, l, 4, h0, 1, &rng), 0);
    s.repeat_penalty = 1.1f;   /* 2.0 / 1.1 = 1.82 < 1.9 */
    assert_int_equal(draw(&s, l, 4, h0, 1, &rng), 1);
    /* Negative logits are multiplied: -1.0 * 1.1 = -1.1 < -1.05. */
    float n[2] = { -1.0f, -1.05f };
    assert_int_equal(draw(&s, n, 2, h0, 1, &rng), 1);
    /* Only the last repeat_last_n tokens count. */
    int32_t h1[3] = { 0, 3, 3 };
    s.repeat_last_n = 2;
    assert_int_equal(draw(&s, l, 4, h1, 3, &rng), 0);
    s.repeat_last_n = 3;
    assert_int_equal(draw(&s, l, 4, h1, 3, &rng), 1);
    /* A repeated token is penalised once, not once per occurrence; the row is modified. */
    float row[4] = { 2.0f, 1.9f, 0.5f, -1.0f };
    int32_t h2[4] = { 0, 0, 0, 3 };
    s.repeat_last_n = 64;
    lpq_rt_sample(&s, row, 4, h2, 4, &rng, g_work);
    assert_float_equal(row[0], 2.0f / 1.1f, 1e-6);
    assert_float_equal(row[3], -1.1f, 1e-6);
    assert_float_equal(row[1], 1.9f, 0);
    /* Out-of-range ids in the history are ignored. */
    int32_t h3[2] = { -5, 99 };
    assert_int_equal(draw(&s, l, 4, h3, 2, &rng), 0);
}

/* Pearson's chi-square of counts against probabilities p. */
static double chi_square(const int *c, const double *p, int nv, int n) {
    double x = 0;
    for (int i = 0; i < nv; i++) {
        double e = p[i] * n;
        if (e > 0) x += (c[i] - e) * (c[i] - e) / e;
        else assert_int_equal(c[i], 0);
    }
    return x;
}

static void softmax(const float *l, int nv, float temp, double *p) {
    double m = -INFINITY, s = 0;
    for (int i = 0; i < nv; i++) m = fmax(m, l[i] / temp);
    for (int i = 0; i < nv; i++) s += p[i] = exp(l[i] / temp - m);
    for (int i = 0; i < nv; i++) p[i] /= s;
}

static void test_distribution_chi_square(void **state) {
    (void)state;
    /* 8 tokens, 20k draws, fixed seeds. Critical value for 7 degrees of freedom at
     * p = 0.001 is 24.32; a wrong temperature or an off-by-one in the draw gives hundreds. */
    const float l[8] = { 1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f };
    const int n = 20000;
    int c[8];
    double p[8];
    struct lpq_rt_sampler s = sampler(1.0f);
    histogram(&s, l, 8, n, 2024, c);
    softmax(l, 8, 1.0f, p);
    double x1 = chi_square(c, p, 8, n);
    assert_true(x1 < 24.32);

    s.temperature = 2.0f;
    histogram(&s, l, 8, n, 2025, c);
    softmax(l, 8, 2.0f, p);
    assert_true(chi_square(c, p, 8, n) < 24.32);
    /* ...and the T=1 law does not fit T=2 draws. */
    softmax(l, 8, 1.0f, p);
    assert_true(chi_square(c, p, 8, n) > 100.0);

    /* top-k 3 at T=0.5: the softmax of the three best, renormalised (2 dof: 13.82). */
    s.temperature = 0.5f;
    s.top_k = 3;
    histogram(&s, l, 8, n, 2026, c);
    const float l3[8] = { 1.0f, -INFINITY, -INFINITY, 2.0f, -INFINITY, 1.5f, -INFINITY, -INFINITY };
    softmax(l3, 8, 0.5f, p);
    assert_true(chi_square(c, p, 8, n) < 13.82);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_size),
        cmocka_unit_test(test_rng_uniform_range_and_seed),
        cmocka_unit_test(test_greedy_is_argmax),
        cmocka_unit_test(test_seed_determinism),
        cmocka_unit_test(test_top_k1_and_tiny_top_p_are_greedy),
        cmocka_unit_test(test_temperature_limit),
        cmocka_unit_test(test_min_p_filters),
        cmocka_unit_test(test_top_p_filters),
        cmocka_unit_test(test_top_p_large_vocab),
        cmocka_unit_test(test_top_p_bucketed_distribution),
        cmocka_unit_test(test_repetition_penalty),
        cmocka_unit_test(test_distribution_chi_square),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
