/* Reads standard input line by line with fgets (glibc's buffered stdin)
 * and prints each line reversed with its number, then the totals. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char line[256];
    int n = 0;
    size_t total = 0;
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\n");
        line[len] = 0;
        total += len;
        printf("%d:", ++n);
        for (size_t i = len; i > 0; i--)
            putchar(line[i - 1]);
        putchar('\n');
    }
    printf("lines %d chars %zu eof %d\n", n, total, feof(stdin) != 0);
    return n;
}
