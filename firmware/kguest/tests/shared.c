/*
 * A line shared by a built-in driver and two guest handlers: the PL011's IRQ 87,
 * requested at boot by uart-pl011 (IRQF_SHARED). With UART input attached, each RX
 * interrupt runs the three actions in registration order; the first guest handler
 * says IRQ_NONE, the second IRQ_HANDLED (the golden trace shows each ret=).
 */
#include "piemu/kernel.h"

#define IRQ_UART 87

static int dev_a, dev_b;
static volatile int b_calls;

static irqreturn_t km_a(int irq, void* dev_id) {
    printk(KERN_INFO "km_a: irq %d dev_id %s, returns IRQ_NONE\n", irq,
           dev_id == &dev_a ? "&dev_a" : "?");
    return IRQ_NONE;
}

static irqreturn_t km_b(int irq, void* dev_id) {
    printk(KERN_INFO "km_b: irq %d dev_id %s, returns IRQ_HANDLED\n", irq,
           dev_id == &dev_b ? "&dev_b" : "?");
    b_calls++;
    return IRQ_HANDLED;
}

int init(void) {
    printk(KERN_INFO "request_irq a = %d\n",
           request_irq(IRQ_UART, km_a, IRQF_SHARED, "km-a", &dev_a));
    printk(KERN_INFO "request_irq b = %d\n",
           request_irq(IRQ_UART, km_b, IRQF_SHARED, "km-b", &dev_b));
    while (b_calls < 1)
        msleep(10);
    return 0;
}
