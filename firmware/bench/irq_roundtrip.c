/*
 * bench_irq - workload 2 of the benchmark suite (tools/bench/run): 200,000 system
 * timer interrupts, each taken by a bare-metal handler through the image's own
 * vector table (bare/irq_vectors.S). Not a test.
 *
 * Path of each interrupt: system timer compare 1 -> GPU IRQ 1 -> ARMCTRL (enable1
 * bit 1) -> local controller (GPU IRQ routed to core 0) -> core 0 IRQ. main sleeps in
 * WFI between interrupts; the handler reads the controllers' pending registers (as
 * a dispatcher would), acknowledges the match in CS and arms the next one
 * BENCH_IRQ_PERIOD_US microseconds after the counter's current value. Every
 * interrupt is therefore one wake from WFI, one exception entry and return, and six
 * device accesses; the idle gap between them is free under piemu and under QEMU with
 * -icount sleep=off, and real time (2 us) under QEMU without -icount.
 *
 * Prints the count and a checksum of what the handler read, the same under every
 * emulator, and returns 0 if every interrupt came from compare 1.
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

#ifndef BENCH_IRQS
#define BENCH_IRQS 200000u
#endif
#define BENCH_IRQ_PERIOD_US 2u

static volatile uint32_t g_irqs;
static uint32_t g_check = 0x811C9DC5u;
static uint32_t g_bad;

/* Arms compare 1 `BENCH_IRQ_PERIOD_US` from now; again if the counter passed it
 * meanwhile (a 32-bit compare would otherwise match only after the counter wraps). */
static void arm_next(void)
{
    uint32_t next;
    do {
        next = systmr_rd(SYSTMR_CLO) + BENCH_IRQ_PERIOD_US;
        systmr_wr(SYSTMR_C(1), next);
    } while ((int32_t)(systmr_rd(SYSTMR_CLO) - next) >= 0);
}

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    uint32_t source = local_rd(LOCAL_IRQ_SOURCE(0));
    uint32_t pend1 = armctrl_rd(ARMCTRL_PENDING1);
    if (!(source & LSRC_GPU) || !(pend1 & (1u << 1)))
        g_bad++;
    g_check = (g_check ^ source ^ pend1) * 0x01000193u;
    systmr_wr(SYSTMR_CS, 1u << 1);
    if (++g_irqs < BENCH_IRQS)
        arm_next();
}

int main(void)
{
    irq_init("bench_irq", on_irq, 0);
    armctrl_wr(ARMCTRL_ENABLE1, 1u << 1);
    arm_next();
    /* WFI with IRQs masked wakes on a pending IRQ all the same; the unmask takes it.
     * Checking the count with IRQs masked leaves no window in which the last
     * interrupt could be taken between the check and the WFI. */
    while (g_irqs < BENCH_IRQS) {
        wfi();
        irq_unmask();
        irq_mask();
    }
    armctrl_wr(ARMCTRL_DISABLE1, 1u << 1);
    uart_printf("bench_irq: %u system timer interrupts\n", g_irqs);
    uart_printf("checksum 0x%08x\n", g_check);
    if (g_bad)
        uart_printf("bench_irq: %u interrupts not from compare 1\n", g_bad);
    return g_bad ? 1 : 0;
}
