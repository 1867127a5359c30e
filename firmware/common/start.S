/*
 * start.S - entry point of every piemu bare-metal test image.
 *
 * Entered at _start (0x8000) with the MMU and caches off, on one or more cores:
 *   - piemu enters core 0 only, in SVC mode with IRQ/FIQ masked;
 *   - QEMU -M raspi2b -kernel x.elf starts all four cores here, in Secure SVC mode
 *     by default, in Non-secure HYP mode without EL3 (has_el3=off, which is how
 *     tools/qemu-run runs it);
 *   - the Raspberry Pi firmware's ARM stub enters in Non-secure HYP mode.
 *
 * Every core whose MPIDR.Aff0 != 0 goes to smp_secondary_start, which by default is
 * `park`, a WFI loop for good (an image that starts its secondaries defines its own:
 * bare/smp_asm.S). Core 0 leaves HYP
 * if it is there, normalises CPSR to a known value (the CPSR of the interrupted code
 * appears in exception-test transcripts, so it must not depend on the loader), sets
 * up one stack per mode, zeroes .bss, calls main() and ends with semihosting exit:
 * SYS_EXIT (ADP_Stopped_ApplicationExit) when main returns 0, otherwise
 * SYS_EXIT_EXTENDED with main's return value as the subcode.
 */
#include "semihost.h"

    .syntax unified
    .arch armv7-a
    .arch_extension virt
    .arm

/* CPSR mode numbers and mask bits. */
    .equ MODE_USR, 0x10
    .equ MODE_FIQ, 0x11
    .equ MODE_IRQ, 0x12
    .equ MODE_SVC, 0x13
    .equ MODE_ABT, 0x17
    .equ MODE_HYP, 0x1a
    .equ MODE_UND, 0x1b
    .equ MODE_SYS, 0x1f
    .equ PSR_F, 0x40
    .equ PSR_I, 0x80
    .equ PSR_A, 0x100

/*
 * The CPSR every image's main() starts with: SVC, A/I/F masked, NZCVQ = 0, GE = 0,
 * little-endian. A is masked because QEMU and piemu both reset with A set; keeping
 * it set means the SPSR values in transcripts do not depend on who loaded the image.
 */
    .equ START_CPSR, (MODE_SVC | PSR_A | PSR_I | PSR_F)

    .section .text.piemu.start, "ax"
    .global _start
    .type _start, %function
_start:
    mrc     p15, 0, r0, c0, c0, 5       @ MPIDR
    ands    r0, r0, #0xff               @ Aff0 = core number within the cluster
    bne     smp_secondary_start         @ (weak: park, below)

    mrs     r0, cpsr
    and     r0, r0, #0x1f
    cmp     r0, #MODE_HYP
    bne     1f
    @ HYP -> SVC: exception return with ELR_hyp = 1f, SPSR_hyp = START_CPSR.
    @ In Hyp mode SPSR_hyp is written as plain SPSR (the banked form `msr
    @ spsr_hyp` is UNPREDICTABLE there); ELR_hyp is written with the banked form.
    ldr     r0, =START_CPSR
    msr     spsr_cxsf, r0
    adr     r0, 1f
    msr     elr_hyp, r0
    eret
1:
    ldr     r0, =START_CPSR
    msr     cpsr_fsxc, r0
    isb

    @ One stack per mode; each mode is entered with A/I/F masked. MSR CPSR_c
    @ writes only bits 7:0, so A (bit 8) stays as START_CPSR set it.
    msr     cpsr_c, #(MODE_FIQ | PSR_I | PSR_F)
    ldr     sp, =__fiq_stack_top
    msr     cpsr_c, #(MODE_IRQ | PSR_I | PSR_F)
    ldr     sp, =__irq_stack_top
    msr     cpsr_c, #(MODE_ABT | PSR_I | PSR_F)
    ldr     sp, =__abt_stack_top
    msr     cpsr_c, #(MODE_UND | PSR_I | PSR_F)
    ldr     sp, =__und_stack_top
    msr     cpsr_c, #(MODE_SYS | PSR_I | PSR_F)   @ also the USR stack
    ldr     sp, =__sys_stack_top
    msr     cpsr_c, #(MODE_SVC | PSR_I | PSR_F)
    ldr     sp, =__svc_stack_top

    @ Zero .bss (word aligned by link.ld).
    ldr     r0, =__bss_start
    ldr     r1, =__bss_end
    mov     r2, #0
2:  cmp     r0, r1
    strlo   r2, [r0], #4
    blo     2b

    @ Leave the flags as START_CPSR had them: the loop above changed them.
    ldr     r0, =START_CPSR
    msr     cpsr_f, r0

    mov     r0, #0
    mov     r1, #0
    bl      main

    @ Fall into _exit(main's return value).
    .global _exit
    .type _exit, %function
_exit:
    cmp     r0, #0
    bne     3f
    mov     r0, #SYS_EXIT
    ldr     r1, =ADP_Stopped_ApplicationExit
    svc     #SEMIHOST_SVC_ARM
    b       park
3:
    @ SYS_EXIT_EXTENDED: r1 -> { reason, subcode }
    sub     sp, sp, #8
    ldr     r1, =ADP_Stopped_ApplicationExit
    str     r1, [sp]
    str     r0, [sp, #4]
    mov     r1, sp
    mov     r0, #SYS_EXIT_EXTENDED
    svc     #SEMIHOST_SVC_ARM
    @ No semihosting host: stop here.
park:
    wfi
    b       park
    .size _start, . - _start

    @ Secondaries park unless the image defines smp_secondary_start (entered in the
    @ mode the loader left, HYP or SVC, with only r0 = 0 known).
    .weak   smp_secondary_start
    .set    smp_secondary_start, park

    .ltorg
