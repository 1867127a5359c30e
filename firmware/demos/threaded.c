/*
 * Experiment 6: a threaded interrupt.
 *
 * request_threaded_irq(irq, handler, thread_fn, flags, name, dev) -> __setup_irq()
 * -> setup_irq_thread() creates the kernel thread "irq/<irq>-<name>" at SCHED_FIFO
 * priority 50 (MAX_USER_RT_PRIO/2), which the trace prints as prio 49 and ps as
 * PRI 9. This is how the Pi 3's "irq/92-mmc1" is made: bcm2835-mmc calls
 * devm_request_threaded_irq(dev, 92, bcm2835_mmc_irq, bcm2835_mmc_thread_irq,
 * IRQF_SHARED, "mmc1", host) at probe, and piemu's built-in driver does the same
 * (--dump-tasks lists the thread). On a Pi 3 that thread is woken by the WiFi chip's
 * SDIO interrupts, which piemu does not model, so this guest makes a threaded
 * interrupt of its own on the system timer's line: the hard handler acknowledges
 * the device and returns IRQ_WAKE_THREAD; genirq wakes "irq/31-demo"; on the way
 * out of the interrupt the scheduler switches to it (an RT task preempts init), and
 * the thread function runs in process context, where it may sleep.
 */
#include "demo.h"

static int mydev;
static volatile int thread_runs;

static irqreturn_t demo_hard(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    if (!timer_ack())
        return IRQ_NONE;
    printk(KERN_INFO "demo: hard handler in %s/%d, preempt_count 0x%08x: IRQ_WAKE_THREAD\n",
           current_comm(), current_pid(), preempt_count());
    return IRQ_WAKE_THREAD;
}

static irqreturn_t demo_thread_fn(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    printk(KERN_INFO "demo: thread_fn in %s/%d, preempt_count 0x%08x: may sleep\n", current_comm(),
           current_pid(), preempt_count());
    msleep(1);
    thread_runs++;
    return IRQ_HANDLED;
}

int init(void) {
    int ret = request_threaded_irq(IRQ_SYSTIMER_C1, demo_hard, demo_thread_fn, IRQF_ONESHOT, "demo",
                                   &mydev);
    printk(KERN_INFO "demo: request_threaded_irq(%d) = %d\n", IRQ_SYSTIMER_C1, ret);
    timer_in(100);
    while (!thread_runs) /* init is busy: the thread preempts it */
        ;
    printk(KERN_INFO "demo: back in %s/%d\n", current_comm(), current_pid());
    return 0;
}
