/* pk_sched.c - run queue setup and the out-of-line parts of the class
 * chain (pk_sched.h has the rest, inline). */
#include "pk_core.h"


int pk_rq_init(pk_kernel *k, pk_rq *rq, uint32_t cpu) {
    rq->k = k;
    rq->pol = pk_policy_find(k->cfg.policy);
    rq->cpu = cpu;
    if (!rq->pol) return PK_ERR_NOT_SUPPORTED;
    if (rq->pol->priv_size) {
        rq->priv = pk_alloc(k, rq->pol->priv_size);
        if (!rq->priv) return PK_ERR_NO_MEMORY;
    }
    return rq->pol->init ? rq->pol->init(rq) : PK_OK;
}

int pk_rq_params_check(const pk_rq *rq) {
    const pk_config *c = &rq->k->cfg;
    return pk_params_check(c->policy, c->quantum, c->params, c->nparams, NULL);
}

void pk_rq_fini(pk_rq *rq) {
    if (!rq->pol) return;
    if (rq->pol->fini) rq->pol->fini(rq);
    pk_free(rq->k, rq->priv, rq->pol->priv_size);
    rq->priv = NULL;
}

void pk_rq_alloc_failed(pk_rq *rq) {
    if (!rq->k->broken) rq->k->broken = PK_ERR_NO_MEMORY;
}

void pk_rq_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    if (pk_is_rt(t)) pk_rt_dequeue(rq, t);
    else rq->pol->dequeue(rq, t, why);
    rq->nr--;
}

pk_thread *pk_rq_steal(pk_rq *rq, uint32_t cpu) {
    pk_thread *t = rq->rt.nr ? pk_rt_steal(rq, cpu) : NULL;
    if (!t && rq->pol->steal) t = rq->pol->steal(rq, cpu);
    if (t) rq->nr--;
    return t;
}

bool pk_cpu_allowed(const pk_kernel *k, const pk_thread *t, uint32_t cpu) {
    if (t->affinity == 0) return true;
    const uint64_t *m = k->masks[t->affinity].bits;
    return (m[cpu >> 6] >> (cpu & 63)) & 1;
}
