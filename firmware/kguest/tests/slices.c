/*
 * Two normal kernel threads that never sleep share the CPU in time slices of the
 * HZ=100 tick (3 ticks each here); a SCHED_FIFO thread woken meanwhile runs at once
 * and keeps the CPU until it sleeps. The golden trace holds the switches.
 */
#include "common.h"

static volatile u32 spins[2];
static volatile int fifo_ran;

static u32 now_us(void) {
    return readl(SYSTIMER + 0x04);
}

static int spinner(void* data) {
    int id = (int)(long)data;
    u32 end = now_us() + 100000; /* 100 ms of virtual time */
    while ((int)(end - now_us()) > 0)
        spins[id]++;
    return id;
}

static int fifo(void* data) {
    (void)data;
    fifo_ran = 1;
    printk(KERN_INFO "%s: prio 49 runs while the spinners wait\n", current_comm());
    return 0;
}

int init(void) {
    struct task_struct* a = kthread_run(spinner, (void*)0, "spin-a");
    struct task_struct* b = kthread_run(spinner, (void*)1, "spin-b");
    struct task_struct* f = kthread_create(fifo, 0, "fifo");
    sched_setscheduler(f, SCHED_FIFO, 50);
    msleep(45);
    wake_up_process(f);
    printk(KERN_INFO "spin-a %d, spin-b %d, fifo ran %d\n", kthread_stop(a), kthread_stop(b),
           fifo_ran);
    printk(KERN_INFO "both spun: %d\n", spins[0] > 0 && spins[1] > 0);
    return 0;
}
