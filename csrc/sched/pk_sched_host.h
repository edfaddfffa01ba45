/* pk_sched_host.h - how pk_sched_host.c calls the hooks of a policy
 * written in Python: through k->host_hook (pk_core.h), which
 * csrc/py/pk_policy_upcall.c sets when the policy's objects are attached
 * (pk_host_policy_attach).
 *
 * k->host_hook(k, rq, hook, a, b) calls hook `hook` (PK_HOOK_*, or
 * PK_HP_ENQUEUE_PICK) of the object serving run queue rq:
 *   PK_HOOK_ENQUEUE, PK_HOOK_DEQUEUE  (tid a, why b: PK_ENQ_*)
 *   PK_HOOK_PICK                      ()
 *   PK_HP_ENQUEUE_PICK                enqueue(tid a, why b), then pick_next()
 *   PK_HOOK_SLICE, PK_HOOK_TICK, PK_HOOK_CHANGED   (tid a)
 *   PK_HOOK_WAKEUP_PREEMPT            (running tid a, woken tid b)
 *   PK_HOOK_CHARGE                    (tid a, ns ran b)
 *   PK_HOOK_STEAL                     (cpu a)
 * and returns a value >= 0 (a tid, a number of ns, 0/1 for a yes/no hook,
 * 0 for the hooks without a result) or one of: */
#ifndef PK_SCHED_HOST_H
#define PK_SCHED_HOST_H

#define PK_HP_NONE   -1   /* the hook returned None                         */
#define PK_HP_RAISED -2   /* the hook raised; the host keeps the exception  */
#define PK_HP_BAD    -3   /* it returned a value of the wrong type or range;
                             the host keeps the value                       */

#define PK_HP_ENQUEUE_PICK (PK_HOOKS + 1)

#endif
