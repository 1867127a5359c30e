/*
 * Experiment 3: which handler serves which IRQ.
 *
 * Two views. The function tracer (--trace-functions) shows each handler called from
 * __handle_irq_event_percpu, as the reference's "bcm2835_mbox_irq
 * <-__handle_irq_event_percpu". And the reference's irq_desc debug patch printed,
 * for a line, its name, dev_id and handler ("irq num: 62 name:  dwc_otg ...
 * interrupt handler: dwc_otg_common_irq+0x0/0x28"); this guest asks genirq for the
 * same through piemu_irq_desc() and prints it in that format, for the built-in
 * drivers' lines and for a handler of its own.
 */
#include "demo.h"

static int mydev;

static irqreturn_t demo_handler(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    return timer_ack() ? IRQ_HANDLED : IRQ_NONE;
}

static void show(unsigned int irq) {
    struct piemu_irq_desc_info d;

    if (piemu_irq_desc(irq, &d) != 0) {
        printk(KERN_INFO "[+] irq num: %u: no such irq\n", irq);
        return;
    }
    printk(KERN_INFO "[+] irq num: %u name:  %s\n", d.irq, d.name);
    printk(KERN_INFO "[+]   hwirq %u chip %s flow %s, %u action(s), count %u\n", d.hwirq, d.chip,
           d.flow, d.nr_actions, d.count);
    if (d.handler) /* a guest handler: its address, symbolised by %pS */
        printk(KERN_INFO "[+]   dev_id:0x%08x interrupt handler: %pS\n", d.dev_id,
               (void*)d.handler);
    else
        printk(KERN_INFO "[+]   interrupt handler: %s\n", d.handler_sym);
}

int init(void) {
    u32 rev = 0;

    request_irq(IRQ_SYSTIMER_C1, demo_handler, IRQF_SHARED, "demo", &mydev);
    timer_in(100);
    rpi_firmware_property(RPI_FIRMWARE_GET_BOARD_REVISION, &rev, sizeof rev);
    msleep(10);
    show(17);
    show(23);
    show(62);
    show(IRQ_SYSTIMER_C1);
    free_irq(IRQ_SYSTIMER_C1, &mydev);
    return 0;
}
