/*
 * uart_rx - PL011 reception by interrupt, through ARMCTRL (GPU IRQ 57 = bank 2 bit 25).
 *
 * The UART interrupts on RX (FIFO at the IFLS level, 1/8 = 2 characters) and on
 * receive timeout (characters left below the level for 32 bit periods). The handler
 * drains the FIFO; main echoes each line in upper case and stops at "quit". Run with
 * `piemu run uart_rx.elf --uart-input FILE`: the input arrives one character time
 * apart in virtual time, so the transcript (including how many RX and RT interrupts
 * there were) is the same on every run.
 * Expected output: tests/expected/uart_rx.uart for tests/data/uart_rx.in.
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

#define UART_IFLS 0x34u
#define UART_IMSC 0x38u
#define UART_MIS  0x40u
#define UART_ICR  0x44u
#define UART_FR_RXFE (1u << 4)
#define UART_INT_RX  (1u << 4)
#define UART_INT_RT  (1u << 6)
#define UART_GPU_IRQ 57u

static volatile char g_buf[256];
static volatile uint32_t g_head, g_rx_irqs, g_rt_irqs;

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    uint32_t mis = mmio_rd(UART0_BASE + UART_MIS);
    if (mis & UART_INT_RX)
        g_rx_irqs++;
    if (mis & UART_INT_RT)
        g_rt_irqs++;
    while (!(mmio_rd(UART0_BASE + UART_FR) & UART_FR_RXFE)) {
        uint32_t c = mmio_rd(UART0_BASE + UART_DR) & 0xffu;
        if (g_head < sizeof g_buf)
            g_buf[g_head++] = (char)c;
    }
    mmio_wr(UART0_BASE + UART_ICR, UART_INT_RX | UART_INT_RT);
}

int main(void)
{
    uart_puts("uart_rx: start\n");
    irq_init("uart_rx", on_irq, 0);
    mmio_wr(UART0_BASE + UART_IFLS, 0);                      /* RX and TX at 1/8 */
    mmio_wr(UART0_BASE + UART_IMSC, UART_INT_RX | UART_INT_RT);
    armctrl_wr(ARMCTRL_ENABLE2, 1u << (UART_GPU_IRQ - 32));
    irq_unmask();

    uint32_t tail = 0;
    char line[64];
    uint32_t len = 0;
    for (int spins = 0; spins < 2000000; ++spins) {
        if (tail == g_head) {
            wfi();
            continue;
        }
        char c = g_buf[tail++];
        if (c != '\n' && len < sizeof line - 1) {
            line[len++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
            continue;
        }
        line[len] = 0;
        uart_printf("echo: %s\n", line);
        if (len == 4 && line[0] == 'Q' && line[1] == 'U' && line[2] == 'I' && line[3] == 'T')
            break;
        len = 0;
    }
    irq_mask();
    uart_printf("received %u bytes, %u rx and %u receive-timeout interrupts\n", g_head,
                g_rx_irqs, g_rt_irqs);
    return 0;
}
