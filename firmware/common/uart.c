/*
 * uart.c - polled PL011 output (see uart.h).
 */
#include "uart.h"

#include <stdarg.h>

static inline uint32_t mmio_read(uint32_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

void uart_putc(char c)
{
    while (mmio_read(UART0_BASE + UART_FR) & UART_FR_TXFF)
        ;
    mmio_write(UART0_BASE + UART_DR, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s != '\0')
        uart_putc(*s++);
}

void uart_put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    uart_putc('0');
    uart_putc('x');
    for (int shift = 28; shift >= 0; shift -= 4)
        uart_putc(digits[(v >> shift) & 0xf]);
}

/* Emit `digits` (most significant first, count n) padded to width. */
static int emit_padded(const char *digits, int n, int neg, int width, char pad)
{
    int sent = 0;
    int len = n + (neg ? 1 : 0);
    if (neg && pad == '0') {
        uart_putc('-');
        sent++;
    }
    for (; len < width; len++, sent++)
        uart_putc(pad);
    if (neg && pad != '0') {
        uart_putc('-');
        sent++;
    }
    for (int i = 0; i < n; i++, sent++)
        uart_putc(digits[i]);
    return sent;
}

static int emit_unsigned(uint32_t v, unsigned base, int upper, int neg, int width, char pad)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[11];
    char out[11];
    int n = 0;
    do {
        rev[n++] = set[v % base];
        v /= base;
    } while (v != 0);
    for (int i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return emit_padded(out, n, neg, width, pad);
}

int uart_printf(const char *fmt, ...)
{
    va_list ap;
    int sent = 0;
    va_start(ap, fmt);
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            uart_putc(*p);
            sent++;
            continue;
        }
        p++;
        char pad = ' ';
        int width = 0;
        if (*p == '0') {
            pad = '0';
            p++;
        }
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        while (*p == 'l')
            p++;
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == 0)
                s = "(null)";
            int n = 0;
            while (s[n] != '\0')
                n++;
            for (int i = n; i < width; i++, sent++)
                uart_putc(' ');
            uart_puts(s);
            sent += n;
            break;
        }
        case 'c':
            uart_putc((char)va_arg(ap, int));
            sent++;
            break;
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            uint32_t mag = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
            sent += emit_unsigned(mag, 10, 0, v < 0, width, pad);
            break;
        }
        case 'u':
            sent += emit_unsigned(va_arg(ap, uint32_t), 10, 0, 0, width, pad);
            break;
        case 'x':
        case 'X':
            sent += emit_unsigned(va_arg(ap, uint32_t), 16, *p == 'X', 0, width, pad);
            break;
        case 'p':
            uart_put_hex32((uint32_t)(uintptr_t)va_arg(ap, void *));
            sent += 10;
            break;
        case '%':
            uart_putc('%');
            sent++;
            break;
        case '\0':
            p--; /* a lone '%' at the end: stop after it */
            break;
        default: /* unknown conversion: echo it */
            uart_putc('%');
            uart_putc(*p);
            sent += 2;
            break;
        }
    }
    va_end(ap);
    return sent;
}
