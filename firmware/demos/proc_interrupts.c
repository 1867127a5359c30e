/*
 * Experiment 1: /proc/interrupts on a Pi 3.
 *
 * The built-in drivers probe as Raspbian 4.14 does on a Pi 3 (arch_timer, the
 * mailbox, VCHIQ, DMA, the AUX block, dwc_otg with its FIQ, both SD hosts, the PL011),
 * so their lines are in the table from the start. This guest then keeps them busy
 * for three seconds of virtual time, the way a booted system is: it asks the
 * firmware for its revision through the mailbox every 50 ms (IRQ 23) and reads a
 * block of the SD card every 100 ms (mmc0, IRQ 86). Meanwhile arch_timer ticks at
 * HZ=100 (IRQ 17), dwc_otg's FIQ serves the USB start-of-frame 8000 times a second
 * and hands the root hub's work to IRQ 62. Run it with --dump-interrupts and compare
 * the table with the reference in shared/reference/linux-irq-facts.md.
 */
#include "demo.h"

static unsigned char block[512];

int init(void) {
    int reads = 0, calls = 0;

    printk(KERN_INFO "demo: 3 s of mailbox calls (every 50 ms) and SD reads (every 100 ms)\n");
    for (int ms = 0; ms < 3000; ms += 50) {
        u32 rev = 0;
        if (rpi_firmware_property(RPI_FIRMWARE_GET_FIRMWARE_REVISION, &rev, sizeof rev) > 0)
            calls++;
        if (ms % 100 == 0 && piemu_mmc_read(0, (u32)ms / 100, 1, block) == 512)
            reads++;
        msleep(50);
    }
    printk(KERN_INFO "demo: %d mailbox calls answered, %d blocks read from mmc0\n", calls, reads);
    return 0;
}
