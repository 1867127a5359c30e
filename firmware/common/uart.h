/*
 * uart.h - polled output on the BCM2835/6/7 PL011 (UART0) for piemu test images.
 *
 * The PL011 sits at 0x3F201000 on the BCM2836/BCM2837 (bus address 0x7E201000).
 * Output only, polled: wait while FR.TXFF (bit 5) is set, then write DR. No setup
 * is done: QEMU and piemu transmit without it, and on a real Pi the firmware has
 * already enabled the UART. "\n" is sent as "\n" alone (no CR is added), so the
 * captured bytes equal the text in tests/expected/ exactly.
 */
#ifndef PIEMU_FW_UART_H
#define PIEMU_FW_UART_H

#include <stdint.h>

#define UART0_BASE 0x3F201000u
#define UART_DR    0x00u   /* data register, write = transmit */
#define UART_FR    0x18u   /* flag register, read only */
#define UART_FR_TXFF (1u << 5) /* transmit FIFO full */

/// Send one byte.
void uart_putc(char c);

/// Send a NUL-terminated string.
void uart_puts(const char *s);

/// Send "0x%08x".
void uart_put_hex32(uint32_t v);

/// Minimal printf: %s %c %d %u %x %X %p %%, an optional '0' flag and width
/// (e.g. %08x), and the 'l' length modifier (ignored: int and long are 32 bits).
/// Returns the number of bytes sent.
/// NOTE: no format attribute on purpose: arm-none-eabi's uint32_t is `unsigned long`,
/// and every integer argument here is 32 bits whichever spelling it has.
int uart_printf(const char *fmt, ...);

#endif /* PIEMU_FW_UART_H */
