/*
 * armstub.S - what the Raspberry Pi firmware does before a kernel runs, for images
 * piemu starts through the Linux boot protocol or as a raw kernel7.img.
 *
 * piemu places this at physical address 0 (where the Pi firmware puts its ARM stub)
 * and starts every core here in SVC mode. It
 *   1. enables VFP/Advanced SIMD: CPACR cp10/cp11 full access, then FPEXC.EN, as the
 *      Pi firmware leaves it (CNTFRQ = 19.2 MHz is set by piemu on the core itself);
 *   2. on core 0: jumps to the kernel entry with r0, r1, r2 from the parameter block
 *      piemu fills in (Linux: r0 = 0, r1 = 0xffffffff, r2 = the DTB address);
 *   3. on the other cores: waits for a non-zero entry address in its mailbox 3
 *      (read/clear at 0x400000CC + 0x10 * core, written by Linux's bcm2836 SMP code
 *      at 0x4000008C + 0x10 * core), clears it and jumps there.
 * The parameter block is at offset 0xc0: see src/machine/boot_stub.hpp.
 */
    .arch armv7-a
    .fpu vfpv4
    .arm
    .section .text
    .global _start
_start:
    mrc     p15, 0, r0, c1, c0, 2       @ CPACR
    orr     r0, r0, #(0xf << 20)        @ cp10, cp11: full access
    mcr     p15, 0, r0, c1, c0, 2
    isb
    mov     r0, #0x40000000             @ FPEXC.EN
    vmsr    fpexc, r0

    mrc     p15, 0, r4, c0, c0, 5       @ MPIDR
    ands    r4, r4, #3                  @ core number
    bne     secondary

    ldr     r0, param_r0
    ldr     r1, param_r1
    ldr     r2, param_r2
    ldr     pc, param_entry

secondary:
    ldr     r5, =0x400000cc             @ core 0's mailbox 3 read/clear
    add     r5, r5, r4, lsl #4
1:  wfe
    ldr     r6, [r5]
    cmp     r6, #0
    beq     1b
    str     r6, [r5]                    @ write 1s to clear
    bx      r6

    .ltorg
    .org    0xc0                        @ kBootStubParams in boot_stub.hpp
params:                                 @ filled in by piemu
param_entry: .word 0
param_r0:    .word 0
param_r1:    .word 0
param_r2:    .word 0
