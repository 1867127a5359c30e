/*
 * The piemu kernel model's guest ABI: one source for the host (C++), guest C code
 * (firmware/include/piemu/kernel.h) and the vector page (firmware/kernel/ assembly).
 *
 * Layouts and numbers that Linux 4.14 has (thread_info, pt_regs, TIF flags, errno,
 * IRQ_* return values) are Linux's, so guest code reads them as kernel code would;
 * the syscall numbers are piemu's own (these are kernel-internal APIs that Linux
 * never exposes as system calls).
 *
 * Only #define lines: the file is included from assembly too.
 */
#ifndef PIEMU_GUEST_ABI_H
#define PIEMU_GUEST_ABI_H

/* ABI version the ELF note of a tiny guest declares (loader: kKernelModelAbiVersion). */
#define PIEMU_KM_ABI_VERSION 1

/* ---- Memory map of the kernel model (physical = virtual: the MMU stays off). */
/* The vector page (SCTLR.V = 1: high vectors) and the entry code, read-only. */
#define PIEMU_KM_VECTORS 0xffff0000
#define PIEMU_KM_STUBS 0xffff1000 /* vector stubs; word 0 holds vector_swi's address */
#define PIEMU_KM_TEXT 0xffff2000  /* __irq_svc & co, the gates */
#define PIEMU_KM_VECTORS_SIZE 0x4000
/* Kernel memory: per-CPU exception scratch areas, task_structs, kernel stacks. Guest
 * images must not overlap it (the loader refuses). */
#define PIEMU_KM_RAM 0x3e000000
#define PIEMU_KM_RAM_SIZE 0x01000000
#define PIEMU_KM_STACKS_SCRATCH (PIEMU_KM_RAM)     /* struct stack[NR_CPUS] */
#define PIEMU_KM_TASKS (PIEMU_KM_RAM + 0x1000)     /* task_struct slots */
#define PIEMU_KM_TASK_SLOT 0x100                   /* bytes per task_struct */
#define PIEMU_KM_KSTACKS (PIEMU_KM_RAM + 0x100000) /* 8 KiB kernel stacks */
#define PIEMU_KM_MAX_TASKS 256
#define PIEMU_KM_DRIVERS (PIEMU_KM_RAM + 0x800000) /* built-in drivers' DMA buffers */
/* secondary_data.stack per CPU: the sp secondary_startup gives a secondary core (its
 * idle task's, THREAD_START_SP into the stack), written before its mailbox 3 is. */
#define PIEMU_KM_SECONDARY_DATA (PIEMU_KM_RAM + 0x800)
/* struct call_single_data[2 * NR_CPUS] (kernel/smp.c): per CPU, the csd of its
 * synchronous smp_call_function_single() (Linux's csd_stack), then its csd_data. */
#define PIEMU_KM_CSD (PIEMU_KM_RAM + 0x900)
#define PIEMU_KM_CSD_SIZE 16
#define CSD_FUNC 4   /* smp_call_func_t func (after the llist node) */
#define CSD_INFO 8   /* void *info */
#define CSD_FLAGS 12 /* unsigned int flags */
#define CSD_FLAG_LOCK 0x01
#define CSD_FLAG_SYNCHRONOUS 0x02

/* ---- arch/arm/include/asm/thread_info.h (4.14): 8 KiB stacks, thread_info at the base. */
#define THREAD_SIZE 0x2000
#define THREAD_START_SP (THREAD_SIZE - 8)
#define TI_FLAGS 0       /* unsigned long flags */
#define TI_PREEMPT 4     /* int preempt_count */
#define TI_ADDR_LIMIT 8  /* mm_segment_t addr_limit */
#define TI_TASK 12       /* struct task_struct *task */
#define TI_CPU 16        /* __u32 cpu */
#define TI_CPU_DOMAIN 20 /* __u32 cpu_domain */
#define TI_CPU_SAVE 24   /* struct cpu_context_save: r4-r9, sl, fp, sp, pc, extra[2] */
#define TI_SYSCALL 72    /* __u32 syscall */
#define TI_USED_CP 76    /* __u8 used_cp[16] */
#define TI_TP_VALUE 92   /* unsigned long tp_value[2] */
#define TIF_SIGPENDING 0
#define TIF_NEED_RESCHED 1
#define TIF_NOTIFY_RESUME 2
#define _TIF_SIGPENDING (1 << TIF_SIGPENDING)
#define _TIF_NEED_RESCHED (1 << TIF_NEED_RESCHED)
#define _TIF_NOTIFY_RESUME (1 << TIF_NOTIFY_RESUME)
#define _TIF_WORK_MASK (_TIF_NEED_RESCHED | _TIF_SIGPENDING | _TIF_NOTIFY_RESUME)
/* addr_limit values: USER_DS = TASK_SIZE (PAGE_OFFSET 0x80000000 - 16 MiB), KERNEL_DS. */
#define TASK_SIZE 0x7f000000
#define KERNEL_DS 0x00000000

/* ---- struct pt_regs (arch/arm/include/uapi/asm/ptrace.h) and the SVC frame. */
#define S_R0 0
#define S_R1 4
#define S_IP 48
#define S_SP 52
#define S_LR 56
#define S_PC 60
#define S_PSR 64
#define S_OLD_R0 68
#define PT_REGS_SIZE 72
#define SVC_DACR 72       /* saved DACR (CONFIG_CPU_SW_DOMAIN_PAN; unused here) */
#define SVC_ADDR_LIMIT 76 /* the interrupted context's addr_limit */
#define SVC_REGS_SIZE 80
#define S_OFF 8 /* vector_swi pushes r4, r5 (the 5th and 6th arguments) below pt_regs */

/* Processor modes. */
#define USR_MODE 0x10
#define FIQ_MODE 0x11
#define IRQ_MODE 0x12
#define SVC_MODE 0x13
#define ABT_MODE 0x17
#define UND_MODE 0x1b
#define SYSTEM_MODE 0x1f
#define MODE_MASK 0x1f
#define PSR_T_BIT 0x20
#define PSR_F_BIT 0x40
#define PSR_I_BIT 0x80

/* ---- struct task_struct as piemu lays it out (Linux's layout depends on the config;
 * these are the members guest code may read through thread_info->task). */
#define TSK_STATE 0            /* long: 0 running, 1 interruptible, 2 uninterruptible */
#define TSK_STACK 4            /* void *stack: the thread_info / stack base */
#define TSK_PID 8              /* pid_t */
#define TSK_PRIO 12            /* int prio (120 for normal tasks) */
#define TSK_COMM 16            /* char comm[TASK_COMM_LEN] */
#define PIEMU_TASK_COMM_LEN 16 /* TASK_COMM_LEN */

/* ---- Syscall ABI: `svc #0`, number in r7, arguments r0-r5, result in r0 (negative
 * errno on failure), as the Linux EABI. A call from SVC mode clobbers lr (the SVC
 * exception writes LR_svc): the guest wrappers declare it. */
#define __NR_piemu_ni_syscall 0
#define __NR_request_threaded_irq 1 /* (irq, handler, thread_fn, flags, name, dev_id) */
#define __NR_free_irq 2             /* (irq, dev_id) -> devname pointer or 0 */
#define __NR_enable_irq 3           /* (irq) */
#define __NR_disable_irq 4          /* (irq) */
#define __NR_disable_irq_nosync 5   /* (irq) */
#define __NR_irq_set_irq_type 6     /* (irq, type) */
#define __NR_printk 7               /* (fmt, 3 words, pointer to the rest) -> bytes logged */
#define __NR_piemu_irq_desc 8       /* (irq, struct piemu_irq_desc_info *) */
#define __NR_msleep 9               /* (msecs) */
#define __NR_schedule 10            /* () */
#define __NR_kernel_power_off 11    /* (exit status of the piemu process) */
#define __NR_kthread_create 12      /* (threadfn, data, name) -> task_struct * */
#define __NR_wake_up_process 13     /* (task) -> 1 if it was woken */
#define __NR_kthread_stop 14        /* (task) -> the thread's return value */
#define __NR_kthread_should_stop 15 /* () */
#define __NR_schedule_timeout 16    /* (jiffies) interruptible -> jiffies left */
#define __NR_wait_for_completion 17 /* (struct completion *) */
#define __NR_complete 18            /* (struct completion *) */
#define __NR_mutex_lock 19          /* (struct mutex *) */
#define __NR_mutex_unlock 20        /* (struct mutex *) */
#define __NR_open_softirq 21        /* (nr, void (*action)(void)) */
#define __NR_raise_softirq 22       /* (nr) */
#define __NR_local_bh_disable 23    /* () */
#define __NR_local_bh_enable 24     /* () */
#define __NR_tasklet_schedule 25    /* (struct tasklet_struct *) */
#define __NR_tasklet_hi_schedule 26 /* (struct tasklet_struct *) */
#define __NR_tasklet_kill 27        /* (struct tasklet_struct *) */
#define __NR_schedule_work 28       /* (struct work_struct *) -> queued? */
#define __NR_flush_work 29          /* (struct work_struct *) -> waited? */
#define __NR_preempt_schedule 30    /* () preempt_enable()'s reschedule */
#define __NR_piemu_sched_setscheduler                                                              \
    31                     /* (task, policy, rt_priority); the host has __NR_sched_setscheduler */
#define __NR_dump_stack 32 /* () */
#define __NR_piemu_firmware_property 33  /* (tag, buf, len) -> answered length */
#define __NR_piemu_mmc_read 34           /* (mmc index, lba, count, buf) -> bytes */
#define __NR_kthread_bind 35             /* (task, cpu): a thread not yet woken, on cpu */
#define __NR_smp_call_function_single 36 /* (cpu, func, info, wait) */
#define __NR_set_cpus_allowed_ptr 37     /* (task, cpumask) */
#define __NR_irq_set_affinity 38         /* (irq, cpumask) */
#define __NR_piemu_syscalls 39

/* Scheduling policies (include/uapi/linux/sched.h). */
#define PIEMU_SCHED_NORMAL 0
#define PIEMU_SCHED_FIFO 1
#define PIEMU_SCHED_RR 2

/* struct tasklet_struct (include/linux/interrupt.h): next, state, count, func, data. */
#define TASKLET_NEXT 0
#define TASKLET_STATE 4 /* bit 0 TASKLET_STATE_SCHED, bit 1 TASKLET_STATE_RUN */
#define TASKLET_COUNT 8 /* disabled while non-zero */
#define TASKLET_FUNC 12
#define TASKLET_DATA 16
#define TASKLET_STATE_SCHED 0
#define TASKLET_STATE_RUN 1
/* struct work_struct (include/linux/workqueue.h): data (bit 0 pending), entry, func. */
#define WORK_DATA 0
#define WORK_ENTRY 4
#define WORK_FUNC 12
#define WORK_STRUCT_PENDING_BIT 0
/* struct completion: done, then the wait queue head (the model keeps the list). */
#define COMPLETION_DONE 0
/* struct mutex: owner (the task_struct holding it, 0 when free). */
#define MUTEX_OWNER 0

/* struct piemu_irq_desc_info: what the reference's irq_desc debug patch prints. */
#define PIEMU_IRQ_DESC_IRQ 0           /* u32 irq_data.irq */
#define PIEMU_IRQ_DESC_HWIRQ 4         /* u32 irq_data.hwirq */
#define PIEMU_IRQ_DESC_DEPTH 8         /* u32 depth (nested disables) */
#define PIEMU_IRQ_DESC_COUNT 12        /* u32 kstat_irqs summed over CPUs */
#define PIEMU_IRQ_DESC_NR_ACTIONS 16   /* u32 actions on the line */
#define PIEMU_IRQ_DESC_HANDLER 20      /* u32 first action's handler (0: built-in C++) */
#define PIEMU_IRQ_DESC_DEV_ID 24       /* u32 its dev_id (0 for built-in drivers) */
#define PIEMU_IRQ_DESC_THREAD_FN 28    /* u32 its thread_fn */
#define PIEMU_IRQ_DESC_NAME 32         /* char[32] first action's name */
#define PIEMU_IRQ_DESC_CHIP 64         /* char[16] irq_chip name */
#define PIEMU_IRQ_DESC_FLOW 80         /* char[24] flow handler name */
#define PIEMU_IRQ_DESC_HANDLER_SYM 104 /* char[40] handler symbol (guest or built-in) */
#define PIEMU_IRQ_DESC_SIZE 144

/* ---- include/linux/preempt.h, irqreturn.h, interrupt.h, irq.h (4.14). The C++ side has the same
 * values in piemu/kernel/irq_types.hpp; tests/unit/guest_abi_values.c and
 * test_guest_abi.cpp check that they agree. Hidden from C++, where they would clash. */
#ifndef __cplusplus
#define TASK_COMM_LEN PIEMU_TASK_COMM_LEN
/* preempt_count fields (include/linux/preempt.h). */
#define PREEMPT_OFFSET 0x00000001
#define SOFTIRQ_OFFSET 0x00000100
#define HARDIRQ_OFFSET 0x00010000
#define PREEMPT_MASK 0x000000ff
#define SOFTIRQ_MASK 0x0000ff00
#define HARDIRQ_MASK 0x000f0000
#define NMI_MASK 0x00100000
#define IRQ_NONE 0
#define IRQ_HANDLED 1
#define IRQ_WAKE_THREAD 2
#define IRQF_TRIGGER_NONE 0x00000000
#define IRQF_TRIGGER_RISING 0x00000001
#define IRQF_TRIGGER_FALLING 0x00000002
#define IRQF_TRIGGER_HIGH 0x00000004
#define IRQF_TRIGGER_LOW 0x00000008
#define IRQF_SHARED 0x00000080
#define IRQF_PROBE_SHARED 0x00000100
#define IRQF_PERCPU 0x00000400
#define IRQF_NOBALANCING 0x00000800
#define IRQF_ONESHOT 0x00002000
#define IRQF_NO_SUSPEND 0x00004000
#define IRQF_NO_THREAD 0x00010000
#define IRQ_TYPE_NONE 0x00000000
#define IRQ_TYPE_EDGE_RISING 0x00000001
#define IRQ_TYPE_EDGE_FALLING 0x00000002
#define IRQ_TYPE_EDGE_BOTH 0x00000003
#define IRQ_TYPE_LEVEL_HIGH 0x00000004
#define IRQ_TYPE_LEVEL_LOW 0x00000008
#define HI_SOFTIRQ 0
#define TIMER_SOFTIRQ 1
#define NET_TX_SOFTIRQ 2
#define NET_RX_SOFTIRQ 3
#define BLOCK_SOFTIRQ 4
#define IRQ_POLL_SOFTIRQ 5
#define TASKLET_SOFTIRQ 6
#define SCHED_SOFTIRQ 7
#define HRTIMER_SOFTIRQ 8
#define RCU_SOFTIRQ 9
#define NR_SOFTIRQS 10
#endif

/* ---- include/uapi/asm-generic/errno-base.h / errno.h */
#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define ENXIO 6
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EDEADLK 35
#define EINVAL 22
#define ENOSYS 38
#define EOPNOTSUPP 95
#define ETIMEDOUT 110
#define ENOMEDIUM 123

#endif /* PIEMU_GUEST_ABI_H */
