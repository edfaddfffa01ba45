/* riscv_test.h - the test environment of the official riscv-tests
 * (isa/rv64u*) for a Linux user program, as pykernel and qemu-riscv64 run
 * it (tests/riscv/test_riscv_tests.py builds them).
 *
 * The riscv-tests leave the environment to this header: where code and
 * data go, how a test starts, how it reports.  Here a test is a static
 * executable with its own _start; TESTNUM is gp (x3), as in the upstream
 * environments, so the link must not relax addresses against gp
 * (-mno-relax, --no-relax).  RVTEST_PASS is exit(0); RVTEST_FAIL is
 * exit(n) with n the number of the failing test (test numbers are 2..255;
 * a failure before the first test, TESTNUM 0, exits with 255 so that it
 * can never read as a pass).  The user-mode tests need no trap handler:
 * Linux gives a user program FP registers enabled (sstatus.FS initial),
 * so RVTEST_RV64UF only clears fcsr. */
#ifndef PK_RISCV_TEST_H
#define PK_RISCV_TEST_H

#define TESTNUM gp

#define RVTEST_RV64U                                                    \
  .macro init;                                                          \
  .endm

#define RVTEST_RV64UF                                                   \
  .macro init;                                                          \
  fscsr x0;                                                             \
  .endm

#define RVTEST_CODE_BEGIN                                               \
  .option norelax;                                                      \
  .text;                                                                \
  .align 6;                                                             \
  .globl _start;                                                        \
_start:                                                                 \
  li TESTNUM, 0;                                                        \
  init;

#define RVTEST_CODE_END                                                 \
  unimp

#define RVTEST_PASS                                                     \
  li a0, 0;                                                             \
  li a7, 93;                                                            \
  ecall

#define RVTEST_FAIL                                                     \
  mv a0, TESTNUM;                                                       \
  bnez a0, 1f;                                                          \
  li a0, 255;                                                           \
1:li a7, 93;                                                            \
  ecall

#define RVTEST_DATA_BEGIN                                               \
  .align 4;                                                             \
  .global begin_signature;                                              \
begin_signature:

#define RVTEST_DATA_END                                                 \
  .align 4;                                                             \
  .global end_signature;                                                \
end_signature:

#endif
