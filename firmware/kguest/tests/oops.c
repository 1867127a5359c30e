/*
 * A guest handler that faults: it reads an address no device claims, which with
 * --strict-mmio is a synchronous external abort. The kernel model takes it through
 * __dabt_svc and do_DataAbort and reports it as the kernel would: "Unable to handle
 * kernel paging request", the Oops with pt_regs, then "Kernel panic - not syncing:
 * Fatal exception in interrupt". Exit status 122.
 */
#include "piemu/kernel.h"

#define SYSTIMER 0x3f003000u

static int dev;

static irqreturn_t faulting_irq(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    return *(volatile u32*)0x50000000u;
}

int init(void) {
    request_irq(31, faulting_irq, 0, "faulty", &dev);
    *(volatile u32*)(SYSTIMER + 0x10) = *(volatile u32*)(SYSTIMER + 0x04) + 100;
    for (;;)
        ;
}
