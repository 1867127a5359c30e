/*
 * watchdog - a full reset through the BCM2835 PM watchdog, as Linux's
 * bcm2835_restart() does it: PM_WDOG = 10 ticks, PM_RSTC = FULL_RESET, both with the
 * 0x5a password. A boot counter in RAM outside the image survives the reset (RAM is
 * not cleared, the image is loaded again), so the transcript shows each boot.
 *
 * piemu ends the run at the reset (status 0, like QEMU's -no-reboot) unless given
 * --reboot, which restarts the guest: the third boot exits through semihosting.
 * Expected output (with --reboot): tests/expected/watchdog.uart.
 */
#include <stdint.h>

#include "uart.h"

#define BOOT_COUNT   ((volatile uint32_t *)0x00100000u) /* RAM the image does not load */
#define BOOT_MAGIC   ((volatile uint32_t *)0x00100004u)
#define PM_BASE      0x3F100000u
#define PM_RSTC      (*(volatile uint32_t *)(PM_BASE + 0x1c))
#define PM_WDOG      (*(volatile uint32_t *)(PM_BASE + 0x24))
#define PM_PASSWORD  0x5a000000u
#define PM_RSTC_WRCFG_FULL_RESET 0x00000020u

int main(void)
{
    if (*BOOT_MAGIC != 0x600dbee5u) { /* the first boot: RAM is whatever it is */
        *BOOT_MAGIC = 0x600dbee5u;
        *BOOT_COUNT = 0;
    }
    uint32_t n = ++*BOOT_COUNT;
    uart_printf("watchdog: boot %u\n", n);
    if (n >= 3) {
        uart_puts("watchdog: done\n");
        return 0;
    }
    uart_puts("watchdog: full reset in 10 ticks\n");
    PM_WDOG = PM_PASSWORD | 10;
    PM_RSTC = PM_PASSWORD | PM_RSTC_WRCFG_FULL_RESET;
    for (uint32_t spins = 0; spins < 100000000u; ++spins)
        __asm__ volatile("" ::: "memory");
    uart_puts("watchdog: timeout\n");
    return 1;
}
