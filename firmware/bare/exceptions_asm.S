/*
 * exceptions_asm.S - vector table, handler entry/exit and the stubs that provoke
 * each exception for exceptions.c.
 *
 * Every stub is a leaf function callable from SVC mode (a plain call) or USR mode
 * (through call_user). A stub sets the flags to a known value with `cmp r0, r0`
 * (NZCV = 0110, so the interrupted CPSR is 0x6....... in the transcript) and then
 * executes the instruction under test, whose address is exported as a global label
 * `<stub>_insn` so exceptions.c can print LR relative to it.
 *
 * The stubs live in .text.piemu.stubs, which link.ld places right after start.S and
 * the vector table: their addresses (and so the LR values in the transcript) do not
 * move when C code changes.
 */
#include "exceptions.h"

    .syntax unified
    .arch armv7-a
    .arm

    .equ MODE_USR, 0x10
    .equ MODE_SYS, 0x1f

/* ------------------------------------------------------------------------------ */
/* Vector table and handlers                                                       */
/* ------------------------------------------------------------------------------ */

    .section .text.piemu.vectors, "ax"
    .balign 32
    .global exc_vectors
exc_vectors:
    b       vec_reset
    b       vec_und
    b       vec_svc
    b       vec_pabt
    b       vec_dabt
    b       vec_hyp
    b       vec_irq
    b       vec_fiq

/*
 * Handler frame on the exception mode's stack (struct exc_frame in exceptions.c):
 *   [sp + 0]  SPSR            (exc_handle may rewrite it: resume state)
 *   [sp + 4]  CPSR at entry   (the handler's mode, I/A/F, flags as interrupted)
 *   [sp + 8]  r0 .. r12
 *   [sp + 60] LR              (exc_handle may rewrite it: resume address)
 * 16 words, so an 8-byte aligned stack stays aligned for the C call.
 * exc_handle returns 0 to resume at frame.lr with SPSR = frame.spsr, or 1 (only for
 * `svc #SVC_TO_KERNEL` from USR) to end call_user().
 */
    .macro VECTOR name, kind
vec_\name:
    push    {r0-r12, lr}
    mrs     r0, spsr
    mrs     r1, cpsr
    push    {r0, r1}
    mov     r0, #\kind
    mov     r1, sp
    bl      exc_handle
    cmp     r0, #0
    bne     exc_to_kernel
    pop     {r0, r1}
    msr     spsr_fsxc, r0
    pop     {r0-r12, lr}
    movs    pc, lr
    .endm

    VECTOR reset, KIND_RESET
    VECTOR und, KIND_UND
    VECTOR svc, KIND_SVC
    VECTOR pabt, KIND_PABT
    VECTOR dabt, KIND_DABT
    VECTOR hyp, KIND_HYP
    VECTOR irq, KIND_IRQ
    VECTOR fiq, KIND_FIQ

/* In SVC mode, on the SVC frame of `svc #SVC_TO_KERNEL`: return from call_user()
 * with the user function's r0. */
exc_to_kernel:
    ldr     r0, [sp, #8]                @ frame.r0
    ldr     r1, =g_kernel_sp
    ldr     sp, [r1]
    pop     {r4-r12, pc}
    .ltorg

/* ------------------------------------------------------------------------------ */
/* Stubs                                                                           */
/* ------------------------------------------------------------------------------ */

    .section .text.piemu.stubs, "ax"

    .macro ARM_FUNC name
    .balign 4
    .arm
    .global \name
    .type \name, %function
\name:
    .endm

    .macro THUMB_FUNC name
    .balign 4
    .thumb
    .global \name
    .type \name, %function
    .thumb_func
\name:
    .endm

    .macro INSN_LABEL name
    .global \name
\name:
    .endm

/* 1. SVC. An SVC taken in SVC mode overwrites LR_svc, hence the push. */
ARM_FUNC stub_svc_arm
    push    {r4, lr}
    cmp     r0, r0
INSN_LABEL stub_svc_arm_insn
    svc     #SVC_IMM_ARM
    pop     {r4, pc}
    .size stub_svc_arm, . - stub_svc_arm

THUMB_FUNC stub_svc_thumb
    push    {r4, lr}
    cmp     r0, r0
INSN_LABEL stub_svc_thumb_insn
    svc     #SVC_IMM_THUMB
    pop     {r4, pc}
    .size stub_svc_thumb, . - stub_svc_thumb

/* 2. Undefined instruction: the permanently undefined UDF #0 encodings. The
 * handler resumes at LR, the next instruction in both states (ARM +4, 16-bit
 * Thumb +2). */
ARM_FUNC stub_und_arm
    cmp     r0, r0
INSN_LABEL stub_und_arm_insn
    .inst   0xe7f000f0                  @ udf #0
    bx      lr
    .size stub_und_arm, . - stub_und_arm

THUMB_FUNC stub_und_thumb
    cmp     r0, r0
INSN_LABEL stub_und_thumb_insn
    .inst.n 0xde00                      @ udf #0
    bx      lr
    .size stub_und_thumb, . - stub_und_thumb

/* 3a. Alignment fault: the caller has set SCTLR.A. Returns r0 unchanged. */
ARM_FUNC stub_dabt_align
    ldr     r1, =ALIGN_ADDR
    cmp     r0, r0
INSN_LABEL stub_dabt_align_insn
    ldr     r0, [r1]
    bx      lr
    .size stub_dabt_align, . - stub_dabt_align
    .ltorg

/* 3b. Translation faults (MMU on, section UNMAPPED_BASE has no descriptor). */
ARM_FUNC stub_dabt_xlat_read
    ldr     r1, =XLAT_READ_ADDR
    cmp     r0, r0
INSN_LABEL stub_dabt_xlat_read_insn
    ldr     r0, [r1]
    bx      lr
    .size stub_dabt_xlat_read, . - stub_dabt_xlat_read
    .ltorg

ARM_FUNC stub_dabt_xlat_write
    ldr     r1, =XLAT_WRITE_ADDR
    cmp     r0, r0
INSN_LABEL stub_dabt_xlat_write_insn
    str     r0, [r1]
    bx      lr
    .size stub_dabt_xlat_write, . - stub_dabt_xlat_write
    .ltorg

/* 3c. Permission faults on the privileged-only section (from USR; from SVC the
 * access succeeds). The read returns the word read, 0 if it faulted. */
ARM_FUNC stub_dabt_perm_read
    mov     r0, #0
    ldr     r1, =PERM_READ_ADDR
    cmp     r0, r0
INSN_LABEL stub_dabt_perm_read_insn
    ldr     r0, [r1]
    bx      lr
    .size stub_dabt_perm_read, . - stub_dabt_perm_read
    .ltorg

ARM_FUNC stub_dabt_perm_write
    ldr     r0, =0x5a5a0001
    ldr     r1, =PERM_WRITE_ADDR
    cmp     r0, r0
INSN_LABEL stub_dabt_perm_write_insn
    str     r0, [r1]
    bx      lr
    .size stub_dabt_perm_write, . - stub_dabt_perm_write
    .ltorg

/*
 * 4. Prefetch aborts. The handler cannot resume after these at LR, so each stub
 * first stores a recovery address in g_recover (bit 0 = Thumb); the handler resumes
 * there with SPSR.T set from bit 0 and SPSR.IT cleared.
 */
ARM_FUNC stub_pabt_arm
    push    {r4, lr}
    adr     r4, 1f
    ldr     r1, =g_recover
    str     r4, [r1]
    ldr     r0, =PABT_ARM_ADDR          @ bit 0 clear: stays in ARM state
    cmp     r0, r0
    bx      r0
1:  pop     {r4, pc}
    .size stub_pabt_arm, . - stub_pabt_arm
    .ltorg

THUMB_FUNC stub_pabt_thumb
    push    {r4, lr}
    adr.w   r4, 1f
    orr     r4, r4, #1
    ldr     r1, =g_recover
    str     r4, [r1]
    ldr     r0, =(PABT_THUMB_ADDR + 1)  @ bit 0 set: stays in Thumb state
    cmp     r0, r0
    bx      r0
    .balign 4
1:  pop     {r4, pc}
    .size stub_pabt_thumb, . - stub_pabt_thumb
    .ltorg

/* BKPT: a debug event taken as a Prefetch Abort (halting debug is off). */
ARM_FUNC stub_bkpt_arm
    push    {r4, lr}
    adr     r4, 1f
    ldr     r1, =g_recover
    str     r4, [r1]
    cmp     r0, r0
INSN_LABEL stub_bkpt_arm_insn
    bkpt    #0
1:  pop     {r4, pc}
    .size stub_bkpt_arm, . - stub_bkpt_arm
    .ltorg

THUMB_FUNC stub_bkpt_thumb
    push    {r4, lr}
    adr.w   r4, 1f
    orr     r4, r4, #1
    ldr     r1, =g_recover
    str     r4, [r1]
    cmp     r0, r0
INSN_LABEL stub_bkpt_thumb_insn
    bkpt    #0
    .balign 4
1:  pop     {r4, pc}
    .size stub_bkpt_thumb, . - stub_bkpt_thumb
    .ltorg

/*
 * 5. IT blocks (Thumb).
 *
 * stub_it_svc: `ittee le` with Z = 1, so LE passes: svcle and movle execute, the
 * two movgt are skipped. The SVC is the first instruction of the block; SVC entry
 * advances ITSTATE, so SPSR.IT describes the movle that follows. Returns
 * r0 | r1 << 4 | r2 << 8, 0x001 when the block resumed correctly.
 */
THUMB_FUNC stub_it_svc
    push    {r4, lr}
    movs    r0, #0
    movs    r1, #0
    movs    r2, #0
    cmp     r0, r0
    ittee   le
INSN_LABEL stub_it_svc_insn
    svcle   #SVC_IMM_IT
    movle   r0, #1
    movgt   r1, #1
    movgt   r2, #1
    orr     r0, r0, r1, lsl #4
    orr     r0, r0, r2, lsl #8
    pop     {r4, pc}
    .size stub_it_svc, . - stub_it_svc

/*
 * stub_it_dabt: `itttt le` whose first instruction takes a translation fault.
 * Data abort entry does not advance ITSTATE: SPSR.IT is the state of the faulting
 * ldrle (all four IT bits of the mask live, so CPSR bits 26:25 are used too). The
 * handler resumes at the recovery point with IT cleared, so the other three
 * instructions never run: returns 0.
 */
THUMB_FUNC stub_it_dabt
    push    {r4, lr}
    adr.w   r4, 1f
    orr     r4, r4, #1
    ldr     r1, =g_recover
    str     r4, [r1]
    movs    r2, #0
    ldr     r1, =XLAT_IT_ADDR
    cmp     r0, r0
    itttt   le
INSN_LABEL stub_it_dabt_insn
    ldrle   r0, [r1]
    movle   r2, #1
    movle   r2, #2
    movle   r2, #3
    .balign 4
1:  mov     r0, r2
    pop     {r4, pc}
    .size stub_it_dabt, . - stub_it_dabt
    .ltorg

/* ------------------------------------------------------------------------------ */
/* USR-mode calls                                                                   */
/* ------------------------------------------------------------------------------ */

    .text
    .arm

/*
 * uint32_t call_user(uint32_t (*fn)(void))
 *
 * From SVC: runs fn in USR mode on a fresh user stack (the SYS/USR stack) and
 * returns its r0. fn returns here (still in USR), and `svc #SVC_TO_KERNEL` goes
 * back: exc_to_kernel drops the SVC frame, restores the SVC stack saved below and
 * returns to call_user's caller in SVC mode.
 */
    .global call_user
    .type call_user, %function
call_user:
    push    {r4-r12, lr}
    ldr     r1, =g_kernel_sp
    str     sp, [r1]
    mov     r4, r0
    cps     #MODE_SYS
    ldr     sp, =__sys_stack_top
    cps     #MODE_USR
    blx     r4
    svc     #SVC_TO_KERNEL
    b       .                           @ not reached
    .size call_user, . - call_user
    .ltorg

    .bss
    .balign 4
    .global g_kernel_sp
g_kernel_sp:
    .word   0
