/*
 * Experiment 4: in_interrupt() and preempt_count, inside a handler and outside.
 *
 * preempt_count lives in thread_info at the base of the current task's 8 KiB kernel
 * stack; in_interrupt() is its hardirq, softirq and NMI bits. irq_enter() adds
 * HARDIRQ_OFFSET (0x00010000) before the handlers run and irq_exit() takes it off;
 * __do_softirq() adds SOFTIRQ_OFFSET (0x100) while softirqs run; preempt_disable()
 * adds 1. The reference printed the first of these lines from bcm2835_sdhost_irq:
 * "[+] in_interrupt: 0x00010000,preempt_count = 0x00010000, stack=0x80c00000".
 * Note the stack: the handler runs on the interrupted task's stack (ARM Linux has
 * no separate IRQ stack in 4.14), so it is init's.
 */
#include "demo.h"

static int mydev;
static volatile int fired;

static void show(const char* where) {
    printk(KERN_INFO "[+] %-28s in_interrupt: 0x%08x,preempt_count = 0x%08x, stack=0x%08x\n", where,
           in_interrupt(), preempt_count(), (u32)current_thread_info());
}

static void demo_softirq(void) {
    show("softirq (irq_exit):");
}

static irqreturn_t demo_irq(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    if (!timer_ack())
        return IRQ_NONE;
    fired++;
    show(fired == 1 ? "hard handler:" : "hard handler, preempt off:");
    if (fired == 1)
        raise_softirq(NET_RX_SOFTIRQ); /* runs on irq_exit() */
    return IRQ_HANDLED;
}

int init(void) {
    open_softirq(NET_RX_SOFTIRQ, demo_softirq);
    request_irq(IRQ_SYSTIMER_C1, demo_irq, 0, "demo", &mydev);

    show("init (process context):");
    timer_in(100);
    while (fired < 1) /* IRQs on: the interrupt arrives while init spins */
        ;

    preempt_disable();
    show("init, preempt_disable():");
    timer_in(100);
    while (fired < 2)
        ;
    preempt_enable();

    local_bh_disable();
    show("init, local_bh_disable():");
    local_bh_enable();
    free_irq(IRQ_SYSTIMER_C1, &mydev);
    return 0;
}
