/*
 * vectors.S - helpers for images that own their exception vector table.
 *
 * A table is 8 words (Reset, Undefined, SVC, Prefetch Abort, Data Abort, unused/HYP
 * trap, IRQ, FIQ), each normally a branch, placed in section .text.piemu.vectors so
 * link.ld keeps it near the start of .text, and aligned to 32 bytes.
 */
    .syntax unified
    .arch armv7-a
    .arm
    .text

    .equ SCTLR_V, (1 << 13)

/* void vectors_install(const void *table) */
    .global vectors_install
    .type vectors_install, %function
vectors_install:
    mcr     p15, 0, r0, c12, c0, 0      @ VBAR
    mrc     p15, 0, r1, c1, c0, 0       @ SCTLR
    bic     r1, r1, #SCTLR_V            @ low vectors, i.e. VBAR
    mcr     p15, 0, r1, c1, c0, 0
    isb
    bx      lr
    .size vectors_install, . - vectors_install

/* uint32_t vectors_vbar(void) */
    .global vectors_vbar
    .type vectors_vbar, %function
vectors_vbar:
    mrc     p15, 0, r0, c12, c0, 0
    bx      lr
    .size vectors_vbar, . - vectors_vbar
