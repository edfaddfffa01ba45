/* pk_pager.c - fault handlers written in Python: a user-space pager, like
 * Linux's userfaultfd (docs/memory.md, "A pager in Python").
 *
 * A script thread's fault on a missing page of a region mapped with
 * PK_MAP_USERFAULT blocks the thread (0 ns: it waits only for the
 * handler) and stops the run with PK_STOP_PAGER, whose stop record names
 * the thread and its CPU (pk_kernel_run fills them in).  The host reads the
 * fault (pk_vm_pager_next), calls the process's handler and answers
 * (pk_vm_pager_answer): a zero-filled page, or death (like SIGBUS).  When
 * the run goes on, the thread wakes at the same instant and retries its
 * access, which then finds the answer.  Costs nothing when unused: the
 * fault handler tests the region's flag. */
#include "pk_core.h"

int pk_pager_ask(pk_kernel *k, pk_as *as, uint64_t va, bool write, bool may_block) {
    pk_mem *m = k->mem;
    uint64_t page = va & ~(PK_PAGE_SIZE - 1);
    if (m->in_host_touch) return PK_OK;              /* Python threads: demand-zero */
    if (m->pager_answer && m->pager.pid == as->pid && m->pager.va == page) {
        uint32_t a = m->pager_answer - 1;            /* the answer to this very fault */
        m->pager_answer = 0;
        return a ? PK_OK : PK_PAGER_KILL;
    }
    if (!may_block) return PK_ACC_LATER;
    /* the thread making the access: the one the dispatcher's step runs,
     * which pk_kernel_run puts in the stop record and in m->pager.tid */
    m->pager = (pk_pager_fault){ as->pid, PK_ALL_THREADS, page, write ? 1u : 0u, 0 };
    m->pager_pending = 1;
    m->pager_answer = 0;
    m->block_ns = 0;
    k->stop_req = PK_STOP_PAGER;                     /* the loop stops after this step */
    return PK_ACC_BLOCK;
}

int pk_vm_pager_next(pk_kernel *k, pk_pager_fault *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    if (!k->mem || k->mem->pager_pending != 1) return PK_ERR_BAD_STATE;
    *out = k->mem->pager;
    k->mem->pager_pending = 2;                       /* read: now the answer */
    return PK_OK;
}

int pk_vm_pager_answer(pk_kernel *k, uint32_t answer) {
    if (!k || answer > 1) return PK_ERR_INVALID_ARGS;
    if (!k->mem || k->mem->pager_pending != 2) return PK_ERR_BAD_STATE;
    k->mem->pager_pending = 0;
    k->mem->pager_answer = answer + 1;
    pk_digest(k, k->mem->pager.va, 0xfa6eu | (uint64_t)answer << 16);
    return PK_OK;
}
