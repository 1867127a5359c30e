/*
 * Gates: the kernel model's C functions, implemented in piemu's C++. Each is one UDF
 * instruction; piemu recognises the address (from this image's symbol table), runs
 * the C++ function with the AAPCS arguments in r0-r3 (r4, r5 for syscalls) and
 * resumes at lr with the result in r0, as if the function had returned. A C++
 * function that has to run guest code on the way (a guest IRQ handler) does so
 * before it "returns": the guest code runs on this same stack, below this call.
 *
 * The UDF immediate 0xe1e (piemu's gate mark) keeps gates distinct from BUG()
 * (0xe7f001f2) and other undefined instructions; a gate that is not at one of these
 * addresses is an ordinary undefined instruction.
 */
	.syntax	unified
	.arm

	.macro	gate, name
	.align	2
	.globl	\name
	.type	\name, %function
\name:
	udf	#0xe1e
	.size	\name, . - \name
	.endm

	.section .text.gates, "ax"
	.globl	__gates_start
__gates_start:
	/* The root irqchip's handler (handle_arch_irq points here). */
	gate	bcm2836_arm_irqchip_handle_irq
	/* Where a guest function called by the kernel model returns to. */
	gate	ret_from_guest_call
	/* Scheduler entries. */
	gate	preempt_schedule_irq
	gate	schedule_idle
	gate	do_work_pending
	gate	do_exit
	/* A kernel thread whose function is piemu's C++ (an IRQ thread) starts here. */
	gate	kthread_body
	/* Faults. */
	gate	do_DataAbort
	gate	do_PrefetchAbort
	gate	do_undefinstr
	gate	bad_mode
	/* System calls (sys_call_table). */
	gate	sys_ni_syscall
	gate	sys_request_threaded_irq
	gate	sys_free_irq
	gate	sys_enable_irq
	gate	sys_disable_irq
	gate	sys_disable_irq_nosync
	gate	sys_irq_set_irq_type
	gate	sys_printk
	gate	sys_piemu_irq_desc
	gate	sys_msleep
	gate	sys_schedule
	gate	sys_kernel_power_off
	gate	sys_kthread_create
	gate	sys_wake_up_process
	gate	sys_kthread_stop
	gate	sys_kthread_should_stop
	gate	sys_schedule_timeout
	gate	sys_wait_for_completion
	gate	sys_complete
	gate	sys_mutex_lock
	gate	sys_mutex_unlock
	gate	sys_open_softirq
	gate	sys_raise_softirq
	gate	sys_local_bh_disable
	gate	sys_local_bh_enable
	gate	sys_tasklet_schedule
	gate	sys_tasklet_hi_schedule
	gate	sys_tasklet_kill
	gate	sys_schedule_work
	gate	sys_flush_work
	gate	sys_preempt_schedule
	gate	sys_sched_setscheduler
	gate	sys_dump_stack
	gate	sys_piemu_firmware_property
	gate	sys_piemu_mmc_read
	gate	sys_kthread_bind
	gate	sys_smp_call_function_single
	gate	sys_set_cpus_allowed_ptr
	gate	sys_irq_set_affinity
	/* Built-in drivers: dwc_otg's FIQ function (called from its FIQ stub in FIQ
	 * mode) and the USB hub driver's work function (run by a kworker). */
	gate	dwc_otg_fiq_fsm
	gate	hub_event
	.globl	__gates_end
__gates_end:
