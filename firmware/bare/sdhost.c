/*
 * sdhost - the SD card through the BCM2835 SDHOST controller at 0x3F202000, with the
 * same card test as the sdhci image (sd_exercise()). QEMU moves its card here when
 * GPIO 48-53 are switched to ALT0, which the image does first; piemu needs
 * --sd-host sdhost (the default). The card is a fresh 4 GiB image (tests:
 * PIEMU_FIRMWARE_SD_sdhost). Expected output: tests/expected/sdhost.uart.
 */
#include "sd_exercise.h"
#include "uart.h"

int main(void) {
    uart_puts("sdhost: start\n");
    sd_select_sdhost();
    uart_printf("sdhost: SDHCI present state now 0x%08x (no card)\n", sdhci_status());
    int failures = sd_exercise(&sd_sdhost);
    uart_printf("sdhost: done, %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
