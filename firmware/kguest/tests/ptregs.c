/*
 * pt_regs of an interrupted loop, checked by tests/unit/test_entry_path.cpp: init
 * records its SVC sp, loads known values into r0-r12 and lr and spins at
 * `ptregs_loop` (SVC mode, IRQs on), or with `usr_mode` set first drops to USR mode
 * with its own sp. The test's handler reads the frame the vector page built.
 */
#include "piemu/kernel.h"

volatile u32 usr_mode;       /* set by the test before the run */
volatile u32 svc_sp_at_loop; /* sp_svc when the loop started */
u32 usr_stack[256] __attribute__((aligned(8)));

void ptregs_spin(u32 svc_sp_store, u32 usr_sp, u32 to_usr); /* never returns */

__asm__(".text\n"
        ".globl ptregs_spin\n"
        ".type ptregs_spin, %function\n"
        "ptregs_spin:\n"
        "	str sp, [r0]\n" /* svc_sp_at_loop */
        "	cmp r2, #0\n"
        "	beq 1f\n"
        "	cps #0x1f\n" /* SYS: set the user sp */
        "	mov sp, r1\n"
        "	cps #0x10\n" /* USR */
        "1:	mov r0, #0xa0\n"
        "	mov r1, #0xa1\n"
        "	mov r2, #0xa2\n"
        "	mov r3, #0xa3\n"
        "	mov r4, #0xa4\n"
        "	mov r5, #0xa5\n"
        "	mov r6, #0xa6\n"
        "	mov r7, #0xa7\n"
        "	mov r8, #0xa8\n"
        "	mov r9, #0xa9\n"
        "	mov r10, #0xaa\n"
        "	mov r11, #0xab\n"
        "	mov r12, #0xac\n"
        "	mov lr, #0xae\n"
        "	msr cpsr_f, #0x60000000\n" /* Z and C set: the flags must survive too */
        ".globl ptregs_loop\n"
        "ptregs_loop:\n"
        "	b ptregs_loop\n"
        ".size ptregs_spin, . - ptregs_spin\n");

int init(void) {
    ptregs_spin((u32)&svc_sp_at_loop, (u32)&usr_stack[256], usr_mode);
    return 0;
}
