/*
 * semihost - exercises the ARM semihosting calls piemu implements.
 *
 * Calls exercised: SYS_WRITEC, SYS_WRITE0, SYS_OPEN(":tt"), SYS_WRITE, SYS_CLOCK,
 * SYS_TIME, SYS_EXIT_EXTENDED.
 *
 * Text sent through semihosting goes to the emulator's semihosting console (QEMU:
 * its stdout, or the chardev given by -semihosting-config chardev=); every line of it
 * starts with "[semihost] ". What the image observed is reported on the PL011, so
 * the UART transcript (tests/expected/semihost.uart) is the thing to compare.
 *
 * SYS_CLOCK and SYS_TIME values differ between emulators and runs, so only their
 * properties are printed. The image ends with SYS_EXIT_EXTENDED(ApplicationExit, 3):
 * the emulator's exit status must be 3.
 */
#include <stdint.h>

#include "semihost.h"
#include "uart.h"

/* SYS_OPEN mode 4 is fopen's "w"; ":tt" names the console. */
#define OPEN_MODE_W 4u

static const char writec_text[] = "[semihost] SYS_WRITEC one character at a time\n";
static const char write0_text[] = "[semihost] SYS_WRITE0 a NUL-terminated string\n";
static const char write_text[] = "[semihost] SYS_WRITE to the handle of \":tt\"\n";

static uint32_t length(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

int main(void)
{
    uart_puts("semihost: start\n");

    for (const char *p = writec_text; *p != '\0'; p++)
        semihost_writec(*p);
    uart_printf("SYS_WRITEC: sent %u characters\n", length(writec_text));

    semihost_write0(write0_text);
    uart_printf("SYS_WRITE0: sent %u characters\n", length(write0_text));

    /*
     * The semihosting spec has no predefined stdout handle: a program gets one by
     * opening ":tt" (QEMU 7.2 rejects SYS_WRITE to handle 1 and returns the full
     * length). The handle's value is the emulator's choice, so it is not printed.
     */
    int32_t handle = semihost_open(":tt", OPEN_MODE_W);
    uart_printf("SYS_OPEN(\":tt\", \"w\"): handle valid: %s\n", handle != -1 ? "yes" : "no");

    uint32_t len = length(write_text);
    uint32_t not_written = semihost_write((uint32_t)handle, write_text, len);
    uart_printf("SYS_WRITE(\":tt\", %u bytes): returned %u (bytes not written)\n", len,
                not_written);

    int32_t c1 = semihost_clock();
    int32_t c2 = semihost_clock();
    uart_printf("SYS_CLOCK: clock valid: %s\n", (c1 != -1 && c2 != -1) ? "yes" : "no");
    uart_printf("clock monotonic: %s\n", (c1 != -1 && c2 >= c1) ? "yes" : "no");

    int32_t t = semihost_time();
    uart_printf("SYS_TIME: time valid: %s\n", t != -1 ? "yes" : "no");

    uart_puts("semihost: exit via SYS_EXIT_EXTENDED(ApplicationExit, 3)\n");
    semihost_exit_extended(ADP_Stopped_ApplicationExit, 3);
}
