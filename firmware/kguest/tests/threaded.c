/*
 * A threaded IRQ: the hard handler returns IRQ_WAKE_THREAD, "irq/31-km-thr" runs the
 * thread function in process context (preempt_count 0) at SCHED_FIFO 50. IRQF_ONESHOT
 * keeps the line masked while the thread runs: the second interrupt, due 1 ms into the
 * thread's 20 ms sleep, reaches the hard handler only when the thread returns.
 */
#include "common.h"

static int dev;
static volatile int hard_calls, thread_calls;

static irqreturn_t km_hard(int irq, void* dev_id) {
    (void)dev_id;
    timer_ack();
    hard_calls++;
    printk(KERN_INFO "hard %d: irq %d in %s/%d, preempt_count 0x%08x\n", hard_calls, irq,
           current_comm(), current_pid(), preempt_count());
    return IRQ_WAKE_THREAD;
}

static irqreturn_t km_thread(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    thread_calls++;
    printk(KERN_INFO "thread %d: %s/%d, preempt_count 0x%08x, in_interrupt() 0x%x\n", thread_calls,
           current_comm(), current_pid(), preempt_count(), in_interrupt());
    if (thread_calls == 1) {
        timer_in(1000); /* due while this thread sleeps: held by ONESHOT */
        msleep(20);
        printk(KERN_INFO "thread 1: returns after msleep(20), hard calls so far %d\n", hard_calls);
    }
    return IRQ_HANDLED;
}

int init(void) {
    int ret =
        request_threaded_irq(IRQ_SYSTIMER_C1, km_hard, km_thread, IRQF_ONESHOT, "km-thr", &dev);
    printk(KERN_INFO "request_threaded_irq = %d\n", ret);
    timer_in(1000);
    while (thread_calls < 2)
        msleep(10);
    printk(KERN_INFO "hard %d, thread %d\n", hard_calls, thread_calls);
    printk(KERN_INFO "free_irq: %s\n", (const char*)free_irq(IRQ_SYSTIMER_C1, &dev));
    return 0;
}
