/*
 * bench_mmio - workload 3 of the benchmark suite (tools/bench/run): a polling loop
 * on two devices, as a polled console driver and a mailbox client do it. Not a test.
 *
 * Each of BENCH_MMIO_ITERATIONS iterations makes three device accesses: it reads the
 * PL011 flag register until TXFF is clear (once: the modelled FIFO drains at once),
 * writes one character to the PL011 data register and reads the ARM mailbox 0
 * status (bit 30: empty) as a client polling for the VideoCore's answer would.
 * 64-character lines go out on the UART (1 MB in all); the values read are folded
 * into a checksum printed at the end, the same under every emulator: of FR only the
 * FIFO bits (BUSY, RXFE, TXFF, TXFE), since piemu models the CTS input as asserted
 * (FR bit 0) where QEMU 7.2 models no modem lines.
 */
#include <stdint.h>

#include "periph.h"
#include "uart.h"

#define FR_FIFO_BITS 0xB8u /* TXFE, TXFF, RXFE, BUSY */

#ifndef BENCH_MMIO_ITERATIONS
#define BENCH_MMIO_ITERATIONS 1000000u
#endif

static inline uint32_t rd(uint32_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void wr(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

int main(void)
{
    uint32_t check = 0x811C9DC5u, col = 0;
    for (uint32_t i = 0; i < BENCH_MMIO_ITERATIONS; i++) {
        uint32_t fr;
        while ((fr = rd(UART0_BASE + UART_FR)) & UART_FR_TXFF)
            ;
        uint32_t c = ++col == 64 ? '\n' : 'a' + col % 26;
        if (c == '\n')
            col = 0;
        wr(UART0_BASE + UART_DR, c);
        uint32_t st = rd(MBOX_BASE + MBOX0_STATUS);
        check = (check ^ (fr & FR_FIFO_BITS) ^ st) * 0x01000193u;
    }
    uart_printf("\nbench_mmio: %u iterations, %u device accesses\n",
                (uint32_t)BENCH_MMIO_ITERATIONS, 3u * BENCH_MMIO_ITERATIONS);
    uart_printf("checksum 0x%08x\n", check);
    return 0;
}
