/*
 * Four CPUs: where tasks run and how the CPUs reach each other.
 *
 * 1. A thread bound to CPU 1 (kthread_create_on_cpu) sleeps on a completion that
 *    init, on CPU 0, completes: a wake-up of a task on another CPU, which sends that
 *    CPU IPI_RESCHEDULE (idle there, so the woken thread runs at once).
 * 2. smp_call_function_single() to CPU 2, waiting: the function runs there in hard
 *    interrupt context (IPI_CALL_FUNC) while init spins; to CPU 3 without waiting;
 *    to CPU 0 itself: a plain call with interrupts off.
 * 3. A thread on CPU 2 requests a threaded IRQ (the system timer's match 1): its
 *    thread irq/31-km-smp is created there and stays (the line's affinity is every
 *    CPU); the hard handler runs on CPU 0, where the GPU interrupts go, and its
 *    IRQ_WAKE_THREAD wakes the thread on CPU 2 with an IPI. irq_set_affinity() on the
 *    line fails: no controller of the Pi routes one GPU interrupt.
 * 4. set_cpus_allowed_ptr(current, CPU 3): init itself moves, through migration/0.
 * 5. Every CPU's timer: a thread on each CPU sleeps 20 ms (its own CPU's timers).
 */
#include "common.h"

static DECLARE_COMPLETION(go);
static DECLARE_COMPLETION(done);
static volatile int call_cpu[4] = {-1, -1, -1, -1};
static volatile u32 call_preempt[4];
static volatile int call_irqs_off[4];
static volatile int irq_cpu = -1, thread_cpu = -1, irq_ret = -1;
static volatile int slept[4];
static int dev;

static int bound(void* data) {
    (void)data;
    printk(KERN_INFO "bound: %s/%d on CPU %u waits\n", current_comm(), current_pid(),
           smp_processor_id());
    wait_for_completion(&go);
    printk(KERN_INFO "bound: woken on CPU %u\n", smp_processor_id());
    complete(&done);
    return 0;
}

static void on_cpu(void* info) {
    int slot = (int)(long)info;
    call_cpu[slot] = (int)smp_processor_id();
    call_preempt[slot] = (u32)preempt_count();
    call_irqs_off[slot] = irqs_disabled();
}

static irqreturn_t smp_hard(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    timer_ack();
    irq_cpu = (int)smp_processor_id();
    return IRQ_WAKE_THREAD;
}

static irqreturn_t smp_thread(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    thread_cpu = (int)smp_processor_id();
    complete(&done);
    return IRQ_HANDLED;
}

static int requester(void* data) {
    (void)data;
    irq_ret =
        request_threaded_irq(IRQ_SYSTIMER_C1, smp_hard, smp_thread, IRQF_ONESHOT, "km-smp", &dev);
    complete(&done);
    return 0;
}

static int sleeper(void* data) {
    int cpu = (int)(long)data;
    msleep(20);
    slept[cpu] = (int)smp_processor_id() + 1;
    complete(&done);
    return 0;
}

int init(void) {
    printk(KERN_INFO "init: pid %d on CPU %u\n", current_pid(), smp_processor_id());

    /* 1. A cross-CPU wake-up. */
    struct task_struct* t = kthread_create_on_cpu(bound, 0, 1, "km-bound");
    wake_up_process(t);
    msleep(10);
    printk(KERN_INFO "init: kthread_bind after the wake-up: %d\n", kthread_bind(t, 2));
    complete(&go);
    wait_for_completion(&done);

    /* 2. Function calls on other CPUs. */
    int r2 = smp_call_function_single(2, on_cpu, (void*)2, 1);
    printk(KERN_INFO "call on CPU 2 (wait): %d, ran on CPU %d, preempt_count 0x%08x\n", r2,
           call_cpu[2], call_preempt[2]);
    int r3 = smp_call_function_single(3, on_cpu, (void*)3, 0);
    while (call_cpu[3] < 0)
        ;
    printk(KERN_INFO "call on CPU 3 (no wait): %d, ran on CPU %d, preempt_count 0x%08x\n", r3,
           call_cpu[3], call_preempt[3]);
    int r0 = smp_call_function_single(0, on_cpu, (void*)0, 1);
    printk(KERN_INFO "call on CPU 0 (self): %d, ran on CPU %d, preempt_count 0x%08x, irqs off %d\n",
           r0, call_cpu[0], call_preempt[0], call_irqs_off[0]);
    printk(KERN_INFO "call on CPU 7: %d\n", smp_call_function_single(7, on_cpu, (void*)1, 1));

    /* 3. An IRQ thread created on CPU 2, its interrupt on CPU 0. */
    t = kthread_create_on_cpu(requester, 0, 2, "km-requester");
    wake_up_process(t);
    wait_for_completion(&done);
    printk(KERN_INFO "request_threaded_irq on CPU 2: %d\n", irq_ret);
    printk(KERN_INFO "irq_set_affinity(%d, CPU 1): %d\n", IRQ_SYSTIMER_C1,
           irq_set_affinity(IRQ_SYSTIMER_C1, cpumask_of(1)));
    timer_in(1000);
    wait_for_completion(&done);
    printk(KERN_INFO "hard handler on CPU %d, thread function on CPU %d\n", irq_cpu, thread_cpu);
    free_irq(IRQ_SYSTIMER_C1, &dev);

    /* 4. init moves itself. */
    printk(KERN_INFO "set_cpus_allowed_ptr(init, CPU 3): %d\n",
           set_cpus_allowed_ptr(current, cpumask_of(3)));
    printk(KERN_INFO "init: now on CPU %u\n", smp_processor_id());

    /* 5. A sleeper on every CPU. */
    for (int cpu = 0; cpu < 4; ++cpu)
        wake_up_process(kthread_create_on_cpu(sleeper, (void*)(long)cpu, cpu, "km-sleeper"));
    for (int cpu = 0; cpu < 4; ++cpu)
        wait_for_completion(&done);
    printk(KERN_INFO "sleepers woke on CPUs %d %d %d %d\n", slept[0] - 1, slept[1] - 1,
           slept[2] - 1, slept[3] - 1);
    return 0;
}
