/* Reads standard input to its end in small pieces; writes it back with
 * letters upper-cased, then the byte and line counts and an FNV-1a hash. */
#include "freestanding.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char buf[7];            /* small on purpose: several reads */
    long bytes = 0, lines = 0, reads = 0;
    unsigned long h = 0xcbf29ce484222325UL;
    for (;;) {
        long n = sys_read(0, buf, sizeof buf);
        if (n < 0) {
            put_str("read error\n");
            return 1;
        }
        if (n == 0)
            break;
        reads++;
        for (long i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            h = (h ^ c) * 0x100000001b3UL;
            lines += c == '\n';
            if (c >= 'a' && c <= 'z')
                buf[i] = (char)(c - 32);
        }
        bytes += n;
        sys_write(1, buf, (size_t)n);
    }
    put_str("\nbytes=");
    put_dec(bytes);
    put_str(" lines=");
    put_dec(lines);
    put_str(" nonempty_reads>0=");
    put_dec(reads > 0);
    put_str("\n");
    put_kv("fnv1a", h);
    return (int)(lines & 0xff);
}
