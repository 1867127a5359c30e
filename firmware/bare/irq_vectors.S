/*
 * irq_vectors.S - the vector table of the irq_* interrupt test images.
 *
 * IRQ and FIQ: return address = LR - 4 (ARM ARM, exception entry: LR_irq/LR_fiq = next
 * instruction + 4), save the AAPCS caller-saved registers r0-r3, r12 and that
 * address, call irq_c_irq(spsr, lr) / irq_c_fiq(spsr, lr) (common/irq.c), and
 * return with LDM ^ (CPSR = SPSR). Six words keep the 8-byte-aligned stack aligned
 * for the C call. FIQ mode's banked r8-r12 need no special care: r12 is saved
 * anyway and C preserves r8-r11. Handlers run with I (FIQ: I and F) set, so nothing
 * nests.
 *
 * Every other vector is a failure: irq_c_unexpected(kind, spsr, lr, cpsr).
 */
    .syntax unified
    .arch armv7-a
    .arm

    .section .text.piemu.vectors, "ax"
    .balign 32
    .global irq_vector_table
    .type irq_vector_table, %function
irq_vector_table:
    b       irqv_reset
    b       irqv_und
    b       irqv_svc
    b       irqv_pabt
    b       irqv_dabt
    b       irqv_hyp
    b       irqv_irq
    b       irqv_fiq

irqv_irq:
    sub     lr, lr, #4
    push    {r0-r3, r12, lr}
    mrs     r0, spsr
    mov     r1, lr
    bl      irq_c_irq
    ldm     sp!, {r0-r3, r12, pc}^

irqv_fiq:
    sub     lr, lr, #4
    push    {r0-r3, r12, lr}
    mrs     r0, spsr
    mov     r1, lr
    bl      irq_c_fiq
    ldm     sp!, {r0-r3, r12, pc}^

    .macro UNEXPECTED name, kind
irqv_\name:
    mov     r0, #\kind
    mrs     r1, spsr
    mov     r2, lr
    mrs     r3, cpsr
    bic     sp, sp, #7
    b       irq_c_unexpected
    .endm

    UNEXPECTED reset, 0
    UNEXPECTED und, 1
    UNEXPECTED svc, 2
    UNEXPECTED pabt, 3
    UNEXPECTED dabt, 4
    UNEXPECTED hyp, 5
    .size irq_vector_table, . - irq_vector_table
