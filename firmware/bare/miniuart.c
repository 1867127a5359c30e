/*
 * miniuart - the AUX mini UART (UART1): polled output, and its interrupt (GPU IRQ 29)
 * driving a transmitter from the "transmit FIFO empty" condition.
 *
 * BCM2835 ARM Peripherals ch. 2 (AUX_IRQ, AUX_ENABLES, AUX_MU_*), ch. 7 (GPU IRQ 29 =
 * "Aux int", pending1 bit 29). Two transcripts: the PL011 report
 * (tests/expected/miniuart.uart) and what the mini UART sent
 * (tests/expected/miniuart.uart1), which piemu writes to --uart1 FILE and tools/qemu-run
 * takes from QEMU's second -serial (--uart1-out FILE).
 *
 * Expected values, and why:
 *  - `AUX_ENABLES=0x00000001` after setting bit 0 (2.1.1: bit 0 enables the mini UART;
 *    QEMU reads 1 always, piemu stores the bit).
 *  - `LSR=0x60`: bit 5 "transmitter empty" (the FIFO can accept a byte) and bit 6
 *    "transmitter idle", no data ready (bit 0), no overrun (2.2.2).
 *  - IER = 0x2 enables the TX interrupt alone: bit 1 in the 16550 order that Linux's
 *    8250 driver, QEMU 7.2 and piemu use (RX bit 0, TX bit 1; the datasheet's AUX_MU_IER
 *    table swaps them, a known erratum: see src/devices/bcm2835_aux.cpp; under QEMU 7.2
 *    IER = 0x1 alone raises nothing with an empty RX FIFO). The TX FIFO is empty, so:
 *      `AUX_IRQ=0x00000001` (mini UART interrupt pending);
 *      `IIR=0xc2`: bits 7:6 read 1 (FIFOs enabled), bits 2:1 = 01 "transmit holding
 *      register empty", bit 0 = 0 "interrupt pending";
 *      `pending1=0x20000000`: GPU IRQ 29 enabled and asserted, with CPSR.I = 1.
 *  - IRQ-driven line: each IRQ writes one byte to AUX_MU_IO; the FIFO is empty again at
 *    once (both emulators send instantly), so the next IRQ follows; after the last byte
 *    the handler writes IER = 0. `tx irqs: 21` = strlen("irq-driven: 17 bytes\n").
 *    After IER = 0: `AUX_IRQ=0x00000000`, `IIR[0]=1` (no interrupt pending),
 *    `pending1=0x00000000`. IIR bits 2:1 are not printed there: the datasheet's
 *    AUX_MU_IIR reads "00 : No interrupts" (0xc1, piemu), QEMU 7.2 keeps reporting 01
 *    "transmit holding register empty" without a pending interrupt (0xc3): QEMU is
 *    wrong there (firmware/README.md).
 *  - The IRQ handler's CPSR/SPSR: mode irq 0x1d2, interrupted svc 0x053, as in every
 *    irq_* image (firmware/README.md).
 *
 * Not checked here (QEMU 7.2 does not model it, so no QEMU comparison): baud rate,
 * LCR/MCR/SCRATCH/CNTL storage, DLAB, STAT, receiving; tests/unit/test_bcm2835_aux.cpp
 * covers those in piemu.
 */
#include <stdint.h>

#include "irq.h"
#include "periph.h"
#include "uart.h"

#define GPU_IRQ_AUX 29u

static const char g_line[] = "irq-driven: 17 bytes\n";

struct irq_record {
    uint32_t cpsr, spsr, aux_irq, iir, pending1;
};

static struct irq_record g_first;
static volatile uint32_t g_irqs;
static volatile uint32_t g_sent;

/* One byte per TX-empty interrupt; after the last, the TX interrupt goes off. */
static void on_irq(uint32_t spsr)
{
    if (g_irqs == 0) {
        g_first.cpsr = read_cpsr();
        g_first.spsr = spsr;
        g_first.aux_irq = aux_rd(AUX_IRQ);
        g_first.iir = aux_rd(AUX_MU_IIR);
        g_first.pending1 = armctrl_rd(ARMCTRL_PENDING1);
    }
    g_irqs++;
    if (g_sent < sizeof g_line - 1)
        aux_wr(AUX_MU_IO, (uint8_t)g_line[g_sent++]);
    if (g_sent == sizeof g_line - 1)
        aux_wr(AUX_MU_IER, 0);
}

static void print_state(const char *label)
{
    uart_printf("%s: AUX_IRQ=0x%08x IIR=0x%02x pending1=0x%08x\n", label, aux_rd(AUX_IRQ),
                aux_rd(AUX_MU_IIR) & 0xFFu, armctrl_rd(ARMCTRL_PENDING1));
}

int main(void)
{
    uart_puts("miniuart: start\n");
    irq_init("miniuart", on_irq, 0);

    miniuart_init();
    uart_printf("AUX_ENABLES=0x%08x LSR=0x%02x\n", aux_rd(AUX_ENABLES) & 1u,
                aux_rd(AUX_MU_LSR) & 0xFFu);
    miniuart_puts("miniuart: polled output on UART1\n");
    uart_printf("LSR after polled output=0x%02x\n", aux_rd(AUX_MU_LSR) & 0xFFu);

    /* The TX-empty interrupt, held off by CPSR.I. */
    armctrl_wr(ARMCTRL_ENABLE1, 1u << GPU_IRQ_AUX);
    aux_wr(AUX_MU_IER, 0x2);
    dsb();
    print_state("IER=0x2, CPSR.I=1");

    uart_puts("unmask\n");
    irq_unmask();
    irq_expect(IRQ_WAIT_UNTIL(g_sent == sizeof g_line - 1), "irq-driven output");
    irq_mask();
    uart_printf("irq 1: mode=%s cpsr[8:0]=0x%03x spsr[8:0]=0x%03x\n", irq_mode_name(g_first.cpsr),
                g_first.cpsr & 0x1FFu, g_first.spsr & 0x1FFu);
    uart_printf("  AUX_IRQ=0x%08x IIR=0x%02x pending1=0x%08x\n", g_first.aux_irq,
                g_first.iir & 0xFFu, g_first.pending1);
    uart_printf("tx irqs: %u, bytes sent: %u\n", g_irqs, g_sent);
    uart_printf("IER=0: AUX_IRQ=0x%08x IIR[0]=%u pending1=0x%08x\n", aux_rd(AUX_IRQ),
                aux_rd(AUX_MU_IIR) & 1u, armctrl_rd(ARMCTRL_PENDING1));

    armctrl_wr(ARMCTRL_DISABLE1, 1u << GPU_IRQ_AUX);
    miniuart_puts("miniuart: done\n");
    return irq_result();
}
