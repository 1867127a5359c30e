/*
 * Experiment 2: irq_handler_entry / irq_handler_exit in ftrace's format.
 *
 * The reference enabled events/irq/irq_handler_entry and irq_handler_exit and read
 * /sys/kernel/debug/tracing/trace; piemu records the same events (--trace, --events
 * irq) and writes the same file. In these 20 ms the mailbox answers this guest's
 * request (IRQ 23, handled in init's context while init waits), arch_timer ticks
 * twice (IRQ 17) and dwc_otg's IRQ 62 runs its three shared actions in list order -
 * dwc_otg and dwc_otg_pcd find nothing (ret=unhandled), dwc_otg_hcd:usb1 handles it -
 * as in the reference's trace.
 */
#include "demo.h"

int init(void) {
    u32 rev = 0;
    int ret = rpi_firmware_property(RPI_FIRMWARE_GET_BOARD_REVISION, &rev, sizeof rev);
    printk(KERN_INFO "demo: board revision 0x%08x (%d bytes)\n", rev, ret);
    msleep(20);
    return 0;
}
