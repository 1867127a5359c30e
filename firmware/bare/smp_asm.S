/*
 * smp_asm.S - the secondary cores' way into the smp image (bare/smp.c).
 *
 * Two ways in, one entry:
 *   - piemu (default --smp-start parked) and the Pi firmware keep cores 1-3 in the
 *     firmware's boot loop; core 0 writes smp_secondary_entry to their mailbox 3 and
 *     they start there in SVC mode (piemu) or HYP (a Pi: armstub7.S drops to HYP).
 *   - QEMU's -kernel and piemu --smp-start all start every core at _start: start.S
 *     sends cores 1-3 to smp_secondary_start below, which plays the firmware's part
 *     (armstub7.S's secondary loop: wfe; read mailbox 3; until non-zero; write the value
 *     back to clear it; bx to it).
 * smp_secondary_entry leaves HYP if it is there, sets this core's stacks and calls
 * smp_secondary_main(core); if that returns, the core parks in WFI with IRQs masked.
 */
    .syntax unified
    .arch armv7-a
    .arch_extension virt
    .arm

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
    .equ START_CPSR, (MODE_SVC | PSR_A | PSR_I | PSR_F)

    .equ MBOX3_RDCLR0, 0x400000cc       @ core 0's mailbox 3 read/clear; core n: + 16n
    .equ SMP_STACK, 0x1000              @ bytes per mode per core (smp.c: smp_stacks)

    .text
    .global smp_secondary_start
    .type smp_secondary_start, %function
smp_secondary_start:                    @ r0 = MPIDR.Aff0 (start.S)
    bl      leave_hyp
    and     r4, r0, #3
    ldr     r5, =MBOX3_RDCLR0
    add     r5, r5, r4, lsl #4
1:  wfe
    ldr     r6, [r5]
    cmp     r6, #0
    beq     1b
    str     r6, [r5]                    @ write back what was read: clears it
    bx      r6
    .size smp_secondary_start, . - smp_secondary_start

    .global smp_secondary_entry
    .type smp_secondary_entry, %function
smp_secondary_entry:
    bl      leave_hyp
    mrc     p15, 0, r4, c0, c0, 5       @ MPIDR
    and     r4, r4, #3                  @ core number
    @ This core's stacks: smp_stacks + core * 3 * SMP_STACK: IRQ, ABT/UND, SVC tops.
    ldr     r5, =smp_stacks
    mov     r6, #(3 * SMP_STACK)
    mla     r5, r4, r6, r5
    add     r5, r5, #SMP_STACK
    msr     cpsr_c, #(MODE_IRQ | PSR_I | PSR_F)
    mov     sp, r5
    msr     cpsr_c, #(MODE_FIQ | PSR_I | PSR_F)
    mov     sp, r5                      @ no FIQ is taken: shares the IRQ stack
    add     r5, r5, #SMP_STACK
    msr     cpsr_c, #(MODE_ABT | PSR_I | PSR_F)
    mov     sp, r5
    msr     cpsr_c, #(MODE_UND | PSR_I | PSR_F)
    mov     sp, r5
    add     r5, r5, #SMP_STACK
    msr     cpsr_c, #(MODE_SYS | PSR_I | PSR_F)
    mov     sp, r5
    msr     cpsr_c, #(MODE_SVC | PSR_I | PSR_F)
    mov     sp, r5
    mov     r0, r4
    bl      smp_secondary_main
2:  cpsid   if
    wfi
    b       2b
    .size smp_secondary_entry, . - smp_secondary_entry

    @ HYP -> SVC with START_CPSR (as start.S does for core 0); other modes: CPSR =
    @ START_CPSR. Returns with lr intact; clobbers r1.
leave_hyp:
    mrs     r1, cpsr
    and     r1, r1, #0x1f
    cmp     r1, #MODE_HYP
    bne     3f
    ldr     r1, =START_CPSR
    msr     spsr_cxsf, r1
    msr     elr_hyp, lr
    eret
3:  ldr     r1, =START_CPSR
    msr     cpsr_fsxc, r1
    isb
    bx      lr

    .ltorg
