/* A pipe between two threads (pipe(7)): the reader blocks on the empty
 * pipe until the writer, 1 ms later, writes; 200000 bytes then go through
 * the 65536-byte pipe, the writer blocking while it is full; the reader
 * sees end of file once the write end is closed. */
// cflags: -pthread
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int p[2];
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
    if (pipe(p)) return 1;
    pthread_t t;
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
