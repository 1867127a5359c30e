/*
 * piemu's kernel model: the exception vectors and the low-level entry code, modelled
 * on Linux 4.14 arch/arm/kernel/entry-armv.S (ARMv7, ARM state, no LPAE,
 * CONFIG_PREEMPT, CONFIG_TRACE_IRQFLAGS, CONFIG_MULTI_IRQ_HANDLER, no
 * CONFIG_CPU_SW_DOMAIN_PAN). The labels, register roles, frame layout and instruction
 * sequences follow the kernel, so a reader single-stepping here can hold the kernel
 * source beside the disassembly. Written for piemu; the facts (offsets, sequences,
 * table layouts) are the kernel's.
 *
 * Where the kernel would continue in C, this code calls a "gate" (gates.S): a
 * function whose body is one UDF that piemu intercepts to run its C++ model, which
 * then returns to lr like the C function would.
 *
 * Layout (kernel.ld): .vectors at 0xffff0000, .stubs at 0xffff1000, .text after.
 */
#include "piemu/guest_abi.h"

	.syntax	unified
	.arm

tsk	.req	r9		@ current thread_info
why	.req	r8		@ ret_to_user: 0 from an IRQ

	/* get_thread_info: the 8 KiB stack's base holds thread_info. */
	.macro	get_thread_info, rd
	mov	\rd, sp, lsr #13
	mov	\rd, \rd, lsl #13
	.endm

/* ===================================================================== vectors */
	.section .vectors, "ax"
	.globl	__vectors_start
__vectors_start:
	b	vector_rst
	b	vector_und
	ldr	pc, __vectors_start + 0x1000	@ vector_swi, via the stubs page's first word
	b	vector_pabt
	b	vector_dabt
	b	vector_addrexcptn
	b	vector_irq
	b	vector_fiq
	.globl	__vectors_end
__vectors_end:

/* ======================================================================= stubs */
	.section .stubs, "ax"
	.globl	__stubs_start
__stubs_start:
	.word	vector_swi

/*
 * vector_stub: entered in the exception's mode with that mode's sp pointing at a
 * 12-byte scratch area of this CPU (struct stack in setup.c). Saves r0, the corrected
 * return address and the parent's CPSR there, switches to SVC mode (IRQs stay
 * masked) and branches through the 16-entry table that follows on the parent's mode.
 */
	.macro	vector_stub, name, mode, correction=0
	.align	5
	.globl	vector_\name
	.type	vector_\name, %function
vector_\name:
	.if \correction
	sub	lr, lr, #\correction
	.endif
	stmia	sp, {r0, lr}		@ save r0, lr
	mrs	lr, spsr
	str	lr, [sp, #8]		@ save spsr
	mrs	r0, cpsr
	eor	r0, r0, #(\mode ^ SVC_MODE)
	msr	spsr_cxsf, r0		@ SVC mode after the movs below
	and	lr, lr, #0x0f		@ the parent's mode, low 4 bits
	mov	r0, sp			@ r0 = the scratch area
	ldr	lr, [pc, lr, lsl #2]
	movs	pc, lr			@ branch to the handler in SVC mode
	.size	vector_\name, . - vector_\name
	.align	2
	.endm

	.type	vector_rst, %function
vector_rst:
	b	vector_addrexcptn

	vector_stub	irq, IRQ_MODE, 4
	.long	__irq_usr		@  0  (USR_26 / USR_32)
	.long	__irq_invalid		@  1  (FIQ_26 / FIQ_32)
	.long	__irq_invalid		@  2  (IRQ_26 / IRQ_32)
	.long	__irq_svc		@  3  (SVC_26 / SVC_32)
	.rept	12
	.long	__irq_invalid		@  4 - 15
	.endr

	vector_stub	dabt, ABT_MODE, 8
	.long	__dabt_usr		@  0  (USR_26 / USR_32)
	.long	__dabt_invalid		@  1  (FIQ_26 / FIQ_32)
	.long	__dabt_invalid		@  2  (IRQ_26 / IRQ_32)
	.long	__dabt_svc		@  3  (SVC_26 / SVC_32)
	.rept	12
	.long	__dabt_invalid		@  4 - 15
	.endr

	vector_stub	pabt, ABT_MODE, 4
	.long	__pabt_usr		@  0 (USR_26 / USR_32)
	.long	__pabt_invalid		@  1 (FIQ_26 / FIQ_32)
	.long	__pabt_invalid		@  2 (IRQ_26 / IRQ_32)
	.long	__pabt_svc		@  3 (SVC_26 / SVC_32)
	.rept	12
	.long	__pabt_invalid		@  4 - 15
	.endr

	vector_stub	und, UND_MODE
	.long	__und_usr		@  0 (USR_26 / USR_32)
	.long	__und_invalid		@  1 (FIQ_26 / FIQ_32)
	.long	__und_invalid		@  2 (IRQ_26 / IRQ_32)
	.long	__und_svc		@  3 (SVC_26 / SVC_32)
	.rept	12
	.long	__und_invalid		@  4 - 15
	.endr

/*
 * The default FIQ handler: returns at once. The kernel runs with FIQs on (CPSR.F
 * clear in every context); the BCM2835 routes at most one source to FIQ, and only a
 * driver that claims it (claim_fiq, set_fiq_handler) enables one, replacing the
 * branch at the FIQ vector with its own code.
 */
	.align	5
	.globl	vector_fiq
	.type	vector_fiq, %function
vector_fiq:
	subs	pc, lr, #4

	.globl	vector_addrexcptn
	.type	vector_addrexcptn, %function
vector_addrexcptn:
	b	vector_addrexcptn

/* ======================================================================== text */
	.text

/*
 * svc_entry: build struct pt_regs for an exception taken in SVC mode, below the
 * interrupted code's own stack, 8-byte aligned, and set addr_limit to USER_DS
 * (the old value is kept at SVC_ADDR_LIMIT). On entry r0 = the scratch area
 * {r0, return pc, cpsr}. Out: r4 = pc, r5 = cpsr of the interrupted code,
 * r9 = thread_info.
 */
	.macro	svc_entry
	sub	sp, sp, #(SVC_REGS_SIZE - 4)
	tst	sp, #4
	subeq	sp, sp, #4
	stmia	sp, {r1 - r12}

	ldmia	r0, {r3 - r5}
	add	r7, sp, #S_SP - 4
	mov	r6, #-1
	add	r2, sp, #(SVC_REGS_SIZE - 4)
	addeq	r2, r2, #4
	str	r3, [sp, #-4]!		@ the real r0, copied from the scratch area

	mov	r3, lr			@ lr_svc of the interrupted code
	@ r2 - sp_svc, r3 - lr_svc, r4 - lr_<exception> (return pc),
	@ r5 - spsr_<exception>, r6 - orig_r0 (-1)
	stmia	r7, {r2 - r6}

	get_thread_info tsk
	ldr	r0, [tsk, #TI_ADDR_LIMIT]
	mov	r1, #TASK_SIZE
	str	r1, [tsk, #TI_ADDR_LIMIT]
	str	r0, [sp, #SVC_ADDR_LIMIT]
	bl	trace_hardirqs_off
	.endm

/* irq_handler: handle_arch_irq(regs), which returns to the label after it. */
	.macro	irq_handler
	ldr	r1, =handle_arch_irq
	mov	r0, sp
	adr	lr, 9997f
	ldr	pc, [r1]
9997:
	.endm

/* svc_exit: restore addr_limit, then r0-pc and CPSR from pt_regs. */
	.macro	svc_exit, rpsr, irq = 0
	.if	\irq != 0
	bl	trace_hardirqs_on	@ the parent had IRQs enabled to get here
	.else
	tst	\rpsr, #PSR_I_BIT
	bleq	trace_hardirqs_on
	.endif
	ldr	r1, [sp, #SVC_ADDR_LIMIT]
	str	r1, [tsk, #TI_ADDR_LIMIT]
	msr	spsr_cxsf, \rpsr
	sub	r0, sp, #4		@ uninhabited address
	strex	r1, r2, [r0]		@ clear the exclusive monitor
	ldmia	sp, {r0 - pc}^		@ load r0 - pc, cpsr
	.endm

/*
 * usr_entry: pt_regs for an exception taken in USR mode, at the top of the task's
 * kernel stack (sp_svc). The user sp and lr are stored with the ^ form of STM.
 */
	.macro	usr_entry
	sub	sp, sp, #PT_REGS_SIZE
	stmib	sp, {r1 - r12}

	ldmia	r0, {r3 - r5}
	add	r0, sp, #S_PC		@ here for interlock avoidance
	mov	r6, #-1

	str	r3, [sp]		@ save the "real" r0 copied from the scratch area
	@ r4 - lr_<exception> (return pc), r5 - spsr_<exception>, r6 - orig_r0 (-1)
	stmia	r0, {r4 - r6}
	stmdb	r0, {sp, lr}^		@ user sp, user lr
	mov	fp, #0			@ zero_fp: no frame to unwind past
	bl	trace_hardirqs_off
	.endm

/* ---- IRQ */
	.align	5
	.globl	__irq_svc
	.type	__irq_svc, %function
__irq_svc:
	svc_entry
	irq_handler

	@ CONFIG_PREEMPT: reschedule on the way out if nothing forbids it.
	ldr	r8, [tsk, #TI_PREEMPT]	@ get preempt count
	ldr	r0, [tsk, #TI_FLAGS]	@ get flags
	teq	r8, #0			@ if preempt count != 0
	movne	r0, #0			@ force flags to 0
	tst	r0, #_TIF_NEED_RESCHED
	blne	svc_preempt

	svc_exit r5, irq = 1
	.ltorg
	.size	__irq_svc, . - __irq_svc

	.globl	svc_preempt
	.type	svc_preempt, %function
svc_preempt:
	mov	r8, lr
1:	bl	preempt_schedule_irq	@ irq en/disable is done inside
	ldr	r0, [tsk, #TI_FLAGS]	@ get new task's TI_FLAGS
	tst	r0, #_TIF_NEED_RESCHED
	moveq	pc, r8			@ done: back to __irq_svc
	b	1b
	.size	svc_preempt, . - svc_preempt

	.align	5
	.globl	__irq_usr
	.type	__irq_usr, %function
__irq_usr:
	usr_entry
	irq_handler
	get_thread_info tsk
	mov	why, #0
	b	ret_to_user_from_irq
	.ltorg
	.size	__irq_usr, . - __irq_usr

/* ---- Data abort: r0 = FAR, r1 = FSR, r2 = regs for do_DataAbort (v7_early_abort). */
	.align	5
	.globl	__dabt_svc
	.type	__dabt_svc, %function
__dabt_svc:
	svc_entry
	mov	r2, sp
	mrc	p15, 0, r1, c5, c0, 0	@ get FSR
	mrc	p15, 0, r0, c6, c0, 0	@ get FAR
	bl	do_DataAbort
	ldr	r5, [sp, #S_PSR]
	svc_exit r5
	.size	__dabt_svc, . - __dabt_svc

	.align	5
	.globl	__dabt_usr
	.type	__dabt_usr, %function
__dabt_usr:
	usr_entry
	mov	r2, sp
	mrc	p15, 0, r1, c5, c0, 0	@ get FSR
	mrc	p15, 0, r0, c6, c0, 0	@ get FAR
	bl	do_DataAbort
	get_thread_info tsk
	mov	why, #0
	b	ret_to_user
	.size	__dabt_usr, . - __dabt_usr

/* ---- Prefetch abort: r0 = IFAR, r1 = IFSR, r2 = regs (v7_pabort). */
	.align	5
	.globl	__pabt_svc
	.type	__pabt_svc, %function
__pabt_svc:
	svc_entry
	mov	r2, sp
	mrc	p15, 0, r0, c6, c0, 2	@ get IFAR
	mrc	p15, 0, r1, c5, c0, 1	@ get IFSR
	bl	do_PrefetchAbort
	ldr	r5, [sp, #S_PSR]
	svc_exit r5
	.size	__pabt_svc, . - __pabt_svc

	.align	5
	.globl	__pabt_usr
	.type	__pabt_usr, %function
__pabt_usr:
	usr_entry
	mov	r2, sp
	mrc	p15, 0, r0, c6, c0, 2	@ get IFAR
	mrc	p15, 0, r1, c5, c0, 1	@ get IFSR
	bl	do_PrefetchAbort
	get_thread_info tsk
	mov	why, #0
	b	ret_to_user
	.size	__pabt_usr, . - __pabt_usr

/* ---- Undefined instruction: the saved pc is moved back onto the instruction. */
	.align	5
	.globl	__und_svc
	.type	__und_svc, %function
__und_svc:
	svc_entry
	ldr	r5, [sp, #S_PSR]
	tst	r5, #PSR_T_BIT
	moveq	r1, #4			@ PC correction: ARM
	movne	r1, #2			@ Thumb
	mov	r0, sp			@ struct pt_regs *regs
	bl	__und_fault
	get_thread_info tsk
	ldr	r5, [sp, #S_PSR]	@ get SVC cpsr
	svc_exit r5
	.size	__und_svc, . - __und_svc

	.align	5
	.globl	__und_usr
	.type	__und_usr, %function
__und_usr:
	usr_entry
	tst	r5, #PSR_T_BIT
	moveq	r1, #4
	movne	r1, #2
	mov	r0, sp
	bl	__und_fault
	get_thread_info tsk
	mov	why, #0
	b	ret_to_user
	.size	__und_usr, . - __und_usr

	.type	__und_fault, %function
__und_fault:
	ldr	r2, [r0, #S_PC]
	sub	r2, r2, r1
	str	r2, [r0, #S_PC]
	b	do_undefinstr
	.size	__und_fault, . - __und_fault

/* ---- Exceptions from modes the kernel never runs in: bad_mode() reports them. */
	.macro	inv_entry, reason
	sub	sp, sp, #PT_REGS_SIZE
	stmib	sp, {r1 - r12}
	ldmia	r0, {r3 - r5}		@ the scratch area: r0, pc, cpsr
	str	r3, [sp]
	add	r0, sp, #S_PC
	mov	r6, #-1
	stmia	r0, {r4 - r6}
	mov	r0, sp
	mov	r1, #\reason
	b	bad_mode
	.endm

	.globl	__irq_invalid
	.type	__irq_invalid, %function
__irq_invalid:
	inv_entry 3			@ BAD_IRQ
	.globl	__dabt_invalid
	.type	__dabt_invalid, %function
__dabt_invalid:
	inv_entry 1			@ BAD_DATA
	.globl	__pabt_invalid
	.type	__pabt_invalid, %function
__pabt_invalid:
	inv_entry 0			@ BAD_PREFETCH
	.globl	__und_invalid
	.type	__und_invalid, %function
__und_invalid:
	inv_entry 4			@ BAD_UNDEFINSTR

/* ---- The idle loop (kernel/sched/idle.c do_idle + arch_cpu_idle: wfi). */
	.align	5
	.globl	do_idle
	.type	do_idle, %function
do_idle:
	get_thread_info tsk
1:	cpsid	i			@ local_irq_disable
	ldr	r0, [tsk, #TI_FLAGS]
	tst	r0, #_TIF_NEED_RESCHED
	bne	2f
	dsb
	wfi				@ cpu_v7_do_idle
	cpsie	i			@ local_irq_enable: the IRQ is taken here
	b	1b
2:	cpsie	i
	bl	schedule_idle
	b	1b
	.size	do_idle, . - do_idle

/* trace_hardirqs_off/on: lockdep's IRQ-state tracking is not modelled (traces read
 * CPSR.I); kept so the entry sequences match the kernel's. */
	.globl	trace_hardirqs_off
	.type	trace_hardirqs_off, %function
trace_hardirqs_off:
	bx	lr
	.size	trace_hardirqs_off, . - trace_hardirqs_off
	.globl	trace_hardirqs_on
	.type	trace_hardirqs_on, %function
trace_hardirqs_on:
	bx	lr
	.size	trace_hardirqs_on, . - trace_hardirqs_on

/* handle_arch_irq: the root irqchip driver's entry (set_handle_irq), filled in by the
 * kernel model at boot: bcm2836_arm_irqchip_handle_irq. */
	.section .rodata
	.align	2
	.globl	handle_arch_irq
	.type	handle_arch_irq, %object
handle_arch_irq:
	.word	0
	.size	handle_arch_irq, 4
