/*
 * Experiment 7: sleeping in a handler.
 *
 * A hard interrupt handler runs in atomic context: preempt_count holds
 * HARDIRQ_OFFSET, and there is no task to put to sleep - the interrupted one is not
 * its to give away. msleep() in a handler reaches schedule(), which disables
 * preemption (+1) before its schedule_debug() sees a count other than that and
 * prints the kernel's "BUG: scheduling while atomic: <comm>/<pid>/<preempt_count>"
 * with the call chain: 0x00010001 here, as in the reference ("BUG: scheduling while
 * atomic: InputReader/1039/0x00010001", __schedule_bug <- __schedule <- schedule <-
 * schedule_timeout ...). The kernel goes on (in piemu the handler does not sleep);
 * with --panic-on-bug piemu stops at the first one
 * (status 122). The second case is mutex_lock() with interrupts off: "BUG: sleeping
 * function called from invalid context".
 */
#include "demo.h"

static int mydev;
static volatile int fired;
static DEFINE_MUTEX(lock);

static irqreturn_t sleepy_handler(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    if (!timer_ack())
        return IRQ_NONE;
    fired++;
    msleep(1); /* wrong: a handler must not sleep */
    return IRQ_HANDLED;
}

int init(void) {
    request_irq(IRQ_SYSTIMER_C1, sleepy_handler, 0, "demo-sleepy", &mydev);
    timer_in(100);
    while (!fired)
        ;
    printk(KERN_INFO "demo: the handler returned; init goes on\n");

    local_irq_disable();
    mutex_lock(&lock); /* may sleep: wrong with interrupts off */
    mutex_unlock(&lock);
    local_irq_enable();
    free_irq(IRQ_SYSTIMER_C1, &mydev);
    return 0;
}
