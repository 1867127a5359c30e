/*
 * piemu's kernel model: the code of several CPUs (a section placed after the gates,
 * so that adding it moved no existing entry code): a secondary's start, and the loops
 * of kernel/smp.c's csd_lock_wait() and arch/arm/kernel/smp.c's ipi_cpu_stop().
 */
#include "piemu/guest_abi.h"

	.syntax	unified
	.arm

	.section .text.smp, "ax"

/*
 * secondary_startup: where a secondary core starts when the boot CPU writes this
 * address to its mailbox 3 (bcm2836_boot_secondary; the firmware's boot loop jumps
 * here in SVC mode with IRQs and FIQs masked). The MMU stays off, so what Linux's
 * secondary_startup and __secondary_switched do reduces to taking the idle task's
 * stack from secondary_data; secondary_start_kernel's per-CPU set-up was done by the
 * boot CPU (the kernel model), so this CPU enables FIQs and enters the idle loop
 * (cpu_startup_entry), which enables IRQs.
 */
	.align	5
	.globl	secondary_startup
	.type	secondary_startup, %function
secondary_startup:
	mrc	p15, 0, r0, c0, c0, 5	@ MPIDR
	and	r0, r0, #3		@ Aff0: this CPU's number
	movw	r1, #:lower16:PIEMU_KM_SECONDARY_DATA
	movt	r1, #:upper16:PIEMU_KM_SECONDARY_DATA
	ldr	sp, [r1, r0, lsl #2]	@ secondary_data.stack
	mov	fp, #0
	cpsie	f			@ local_fiq_enable
	b	do_idle
	.size	secondary_startup, . - secondary_startup

/*
 * csd_lock_wait(csd): spins until the CPU that runs a smp_call_function_single()
 * call clears CSD_FLAG_LOCK (kernel/smp.c: smp_cond_load_acquire, cpu_relax).
 */
	.align	2
	.globl	csd_lock_wait
	.type	csd_lock_wait, %function
csd_lock_wait:
1:	ldr	r1, [r0, #CSD_FLAGS]
	tst	r1, #CSD_FLAG_LOCK
	bne	1b
	bx	lr
	.size	csd_lock_wait, . - csd_lock_wait

/* ipi_cpu_stop's endless loop, interrupts off (it never returns). 4.14 spins with
   cpu_relax(); WFE waits the same (only SEV ends it, and it waits again) without
   costing host time, where WFI with an interrupt pending would not wait at all. */
	.align	2
	.globl	ipi_cpu_stop_loop
	.type	ipi_cpu_stop_loop, %function
ipi_cpu_stop_loop:
	cpsid	if			@ local_fiq_disable, local_irq_disable
1:	wfe
	b	1b
	.size	ipi_cpu_stop_loop, . - ipi_cpu_stop_loop

