/* A pipe between two threads (pipe(7)): the reader blocks on the empty
 * pipe until the writer, 1 ms later, writes; 200000 bytes then go through
 * the 65536-byte pipe, the writer blocking while it is full; the reader
 * sees end of file once the write end is closed.  First a poll with a
 * timeout ends early, when the other thread writes. */
// cflags: -pthread
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int p[2], q[2];

static void *pinger(void *arg) {
    (void)arg;
    struct timespec ms = { 0, 1000000 };
    nanosleep(&ms, NULL);
    if (write(q[1], "!", 1) != 1) return arg;
    return NULL;
}
static unsigned long got, sum;

static void *reader(void *arg) {
    (void)arg;
    unsigned char b[3000];
    for (long r; (r = read(p[0], b, sizeof b)) > 0;) {
        for (long i = 0; i < r; i++) sum = sum * 31 + b[i];
        got += (unsigned long)r;
    }
    return NULL;
}

int main(void) {
    if (pipe(p) || pipe(q)) return 1;
    pthread_t t, u;
    /* a poll with a 5 s timeout ends when the other thread writes, 1 ms in */
    pthread_create(&u, NULL, pinger, NULL);
    struct pollfd pf = { q[0], POLLIN, 0 };
    int r = poll(&pf, 1, 5000);
    printf("poll %d revents %x\n", r, pf.revents);
    pthread_join(u, NULL);
    pthread_create(&t, NULL, reader, NULL);
    struct timespec ms = { 0, 1000000 };
    nanosleep(&ms, NULL);
    static unsigned char data[200000];
    for (unsigned i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + i / 251);
    for (size_t off = 0; off < sizeof data;) {
        long w = write(p[1], data + off, sizeof data - off);
        if (w <= 0) return 2;
        off += (size_t)w;
    }
    close(p[1]);
    pthread_join(t, NULL);
    unsigned long want = 0;
    for (unsigned i = 0; i < sizeof data; i++) want = want * 31 + data[i];
    printf("received %lu bytes, same %d\n", got, sum == want);
    return 0;
}
