/* pk_sched_host.h - the callbacks through which a policy written in Python
 * runs (pk_sched_host.c calls them; pykernel/_policy_host.py defines them).
 *
 * Read twice, like pk_api.h: by the C compiler, and by csrc/build_core.py,
 * which declares every "int64_t pk_hp_" line below to cffi as
 * extern "Python+C" (cffi then generates the C functions, which call the
 * Python ones).  So: no include guards, one prototype per line.
 *
 * `hid` names the Python object serving one run queue.  Every callback
 * returns a value >= 0 (a tid, a number of ns, 0/1 for a yes/no hook, 0
 * for the hooks without a result) or one of: */
#define PK_HP_NONE   -1   /* the hook returned None                         */
#define PK_HP_RAISED -2   /* the hook raised; the host keeps the exception  */
#define PK_HP_BAD    -3   /* it returned a value of the wrong type or range;
                             the host keeps the value                       */

int64_t pk_hp_enqueue(uint64_t hid, uint32_t tid, uint32_t why);
int64_t pk_hp_dequeue(uint64_t hid, uint32_t tid, uint32_t why);
int64_t pk_hp_pick(uint64_t hid);
int64_t pk_hp_enqueue_pick(uint64_t hid, uint32_t tid, uint32_t why);
int64_t pk_hp_slice(uint64_t hid, uint32_t tid);
int64_t pk_hp_tick(uint64_t hid, uint32_t tid);
int64_t pk_hp_wakeup_preempt(uint64_t hid, uint32_t curr, uint32_t tid);
int64_t pk_hp_charge(uint64_t hid, uint32_t tid, uint64_t ran);
int64_t pk_hp_steal(uint64_t hid, uint32_t cpu);
int64_t pk_hp_changed(uint64_t hid, uint32_t tid);
