/*
 * A tasklet scheduled while disabled. tasklet_action() finds it disabled, queues it
 * again and raises TASKLET_SOFTIRQ; __do_softirq() gives up after its restarts and
 * wakes ksoftirqd, which finds the work still pending, round after round. Linux's
 * ksoftirqd spins on it until the tick hands the CPU to init; the model's ksoftirqd
 * waits for the next tick instead (its C++ takes no virtual time: it would spin for
 * ever, the host with it). So init's msleep() ends on time, and once init enables the
 * tasklet it runs at ksoftirqd's next round, in ksoftirqd/0, once.
 */
#include "piemu/kernel.h"

static struct tasklet_struct tl;
static volatile int runs;

static void tasklet_fn(unsigned long data) {
    runs++;
    printk(KERN_INFO "tasklet: data 0x%lx, run %d, in %s\n", data, runs, current_comm());
}

int init(void) {
    tasklet_init(&tl, tasklet_fn, 0x7e);
    tasklet_disable(&tl);
    tasklet_schedule(&tl);
    printk(KERN_INFO "init: tasklet scheduled while disabled; sleeping 30 ms\n");
    msleep(30);
    printk(KERN_INFO "init: awake, the tasklet ran %d time(s); enabling it\n", runs);
    tasklet_enable(&tl);
    msleep(20);
    printk(KERN_INFO "init: the tasklet ran %d time(s)\n", runs);
    return runs == 1 ? 0 : 1;
}
