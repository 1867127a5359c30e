/*
 * sdhci - the SD card through the Arasan EMMC (SDHCI) controller at 0x3F300000:
 * version and capabilities, present state, a command timeout, then sd_exercise().
 * QEMU's raspi2b puts its -drive if=sd card on this host by default; piemu needs
 * --sd-host sdhci. The card is a fresh 4 GiB image (tests: PIEMU_FIRMWARE_SD_sdhci).
 * Expected output: tests/expected/sdhci.uart.
 */
#include "sd_exercise.h"
#include "uart.h"

int main(void) {
    uart_puts("sdhci: start\n");
    uint32_t ver = sdhci_version();
    uart_printf("sdhci: SLOTISR_VER 0x%08x: spec version %u (3.00), vendor 0x%02x\n", ver,
                (ver >> 16) & 0xff, ver >> 24);
    uart_printf("sdhci: capabilities 0x%08x\n", sdhci_capabilities());
    uart_printf("sdhci: present state 0x%08x (card inserted, stable, writable)\n", sdhci_status());
    if (sd_sdhci.init()) {
        uart_puts("sdhci: controller reset failed\n");
        return 1;
    }
    uint32_t resp[4];
    int r = sd_sdhci.cmd(5, 0, SD_RESP_48, resp); /* SDIO only: no answer */
    /* Error bits only: QEMU also sets Command Complete with the timeout. */
    uart_printf("sdhci: CMD5: %s, INTERRUPT error bits 0x%08x (error, command timeout)\n",
                r ? "no response" : "answered", sdhci_last_error() & 0xffff8000u);
    int failures = sd_exercise(&sd_sdhci);
    uart_printf("sdhci: done, %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
