/*
 * piemu's kernel model: system call entry and the returns to interrupted code,
 * modelled on Linux 4.14 arch/arm/kernel/entry-common.S and entry-header.S (EABI:
 * the number in r7, arguments in r0-r5, the result in r0).
 *
 * Unlike Linux, tiny guests call from SVC mode too (they run as kernel code): the
 * frame then records the caller's SVC sp, and the return restores it with the
 * svc_exit-style LDM. The SVC exception itself overwrites LR_svc, so an SVC-mode
 * caller loses lr (the guest's wrappers declare it clobbered).
 */
#include "piemu/guest_abi.h"

	.syntax	unified
	.arm

scno	.req	r7		@ syscall number
tbl	.req	r8		@ syscall table pointer
why	.req	r8		@ ret_to_user: 0 from an IRQ
tsk	.req	r9		@ current thread_info

	.macro	get_thread_info, rd
	mov	\rd, sp, lsr #13
	mov	\rd, \rd, lsl #13
	.endm

	.text

/* ---- vector_swi: pt_regs on the kernel stack, then the sys_* gate for r7. */
	.align	5
	.globl	vector_swi
	.type	vector_swi, %function
vector_swi:
	sub	sp, sp, #PT_REGS_SIZE
	stmia	sp, {r0 - r12}		@ calling r0 - r12
	mrs	r8, spsr		@ the caller's CPSR
	add	r10, sp, #S_SP
	tst	r8, #0x0f		@ from USR mode?
	stmiaeq	r10, {sp, lr}^		@ calling sp, lr (user bank)
	addne	r11, sp, #PT_REGS_SIZE	@ from SVC: sp before the frame,
	stmiane	r10, {r11, lr}		@ lr (clobbered by the exception)
	str	lr, [sp, #S_PC]		@ save calling PC
	str	r8, [sp, #S_PSR]	@ save CPSR
	str	r0, [sp, #S_OLD_R0]	@ save OLD_R0
	mov	fp, #0			@ zero_fp
	@ enable_irq_notrace, unless the caller had IRQs off (a guest IRQ handler
	@ calling printk must stay in hard interrupt context with IRQs masked).
	tst	r8, #PSR_I_BIT
	bne	1f
	cpsie	i
1:

	get_thread_info tsk
	str	scno, [tsk, #TI_SYSCALL]
	adr	tbl, sys_call_table
	stmdb	sp!, {r4, r5}		@ push fifth and sixth args
	ldr	r0, [sp, #S_OFF + S_R0]	@ r0-r3 as the caller left them
	cmp	scno, #__NR_piemu_syscalls
	adr	lr, ret_fast_syscall	@ return address
	ldrcc	pc, [tbl, scno, lsl #2]	@ call sys_* routine
	b	sys_ni_syscall
	.size	vector_swi, . - vector_swi

	.align	2
	.globl	sys_call_table
	.type	sys_call_table, %object
sys_call_table:
	.long	sys_ni_syscall			@ 0
	.long	sys_request_threaded_irq	@ 1
	.long	sys_free_irq			@ 2
	.long	sys_enable_irq			@ 3
	.long	sys_disable_irq			@ 4
	.long	sys_disable_irq_nosync		@ 5
	.long	sys_irq_set_irq_type		@ 6
	.long	sys_printk			@ 7
	.long	sys_piemu_irq_desc		@ 8
	.long	sys_msleep			@ 9
	.long	sys_schedule			@ 10
	.long	sys_kernel_power_off		@ 11
	.long	sys_kthread_create		@ 12
	.long	sys_wake_up_process		@ 13
	.long	sys_kthread_stop		@ 14
	.long	sys_kthread_should_stop		@ 15
	.long	sys_schedule_timeout		@ 16
	.long	sys_wait_for_completion		@ 17
	.long	sys_complete		@ 18
	.long	sys_mutex_lock		@ 19
	.long	sys_mutex_unlock		@ 20
	.long	sys_open_softirq		@ 21
	.long	sys_raise_softirq		@ 22
	.long	sys_local_bh_disable		@ 23
	.long	sys_local_bh_enable		@ 24
	.long	sys_tasklet_schedule		@ 25
	.long	sys_tasklet_hi_schedule		@ 26
	.long	sys_tasklet_kill		@ 27
	.long	sys_schedule_work		@ 28
	.long	sys_flush_work		@ 29
	.long	sys_preempt_schedule		@ 30
	.long	sys_sched_setscheduler		@ 31
	.long	sys_dump_stack		@ 32
	.long	sys_piemu_firmware_property	@ 33
	.long	sys_piemu_mmc_read		@ 34
	.long	sys_kthread_bind		@ 35
	.long	sys_smp_call_function_single	@ 36
	.long	sys_set_cpus_allowed_ptr	@ 37
	.long	sys_irq_set_affinity		@ 38
	.size	sys_call_table, . - sys_call_table
	.if	(. - sys_call_table) != __NR_piemu_syscalls * 4
	.error	"sys_call_table and __NR_piemu_syscalls (guest_abi.h) disagree"
	.endif

/*
 * ret_fast_syscall: store the result in the frame's r0, then back to the caller.
 * IRQs are off from here to the exception return.
 */
	.globl	ret_fast_syscall
	.type	ret_fast_syscall, %function
ret_fast_syscall:
	add	sp, sp, #S_OFF		@ drop the pushed r4, r5
	str	r0, [sp, #S_R0]		@ returned r0
	cpsid	i			@ disable_irq_notrace
	get_thread_info tsk
	ldr	r1, [sp, #S_PSR]
	tst	r1, #0x0f
	beq	ret_to_user		@ from USR mode
	@ From SVC mode: return like svc_exit (sp comes back from the frame).
	msr	spsr_cxsf, r1
	sub	r0, sp, #4
	strex	r1, r2, [r0]		@ clear the exclusive monitor
	ldmia	sp, {r0 - pc}^
	.size	ret_fast_syscall, . - ret_fast_syscall

/*
 * ret_to_user / ret_to_user_from_irq: work pending (a reschedule) is done by
 * do_work_pending before the user registers come back (restore_user_regs).
 */
	.globl	ret_to_user
	.type	ret_to_user, %function
ret_to_user:
	cpsid	i			@ disable interrupts
	.globl	ret_to_user_from_irq
ret_to_user_from_irq:
	ldr	r1, [tsk, #TI_FLAGS]
	tst	r1, #_TIF_WORK_MASK
	bne	slow_work_pending
no_work_pending:
	bl	trace_hardirqs_on
	ldr	r1, [sp, #S_PSR]	@ get calling cpsr
	ldr	lr, [sp, #S_PC]!	@ get pc
	msr	spsr_cxsf, r1		@ save in spsr_svc
	strex	r1, r2, [sp]		@ clear the exclusive monitor
	ldmdb	sp, {r0 - lr}^		@ get calling r0 - lr
	mov	r0, r0			@ ARMv5T and earlier require a nop
	add	sp, sp, #PT_REGS_SIZE - S_PC
	movs	pc, lr			@ return & move spsr_svc into cpsr
slow_work_pending:
	mov	r0, sp			@ 'regs'
	mov	r2, why			@ 'syscall'
	bl	do_work_pending
	b	no_work_pending
	.size	ret_to_user, . - ret_to_user

/*
 * ret_from_fork: where a new kernel thread starts; the kernel model puts the thread
 * function in r5 and its argument in r4 (copy_thread), and a returning thread exits.
 */
	.globl	ret_from_fork
	.type	ret_from_fork, %function
ret_from_fork:
	mov	r0, r4
	adr	lr, 1f
	bx	r5
1:	bl	do_exit			@ r0 = the function's return value
	b	1b
	.size	ret_from_fork, . - ret_from_fork
