/*
 * hello - the smallest useful piemu test image.
 *
 * Prints a fixed greeting on the PL011 and a line of values computed at run time
 * (a CRC-32 of the greeting, a 64-bit division that goes through libgcc's
 * __aeabi_uldivmod, a sum of primes found with hardware UDIV), then returns 0 from
 * main, which start.S turns into semihosting SYS_EXIT (ApplicationExit).
 *
 * Expected output: tests/expected/hello.uart.
 */
#include <stdint.h>

#include "uart.h"

static const char *const greeting[] = {
    "Hello from piemu's bare-metal test image.",
    "Board: Raspberry Pi 2 (BCM2836), core 0 of 4, SVC mode.",
    "Output: PL011 UART0 at 0x3F201000.",
};

/* Plain bitwise CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320). */
static uint32_t crc32_update(uint32_t crc, const char *s)
{
    for (; *s != '\0'; s++) {
        crc ^= (uint8_t)*s;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

static uint32_t sum_of_primes_below(uint32_t limit)
{
    uint32_t sum = 0;
    for (uint32_t n = 2; n < limit; n++) {
        int prime = 1;
        for (uint32_t d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                prime = 0;
                break;
            }
        }
        if (prime)
            sum += n;
    }
    return sum;
}

int main(void)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned i = 0; i < sizeof greeting / sizeof greeting[0]; i++) {
        uart_puts(greeting[i]);
        uart_putc('\n');
        crc = crc32_update(crc, greeting[i]);
        crc = crc32_update(crc, "\n");
    }
    crc = ~crc;

    /* volatile: keep the 64-bit division at run time (libgcc __aeabi_uldivmod). */
    volatile uint64_t big = 0x0123456789ABCDEFull;
    volatile uint32_t divisor = 1000003u;
    uint64_t q = big / divisor;
    uint32_t r = (uint32_t)(big % divisor);

    uart_printf("crc32(greeting) = 0x%08x\n", crc);
    uart_printf("0x0123456789abcdef / %u = 0x%08x%08x rem %u\n", divisor,
                (uint32_t)(q >> 32), (uint32_t)q, r);
    uart_printf("sum of primes below 1000 = %u\n", sum_of_primes_below(1000));
    uart_printf("printf check: [%d] [%5d] [%03d] [%c] [%s] [%x] [%X] [%%]\n", -42, 7, 5, 'Z',
                "str", 0xbeefu, 0xcafeu);
    uart_puts("hello: done\n");
    return 0;
}
