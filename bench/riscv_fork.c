/* fork cost: touch MIB MiB of heap, then N times fork a child that exits
 * at once (or, with a third argument PATH, exec's PATH with argv
 * [PATH, "0", "0"]) and wait for it.  With MIB = 0 and N = 0 it returns
 * at once (the exec target).  Prints the sum of the children's statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long mib = atol(argv[1]), n = atol(argv[2]);
    char *mem = mib ? malloc(mib << 20) : NULL;
    if (mib)
        memset(mem, 1, mib << 20);
    long sum = 0;
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (argc > 3) {
                char *args[] = { argv[3], "0", "0", NULL };
                execv(argv[3], args);
            }
            _exit(0);
        }
        int st;
        waitpid(c, &st, 0);
        sum += st;
    }
    if (n)
        printf("%ld\n", sum);
    return 0;
}
