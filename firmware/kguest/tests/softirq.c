/*
 * Softirqs and tasklets from a guest:
 * - a softirq raised in a hard handler runs before the interrupted task resumes
 *   (init's loop counter is the same in the handler and in the softirq);
 * - a softirq that keeps raising itself runs 10 rounds in irq_exit, then moves to
 *   ksoftirqd/0 (MAX_SOFTIRQ_RESTART);
 * - a tasklet scheduled twice before it runs, runs once.
 */
#include "common.h"

static int dev;
static volatile u32 loop_count, count_in_hard, count_in_softirq;
static volatile int storm, storm_rounds, in_ksoftirqd_rounds, tasklet_runs, phase;
static struct tasklet_struct tl;

static void net_rx_action(void) {
    if (!storm) {
        count_in_softirq = loop_count;
        printk(KERN_INFO "softirq: loop count %u, serving softirq %d, in_irq %d\n",
               count_in_softirq, (preempt_count() & SOFTIRQ_OFFSET) != 0, in_irq() != 0);
        return;
    }
    storm_rounds++;
    if (current_pid() != 1 && current_comm()[0] == 'k')
        in_ksoftirqd_rounds++;
    if (storm_rounds < 30)
        raise_softirq(NET_RX_SOFTIRQ);
}

static void tasklet_fn(unsigned long data) {
    tasklet_runs++;
    printk(KERN_INFO "tasklet: data 0x%lx, run %d, in %s\n", data, tasklet_runs, current_comm());
}

static irqreturn_t km_irq(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    timer_ack();
    if (phase == 0) {
        count_in_hard = loop_count;
        raise_softirq(NET_RX_SOFTIRQ);
    } else if (phase == 1) {
        storm = 1;
        raise_softirq(NET_RX_SOFTIRQ);
    } else {
        tasklet_schedule(&tl);
        tasklet_schedule(&tl); /* already scheduled: no second run */
    }
    return IRQ_HANDLED;
}

int init(void) {
    open_softirq(NET_RX_SOFTIRQ, net_rx_action);
    tasklet_init(&tl, tasklet_fn, 0x5a);
    request_irq(IRQ_SYSTIMER_C1, km_irq, 0, "km-softirq", &dev);

    timer_in(500);
    while (!count_in_softirq)
        loop_count++;
    printk(KERN_INFO "hard saw loop count %u, softirq %u: %s\n", count_in_hard, count_in_softirq,
           count_in_hard == count_in_softirq ? "same" : "DIFFERENT");

    phase = 1;
    timer_in(500);
    while (storm_rounds < 30)
        msleep(10);
    printk(KERN_INFO "storm: %d rounds, %d in ksoftirqd\n", storm_rounds, in_ksoftirqd_rounds);

    phase = 2;
    timer_in(500);
    msleep(10);
    printk(KERN_INFO "tasklet ran %d time(s)\n", tasklet_runs);
    return 0;
}
