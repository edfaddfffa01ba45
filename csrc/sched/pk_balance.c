/* pk_balance.c - placing threads on per-CPU run queues and keeping the
 * queues balanced (used only when CPUs do not share one queue).
 *
 *   pk_select_cpu  where a new or waking thread is queued: a CPU given at
 *                  spawn; else its previous CPU if that is idle; else the
 *                  lowest idle CPU; else its previous CPU (cache affinity);
 *                  else the least loaded CPU.  Always within its affinity.
 *   pk_idle_steal  a CPU about to go idle pulls one thread from the
 *                  busiest queue (Linux's newidle balancing).
 *   pk_balance_run every balance period, each CPU in turn pulls threads
 *                  from the busiest CPU while it is below the average load
 *                  (rounded up) and their loads differ by two or more
 *                  (load = queued + running), so no thread moves twice in
 *                  one pass when loads allow; then, where affinity masks
 *                  kept work from spreading, CPUs pull one thread per
 *                  round until no two loads differ by two or more.
 * A moved thread counts a migration and pays Costs.migrate_ns at its next
 * switch-in. */
#include "pk_core.h"

static inline uint64_t load_of(pk_kernel *k, uint32_t cpu) {
    return k->rqs[cpu].nr + (k->cpus[cpu].curr ? 1 : 0);
}

static inline bool idle_unkicked(const pk_kernel *k, uint32_t cpu) {
    return (k->idle_mask[cpu >> 6] >> (cpu & 63)) & 1;
}

uint32_t pk_select_cpu(pk_kernel *k, pk_thread *t, unsigned why) {
    uint32_t prev = t->rq_cpu;
    bool prev_ok = prev != PK_RQ_NONE && prev < k->ncpus && pk_cpu_allowed(k, t, prev);
    if (prev_ok && (why == PK_ENQ_NEW || idle_unkicked(k, prev))) return prev;
    for (uint32_t w = 0; w < PK_MAX_CPUS / 64; w++) {
        uint64_t m = k->idle_mask[w];
        if (t->affinity) m &= k->masks[t->affinity].bits[w];
        if (m) return w * 64 + (uint32_t)__builtin_ctzll(m);
    }
    if (prev_ok) return prev;
    uint32_t best = PK_RQ_NONE;
    uint64_t best_load = 0;
    for (uint32_t i = 0; i < k->ncpus; i++) {
        if (!pk_cpu_allowed(k, t, i)) continue;
        uint64_t l = load_of(k, i);
        if (best == PK_RQ_NONE || l < best_load) { best = i; best_load = l; }
    }
    return best == PK_RQ_NONE ? 0 : best;   /* affinity is never empty */
}

/* t was just removed from `from`: queue it on `to` and count the move. */
void pk_migrate(pk_kernel *k, pk_thread *t, pk_rq *from, pk_rq *to) {
    PK_TRACE(k, PK_TR_MIGRATE, 0, t->tid, to->cpu, from->cpu);
    t->migrations++;
    t->tflags |= PK_TF_MIGRATED;
    k->migrations++;
    k->cpus[to->cpu].migrations_in++;
    pk_rq_enqueue(to, t, PK_ENQ_MIGRATE);
}

pk_thread *pk_idle_steal(pk_kernel *k, pk_cpu *c) {
    if (k->ncpus < 2) return NULL;
    uint64_t tried[PK_MAX_CPUS / 64] = { 0 };
    for (;;) {                             /* busiest queue first */
        uint32_t src = PK_RQ_NONE;
        uint64_t most = 0;
        for (uint32_t i = 0; i < k->ncpus; i++) {
            if (i == c->id || ((tried[i >> 6] >> (i & 63)) & 1)) continue;
            if (k->rqs[i].nr > most) { most = k->rqs[i].nr; src = i; }
        }
        if (src == PK_RQ_NONE) return NULL;
        tried[src >> 6] |= 1ull << (src & 63);
        pk_thread *t = pk_rq_steal(&k->rqs[src], c->id);
        if (!t) continue;
        pk_rq *dst = &k->rqs[c->id];
        pk_migrate(k, t, &k->rqs[src], dst);
        return pk_rq_pick(dst);
    }
}

/* After queueing work on cpu: let it run there now if the CPU is idle. */
static void nudge(pk_kernel *k, uint32_t cpu) {
    if (idle_unkicked(k, cpu)) pk_cpu_resched(k, &k->cpus[cpu]);
}

/* The busiest CPU other than dst with queued threads (ties: lowest id),
 * or PK_RQ_NONE; *load gets its load. */
static uint32_t busiest_for(pk_kernel *k, uint32_t dst, uint64_t *load) {
    uint32_t src = PK_RQ_NONE;
    uint64_t most = 0;
    for (uint32_t i = 0; i < k->ncpus; i++) {
        uint64_t l = load_of(k, i);
        if (i != dst && k->rqs[i].nr && l > most) { most = l; src = i; }
    }
    *load = most;
    return src;
}

/* dst pulls one thread from the busiest CPU if their loads differ by two
 * or more and one of its threads may run on dst. */
static bool pull_one(pk_kernel *k, uint32_t dst) {
    uint64_t most;
    uint32_t src = busiest_for(k, dst, &most);
    if (src == PK_RQ_NONE || most < load_of(k, dst) + 2) return false;
    pk_thread *t = pk_rq_steal(&k->rqs[src], dst);
    if (!t) return false;
    pk_migrate(k, t, &k->rqs[src], &k->rqs[dst]);
    nudge(k, dst);
    return true;
}

void pk_balance_run(pk_kernel *k) {
    k->balance_runs++;
    uint64_t total = 0;
    for (uint32_t i = 0; i < k->ncpus; i++) total += load_of(k, i);
    uint64_t fair = (total + k->ncpus - 1) / k->ncpus;     /* ceil(average) */
    /* first each CPU fills up to the average, so nothing moves twice ... */
    for (uint32_t dst = 0; dst < k->ncpus; dst++)
        while (load_of(k, dst) < fair && pull_one(k, dst)) {}
    /* ... then, where affinity kept work from spreading that far, CPUs
     * pull one thread per round until no pair differs by two or more */
    for (uint32_t round = 0; round < k->ncpus; round++) {
        bool moved = false;
        for (uint32_t dst = 0; dst < k->ncpus; dst++) moved |= pull_one(k, dst);
        if (!moved) break;
    }
}

void pk_balance_arm(pk_kernel *k) {
    if (k->shared || k->ncpus < 2 || !k->cfg.balance_ns || k->balance_armed) return;
    pk_time when = k->now + k->cfg.balance_ns;
    if (when < k->now) return;
    if (pk_evq_post(k, &k->evq, when, PK_EV_BALANCE, 0) == PK_OK) k->balance_armed = 1;
    else k->broken = PK_ERR_NO_MEMORY;
}
