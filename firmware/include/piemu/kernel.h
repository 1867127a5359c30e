/*
 * What a tiny guest image sees of piemu's kernel model: the kernel functions it may
 * call (through `svc #0`, guest_abi.h), the kernel's types and context predicates.
 * Names, argument order, flags and errors are Linux 4.14's.
 *
 * A tiny guest is linked with firmware/kguest (link.ld, kguest.S): its ELF carries the
 * note that makes piemu boot the kernel model and run `init` as pid 1 in SVC mode with
 * IRQs enabled, on an 8 KiB kernel stack. Returning from init ends the run with
 * init's return value as piemu's exit status.
 */
#ifndef PIEMU_KERNEL_H
#define PIEMU_KERNEL_H

#include "piemu/guest_abi.h"

typedef unsigned int u32;
typedef int irqreturn_t;
typedef irqreturn_t (*irq_handler_t)(int irq, void* dev_id);

/* Log levels for printk (include/linux/kern_levels.h). */
#define KERN_SOH "\001"
#define KERN_EMERG KERN_SOH "0"
#define KERN_ALERT KERN_SOH "1"
#define KERN_CRIT KERN_SOH "2"
#define KERN_ERR KERN_SOH "3"
#define KERN_WARNING KERN_SOH "4"
#define KERN_NOTICE KERN_SOH "5"
#define KERN_INFO KERN_SOH "6"
#define KERN_DEBUG KERN_SOH "7"
#define KERN_CONT KERN_SOH "c"

/* ---- The syscall: svc #0 from SVC (or USR) mode. lr is clobbered from SVC mode. */
static inline long piemu_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
    register long r0 __asm__("r0") = a0;
    register long r1 __asm__("r1") = a1;
    register long r2 __asm__("r2") = a2;
    register long r3 __asm__("r3") = a3;
    register long r4 __asm__("r4") = a4;
    register long r5 __asm__("r5") = a5;
    register long r7 __asm__("r7") = nr;
    __asm__ volatile("svc #0"
                     : "+r"(r0)
                     : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r7)
                     : "lr", "memory", "cc");
    return r0;
}

static inline int request_threaded_irq(unsigned int irq, irq_handler_t handler,
                                       irq_handler_t thread_fn, unsigned long flags,
                                       const char* name, void* dev) {
    return piemu_syscall(__NR_request_threaded_irq, irq, (long)handler, (long)thread_fn, flags,
                         (long)name, (long)dev);
}

/* request_irq() is request_threaded_irq() without a thread, as in the kernel. */
static inline int request_irq(unsigned int irq, irq_handler_t handler, unsigned long flags,
                              const char* name, void* dev) {
    return request_threaded_irq(irq, handler, 0, flags, name, dev);
}

/* Returns the devname passed to request_irq, or NULL if nothing was freed. */
static inline const void* free_irq(unsigned int irq, void* dev_id) {
    return (const void*)piemu_syscall(__NR_free_irq, irq, (long)dev_id, 0, 0, 0, 0);
}

/* void in the kernel; here also -EINVAL for an irq without a descriptor. */
static inline int enable_irq(unsigned int irq) {
    return piemu_syscall(__NR_enable_irq, irq, 0, 0, 0, 0, 0);
}
static inline int disable_irq(unsigned int irq) {
    return piemu_syscall(__NR_disable_irq, irq, 0, 0, 0, 0, 0);
}
static inline int disable_irq_nosync(unsigned int irq) {
    return piemu_syscall(__NR_disable_irq_nosync, irq, 0, 0, 0, 0, 0);
}
static inline int irq_set_irq_type(unsigned int irq, unsigned int type) {
    return piemu_syscall(__NR_irq_set_irq_type, irq, type, 0, 0, 0, 0);
}
static inline void msleep(unsigned int msecs) {
    piemu_syscall(__NR_msleep, msecs, 0, 0, 0, 0, 0);
}
static inline void schedule(void) {
    piemu_syscall(__NR_schedule, 0, 0, 0, 0, 0, 0);
}
/* Ends the run; `status` becomes piemu's exit status. */
static inline void kernel_power_off(int status) {
    piemu_syscall(__NR_kernel_power_off, status, 0, 0, 0, 0, 0);
}

/* printk(fmt, ...): up to five 32-bit arguments (kguest.S passes r1-r3 and two stack
 * words); the kernel's conversions, %pS included. Returns the bytes logged. */
int printk(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* What the reference's irq_desc debug patch prints (guest_abi.h PIEMU_IRQ_DESC_*). */
struct piemu_irq_desc_info {
    u32 irq, hwirq, depth, count, nr_actions;
    u32 handler, dev_id, thread_fn;
    char name[32];
    char chip[16];
    char flow[24];
    char handler_sym[40];
};
static inline int piemu_irq_desc(unsigned int irq, struct piemu_irq_desc_info* info) {
    return piemu_syscall(__NR_piemu_irq_desc, irq, (long)info, 0, 0, 0, 0);
}

/* ---- the built-in drivers (piemu's kernel model; Linux's in-kernel APIs). */
/* rpi_firmware_property(): one property tag through the mailbox (raspberrypi-
 * firmware); buf holds the value in and out. Returns the value length the firmware
 * answered, -EOPNOTSUPP for a tag it left unanswered, or -errno. */
static inline int rpi_firmware_property(u32 tag, void* buf, u32 len) {
    return piemu_syscall(__NR_piemu_firmware_property, tag, (long)buf, len, 0, 0, 0);
}
/* Reads count (1-128) 512-byte blocks at lba of the card behind mmcN (0: SD host,
 * 1: SDHCI) into buf, through the host's driver and interrupt. Returns the bytes
 * read or -errno (-ENOMEDIUM: no card). */
static inline int piemu_mmc_read(unsigned int mmc, u32 lba, u32 count, void* buf) {
    return piemu_syscall(__NR_piemu_mmc_read, mmc, lba, count, (long)buf, 0, 0);
}

/* ---- arch/arm/include/asm/thread_info.h: thread_info at the 8 KiB stack's base. */
struct cpu_context_save {
    u32 r4, r5, r6, r7, r8, r9, sl, fp, sp, pc, extra[2];
};
struct thread_info {
    unsigned long flags;
    int preempt_count;
    unsigned long addr_limit;
    void* task;
    u32 cpu;
    u32 cpu_domain;
    struct cpu_context_save cpu_context;
    u32 syscall;
};

static inline struct thread_info* current_thread_info(void) {
    register unsigned long sp __asm__("sp");
    return (struct thread_info*)(sp & ~(THREAD_SIZE - 1));
}

/* include/linux/preempt.h, as the kernel computes them. */
#define preempt_count() (*(volatile int*)&current_thread_info()->preempt_count)
#define hardirq_count() (preempt_count() & HARDIRQ_MASK)
#define softirq_count() (preempt_count() & SOFTIRQ_MASK)
#define irq_count() (preempt_count() & (HARDIRQ_MASK | SOFTIRQ_MASK | NMI_MASK))
#define in_irq() (hardirq_count())
#define in_softirq() (softirq_count())
#define in_interrupt() (irq_count())

/* current->comm and ->pid (guest_abi.h TSK_*). */
#define current_comm() ((const char*)current_thread_info()->task + TSK_COMM)
#define current_pid() (*(const int*)((const char*)current_thread_info()->task + TSK_PID))

static inline unsigned long arch_local_save_flags(void) {
    unsigned long flags;
    __asm__ volatile("mrs %0, cpsr" : "=r"(flags) : : "memory");
    return flags;
}
#define irqs_disabled() ((arch_local_save_flags() & PSR_I_BIT) != 0)
#define local_irq_enable() __asm__ volatile("cpsie i" : : : "memory", "cc")
#define local_irq_disable() __asm__ volatile("cpsid i" : : : "memory", "cc")

#define BUG() __asm__ volatile(".word 0xe7f001f2")

/* ---- Tasks (kernel/kthread.c, kernel/sched/core.c). Kernel threads run guest
 * functions in SVC mode on their own 8 KiB stacks; task_structs are opaque. */
struct task_struct;
static inline struct task_struct* kthread_create(int (*threadfn)(void* data), void* data,
                                                 const char* name) {
    return (struct task_struct*)piemu_syscall(__NR_kthread_create, (long)threadfn, (long)data,
                                              (long)name, 0, 0, 0);
}
static inline int wake_up_process(struct task_struct* p) {
    return piemu_syscall(__NR_wake_up_process, (long)p, 0, 0, 0, 0, 0);
}
/* kthread_run(): create and wake; an error is a negative value, as IS_ERR(). */
static inline struct task_struct* kthread_run(int (*threadfn)(void* data), void* data,
                                              const char* name) {
    struct task_struct* p = kthread_create(threadfn, data, name);
    if ((unsigned long)p < (unsigned long)-4095)
        wake_up_process(p);
    return p;
}
static inline int kthread_stop(struct task_struct* p) {
    return piemu_syscall(__NR_kthread_stop, (long)p, 0, 0, 0, 0, 0);
}
static inline int kthread_should_stop(void) {
    return piemu_syscall(__NR_kthread_should_stop, 0, 0, 0, 0, 0, 0);
}
/* Sleeps interruptibly for `timeout` jiffies (HZ = 100); returns the jiffies left. */
static inline long schedule_timeout_interruptible(long timeout) {
    return piemu_syscall(__NR_schedule_timeout, timeout, 0, 0, 0, 0, 0);
}
static inline int sched_setscheduler(struct task_struct* p, int policy, int rt_priority) {
    return piemu_syscall(__NR_piemu_sched_setscheduler, (long)p, policy, rt_priority, 0, 0, 0);
}
#define SCHED_NORMAL PIEMU_SCHED_NORMAL
#define SCHED_FIFO PIEMU_SCHED_FIFO
#define SCHED_RR PIEMU_SCHED_RR
static inline void dump_stack(void) {
    piemu_syscall(__NR_dump_stack, 0, 0, 0, 0, 0, 0);
}

/* ---- Several CPUs (kernel/kthread.c, kernel/smp.c, kernel/sched/core.c, manage.c).
 * A cpumask is a word here: bit n for CPU n. Tasks stay on the CPU they were created
 * on (the creator's) unless bound or their allowed CPUs exclude it. */
#define raw_smp_processor_id() (current_thread_info()->cpu)
#define smp_processor_id() raw_smp_processor_id()
#define cpumask_of(cpu) (1ul << (cpu))
#define current ((struct task_struct*)current_thread_info()->task)
/* kthread_bind(): a thread created but not yet woken runs on `cpu` only (-EINVAL once
 * it was woken, or for a CPU that does not exist). */
static inline int kthread_bind(struct task_struct* p, unsigned int cpu) {
    return piemu_syscall(__NR_kthread_bind, (long)p, cpu, 0, 0, 0, 0);
}
/* kthread_create_on_cpu(): created and bound, not woken (names are not formatted). */
static inline struct task_struct* kthread_create_on_cpu(int (*threadfn)(void* data), void* data,
                                                        unsigned int cpu, const char* name) {
    struct task_struct* p = kthread_create(threadfn, data, name);
    if ((unsigned long)p < (unsigned long)-4095)
        kthread_bind(p, cpu);
    return p;
}
/* smp_call_function_single(): func(info) on `cpu`, in its hard interrupt context
 * (IPI_CALL_FUNC) when it is another CPU; wait: return when it has run (the caller
 * spins meanwhile). -ENXIO for a CPU that is not online. */
typedef void (*smp_call_func_t)(void* info);
static inline int smp_call_function_single(int cpu, smp_call_func_t func, void* info, int wait) {
    return piemu_syscall(__NR_smp_call_function_single, cpu, (long)func, (long)info, wait, 0, 0);
}
/* set_cpus_allowed_ptr(): the CPUs `p` may run on; a running task moves at once
 * (through its CPU's migration/N thread). -EINVAL when no allowed CPU is online or
 * `p` is bound to its CPU. */
static inline int set_cpus_allowed_ptr(struct task_struct* p, unsigned long cpumask) {
    return piemu_syscall(__NR_set_cpus_allowed_ptr, (long)p, (long)cpumask, 0, 0, 0, 0);
}
/* irq_set_affinity(): the CPUs an interrupt may go to, when its chip can route it
 * (-EINVAL otherwise: no interrupt controller of the Pi can route one GPU interrupt). */
static inline int irq_set_affinity(unsigned int irq, unsigned long cpumask) {
    return piemu_syscall(__NR_irq_set_affinity, irq, (long)cpumask, 0, 0, 0, 0);
}

/* preempt_disable()/preempt_enable() on thread_info->preempt_count, as the kernel's;
 * preempt_enable() reschedules when the count drops to 0 with TIF_NEED_RESCHED. */
#define preempt_disable()                                                                          \
    do {                                                                                           \
        current_thread_info()->preempt_count++;                                                    \
        __asm__ volatile("" : : : "memory");                                                       \
    } while (0)
#define preempt_enable()                                                                           \
    do {                                                                                           \
        __asm__ volatile("" : : : "memory");                                                       \
        if (--current_thread_info()->preempt_count == 0 &&                                         \
            (current_thread_info()->flags & _TIF_NEED_RESCHED))                                    \
            piemu_syscall(__NR_preempt_schedule, 0, 0, 0, 0, 0, 0);                                \
    } while (0)

/* ---- Completions and mutexes: the state in guest memory, the waiters the model's. */
struct completion {
    unsigned int done;
    u32 wait[3];
};
#define DECLARE_COMPLETION(x) struct completion x = {0, {0, 0, 0}}
static inline void init_completion(struct completion* x) {
    x->done = 0;
}
static inline void wait_for_completion(struct completion* x) {
    piemu_syscall(__NR_wait_for_completion, (long)x, 0, 0, 0, 0, 0);
}
static inline void complete(struct completion* x) {
    piemu_syscall(__NR_complete, (long)x, 0, 0, 0, 0, 0);
}
struct mutex {
    unsigned long owner;
    u32 wait[3];
};
#define DEFINE_MUTEX(m) struct mutex m = {0, {0, 0, 0}}
static inline int mutex_lock(struct mutex* lock) {
    return piemu_syscall(__NR_mutex_lock, (long)lock, 0, 0, 0, 0, 0);
}
static inline int mutex_unlock(struct mutex* lock) {
    return piemu_syscall(__NR_mutex_unlock, (long)lock, 0, 0, 0, 0, 0);
}

/* ---- Softirqs, tasklets, work (include/linux/interrupt.h, workqueue.h). */
/* The vectors HI_SOFTIRQ .. RCU_SOFTIRQ, NR_SOFTIRQS: piemu/guest_abi.h. */
static inline int open_softirq(int nr, void (*action)(void)) {
    return piemu_syscall(__NR_open_softirq, nr, (long)action, 0, 0, 0, 0);
}
static inline int raise_softirq(unsigned int nr) {
    return piemu_syscall(__NR_raise_softirq, nr, 0, 0, 0, 0, 0);
}
static inline void local_bh_disable(void) {
    piemu_syscall(__NR_local_bh_disable, 0, 0, 0, 0, 0, 0);
}
static inline void local_bh_enable(void) {
    piemu_syscall(__NR_local_bh_enable, 0, 0, 0, 0, 0, 0);
}

struct tasklet_struct {
    struct tasklet_struct* next;
    unsigned long state;
    int count; /* atomic_t: disabled while non-zero */
    void (*func)(unsigned long);
    unsigned long data;
};
static inline void tasklet_init(struct tasklet_struct* t, void (*func)(unsigned long),
                                unsigned long data) {
    t->next = 0;
    t->state = 0;
    t->count = 0;
    t->func = func;
    t->data = data;
}
static inline void tasklet_schedule(struct tasklet_struct* t) {
    piemu_syscall(__NR_tasklet_schedule, (long)t, 0, 0, 0, 0, 0);
}
static inline void tasklet_hi_schedule(struct tasklet_struct* t) {
    piemu_syscall(__NR_tasklet_hi_schedule, (long)t, 0, 0, 0, 0, 0);
}
static inline void tasklet_disable(struct tasklet_struct* t) {
    t->count++;
}
static inline void tasklet_enable(struct tasklet_struct* t) {
    t->count--;
}
static inline void tasklet_kill(struct tasklet_struct* t) {
    piemu_syscall(__NR_tasklet_kill, (long)t, 0, 0, 0, 0, 0);
}

struct work_struct;
typedef void (*work_func_t)(struct work_struct* work);
struct work_struct {
    unsigned long data; /* bit 0: pending */
    u32 entry[2];
    work_func_t func;
};
#define INIT_WORK(w, f)                                                                            \
    do {                                                                                           \
        (w)->data = 0;                                                                             \
        (w)->func = (f);                                                                           \
    } while (0)
static inline int schedule_work(struct work_struct* work) {
    return piemu_syscall(__NR_schedule_work, (long)work, 0, 0, 0, 0, 0);
}
static inline int flush_work(struct work_struct* work) {
    return piemu_syscall(__NR_flush_work, (long)work, 0, 0, 0, 0, 0);
}

#endif /* PIEMU_KERNEL_H */
