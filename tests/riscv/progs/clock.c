/* clock_gettime and nanosleep: prints relations between readings, never
 * the times themselves (they differ from run to run and host to host). */
#include <stdio.h>
#include <time.h>

static long long ns(struct timespec t)
{
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
    struct timespec a, b, c, r;
    int ok = clock_gettime(CLOCK_MONOTONIC, &a) == 0;
    ok &= clock_gettime(CLOCK_MONOTONIC, &b) == 0;
    printf("clock_gettime ok %d\n", ok);
    printf("monotonic does not go back %d\n", ns(b) >= ns(a));
    printf("nsec in range %d\n", a.tv_nsec >= 0 && a.tv_nsec < 1000000000L);
    struct timespec d = {0, 2000000};                  /* 2 ms */
    printf("nanosleep returns %d\n", nanosleep(&d, NULL));
    clock_gettime(CLOCK_MONOTONIC, &c);
    printf("slept at least 2 ms %d\n", ns(c) - ns(b) >= 2000000);
    printf("realtime readable %d\n", clock_gettime(CLOCK_REALTIME, &r) == 0 &&
           r.tv_nsec >= 0 && r.tv_nsec < 1000000000L);
    return 0;
}
