/*
 * Experiment 8: a softirq and a tasklet on irq_exit(), and ksoftirqd under load.
 *
 * A handler does the urgent part and raises a softirq for the rest; irq_exit() runs
 * the pending softirqs (__do_softirq) before the interrupted task resumes, with
 * SOFTIRQ_OFFSET in preempt_count and interrupts on again. A tasklet is a softirq
 * client (TASKLET_SOFTIRQ) that runs a function once however often it was scheduled
 * before it ran. When softirqs keep raising themselves, __do_softirq() gives up after
 * MAX_SOFTIRQ_RESTART (10) rounds or 2 ms and wakes ksoftirqd/0, a normal-priority
 * thread, so that user tasks are not starved: watch the softirq change tasks.
 */
#include "demo.h"

static int mydev;
static volatile int phase, rounds, rounds_in_ksoftirqd, tasklet_runs;
static struct tasklet_struct tl;

static void demo_net_rx(void) {
    rounds++;
    if (phase == 0) {
        printk(KERN_INFO "softirq: NET_RX in %s/%d, preempt_count 0x%08x, irqs %s\n",
               current_comm(), current_pid(), preempt_count(), irqs_disabled() ? "off" : "on");
        return;
    }
    if (current_pid() != 1 && current_comm()[0] == 'k')
        rounds_in_ksoftirqd++;
    if (rounds < 40) /* under load: it raises itself again */
        raise_softirq(NET_RX_SOFTIRQ);
}

static void demo_tasklet(unsigned long data) {
    tasklet_runs++;
    printk(KERN_INFO "tasklet: data 0x%lx in %s/%d, preempt_count 0x%08x\n", data, current_comm(),
           current_pid(), preempt_count());
}

static irqreturn_t demo_irq(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    if (!timer_ack())
        return IRQ_NONE;
    printk(KERN_INFO "hard irq: raising, preempt_count 0x%08x\n", preempt_count());
    if (phase == 2) {
        tasklet_schedule(&tl);
        tasklet_schedule(&tl); /* already scheduled: it still runs once */
    } else {
        raise_softirq(NET_RX_SOFTIRQ);
    }
    return IRQ_HANDLED;
}

int init(void) {
    open_softirq(NET_RX_SOFTIRQ, demo_net_rx);
    tasklet_init(&tl, demo_tasklet, 0x5a);
    request_irq(IRQ_SYSTIMER_C1, demo_irq, 0, "demo-bh", &mydev);

    printk(KERN_INFO "demo: 1. a softirq raised by a handler\n");
    timer_in(100);
    while (rounds < 1) /* spinning: the interrupt comes in init's context */
        ;

    printk(KERN_INFO "demo: 2. a softirq that raises itself 40 times\n");
    phase = 1;
    rounds = 0;
    timer_in(100);
    while (rounds < 40)
        msleep(1);
    printk(KERN_INFO "demo: %d rounds, %d of them in ksoftirqd/0\n", rounds, rounds_in_ksoftirqd);

    printk(KERN_INFO "demo: 3. a tasklet scheduled twice\n");
    phase = 2;
    timer_in(100);
    msleep(5);
    printk(KERN_INFO "demo: the tasklet ran %d time(s)\n", tasklet_runs);
    free_irq(IRQ_SYSTIMER_C1, &mydev);
    return 0;
}
