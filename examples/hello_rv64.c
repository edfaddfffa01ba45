/* hello_rv64.c - the RISC-V program of docs/riscv.md, built into
 * hello_rv64.elf with
 *   riscv64-linux-gnu-gcc -O2 -static -nostdlib -ffreestanding \
 *       -fno-stack-protector -march=rv64imac_zicsr -mabi=lp64 \
 *       -o hello_rv64.elf hello_rv64.c && riscv64-linux-gnu-strip hello_rv64.elf
 * It needs no C library: two Linux system calls, write and exit_group.
 * It greets its first argument, sums 1..n for n = 1000 and exits with
 * the sum modulo 256. */
static long sys3(long n, long a, long b, long c) {
    register long a0 asm("a0") = a, a1 asm("a1") = b, a2 asm("a2") = c, a7 asm("a7") = n;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static void say(const char *s) {
    long n = 0;
    while (s[n]) n++;
    sys3(64, 1, (long)s, n);                       /* write(1, s, n) */
}

static void start(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    say("hello, ");
    say(argc > 1 ? argv[1] : "world");
    say("\n");
    long sum = 0;
    for (long i = 1; i <= 1000; i++) sum += i;
    sys3(94, sum & 0xff, 0, 0);                    /* exit_group */
}

__attribute__((naked)) void _start(void) {
    asm("mv a0, sp\n\tcall %0" : : "i"(start));
}
