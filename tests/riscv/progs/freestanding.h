/* Freestanding support for the test programs built with -nostdlib:
 * the entry point, system-call wrappers (Linux RISC-V numbers, ecall with
 * the number in a7 and arguments in a0..a5) and a few output helpers.
 * A program defines `int main(int argc, char **argv)`. */
#ifndef PK_FREESTANDING_H
#define PK_FREESTANDING_H

typedef unsigned long size_t;
typedef long ssize_t;

#define SYS_read 63
#define SYS_write 64
#define SYS_exit 93
#define SYS_exit_group 94

static inline long sys_call3(long n, long a, long b, long c)
{
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static inline long sys_call6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
                     : "memory");
    return a0;
}

static inline ssize_t sys_write(int fd, const void *buf, size_t len)
{
    return sys_call3(SYS_write, fd, (long)buf, (long)len);
}

static inline ssize_t sys_read(int fd, void *buf, size_t len)
{
    return sys_call3(SYS_read, fd, (long)buf, (long)len);
}

static inline __attribute__((noreturn)) void sys_exit(int code)
{
    for (;;)
        sys_call3(SYS_exit_group, code, 0, 0);
}

/* gcc may emit calls to these even without a C library */
void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

static __attribute__((unused)) size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static __attribute__((unused)) void put_str(const char *s)
{
    sys_write(1, s, str_len(s));
}

/* signed decimal */
static __attribute__((unused)) void put_dec(long v)
{
    char buf[24];
    int i = sizeof buf;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--i] = '-';
    sys_write(1, buf + i, sizeof buf - i);
}

/* 16 lower-case hex digits */
static __attribute__((unused)) void put_hex(unsigned long v)
{
    char buf[16];
    for (int i = 15; i >= 0; i--, v >>= 4)
        buf[i] = "0123456789abcdef"[v & 15];
    sys_write(1, buf, 16);
}

/* "name=<hex>\n" */
static __attribute__((unused)) void put_kv(const char *name, unsigned long v)
{
    put_str(name);
    put_str("=");
    put_hex(v);
    put_str("\n");
}

int main(int argc, char **argv);

/* The kernel starts a process with sp pointing at argc, then the argv
 * pointers (System V ABI, "Process Initialization"). */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "    .option push\n"
        "    .option norelax\n"
        "    lla gp, __global_pointer$\n"
        "    .option pop\n"
        "    ld a0, 0(sp)\n"
        "    addi a1, sp, 8\n"
        "    andi sp, sp, -16\n"
        "    call main\n"
        "    li a7, 94\n"
        "    ecall\n");

#endif
