/*
 * An IRQ thread preempting a normal task, as in the reference trace: idle -> irq/31
 * (woken by the hard handler) -> kworker/0:0 (work the thread queued, busy) ->
 * irq/31 again, preempting the kworker (prev_state=R+) -> kworker/0:0 -> ...
 * The golden trace tests/golden/trace_kernel_km_preempt.txt holds the switches.
 */
#include "common.h"

static int dev;
static volatile int thread_runs;
static struct work_struct busy_work;

static irqreturn_t km_hard(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    timer_ack();
    return IRQ_WAKE_THREAD;
}

static irqreturn_t km_thread(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    thread_runs++;
    if (thread_runs == 1) {
        schedule_work(&busy_work);
        timer_in(3000);
    }
    return IRQ_HANDLED;
}

static void busy(struct work_struct* w) {
    (void)w;
    printk(KERN_INFO "%s: busy until the IRQ thread ran again\n", current_comm());
    while (thread_runs < 2)
        ; /* preempted here by irq/31 */
    printk(KERN_INFO "%s: thread_runs %d\n", current_comm(), thread_runs);
}

int init(void) {
    INIT_WORK(&busy_work, busy);
    request_threaded_irq(IRQ_SYSTIMER_C1, km_hard, km_thread, IRQF_ONESHOT, "km-pre", &dev);
    timer_in(2000);
    msleep(50);
    flush_work(&busy_work);
    printk(KERN_INFO "init: thread_runs %d\n", thread_runs);
    return 0;
}
