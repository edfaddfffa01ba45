// cflags: -pthread
/* Threads: four workers add to a mutex-protected counter; a producer and a
 * consumer hand 100 items over one slot guarded by a condition variable.
 * All output is printed after the joins, so it does not depend on the
 * interleaving. */
#include <pthread.h>
#include <stdio.h>

enum { WORKERS = 4, ADDS = 20000, ITEMS = 100 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cv = PTHREAD_COND_INITIALIZER;
static int slot_full, slot_value;

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < ADDS; i++) {
        pthread_mutex_lock(&lock);
        counter += 1;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(id * 10);
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&slot_lock);
        while (slot_full)
            pthread_cond_wait(&slot_cv, &slot_lock);
        slot_value = i;
        slot_full = 1;
        pthread_cond_broadcast(&slot_cv);
        pthread_mutex_unlock(&slot_lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long *sum = arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&slot_lock);
        while (!slot_full)
            pthread_cond_wait(&slot_cv, &slot_lock);
        *sum += slot_value;
        slot_full = 0;
        pthread_cond_broadcast(&slot_cv);
        pthread_mutex_unlock(&slot_lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[WORKERS], prod, cons;
    long results = 0, sum = 0;
    for (long i = 0; i < WORKERS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i))
            return 1;
    if (pthread_create(&cons, NULL, consumer, &sum) || pthread_create(&prod, NULL, producer, NULL))
        return 2;
    for (int i = 0; i < WORKERS; i++) {
        void *r;
        pthread_join(t[i], &r);
        results += (long)r;
    }
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    printf("counter %ld (expected %d)\n", counter, WORKERS * ADDS);
    printf("join results %ld\n", results);
    printf("consumed sum %ld (expected %d)\n", sum, ITEMS * (ITEMS + 1) / 2);
    return 0;
}
