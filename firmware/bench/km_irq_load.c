/*
 * Benchmark workload (tools/bench/trace-overhead): a tiny guest whose guest handler
 * takes the system timer's match 1 every 100 us (10 000 IRQs per second of virtual
 * time) on top of the HZ=100 tick, while init computes 40 million rounds of an LCG
 * and a normal kernel thread competes for the CPU (time slices). Not a test.
 */
#include "../kguest/tests/common.h"

static int dev;
static volatile u32 irqs, acc, done;

static irqreturn_t load_irq(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    timer_ack();
    timer_in(100);
    irqs++;
    return IRQ_HANDLED;
}

static int competitor(void* data) {
    (void)data;
    u32 x = 0;
    while (!done)
        x += 3;
    acc = x;
    return 0;
}

int init(void) {
    struct task_struct* t = kthread_run(competitor, 0, "competitor");
    u32 x = 1;
    request_irq(IRQ_SYSTIMER_C1, load_irq, 0, "load", &dev);
    timer_in(100);
    for (u32 i = 0; i < 40000000; i++)
        x = x * 1664525u + 1013904223u;
    acc = x;
    done = 1;
    kthread_stop(t);
    printk(KERN_INFO "irqs %u\n", irqs);
    return 0;
}
