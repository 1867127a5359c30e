/*
 * irq_systimer - BCM2835 system timer matches through ARMCTRL to the IRQ vector.
 *
 * Path: system timer compare 1 and 3 -> GPU IRQ 1 and 3 -> ARMCTRL (enable1 bits 1
 * and 3) -> local controller GPU input (routed to core 0: LOCAL_GPU_ROUTE = 0) ->
 * core 0 IRQ. The handler records what every register on that path shows, then
 * clears the match flag in CS, which drops the line, and records them again; main
 * prints the records once the interrupts it waits for have been taken.
 *
 *  1. C3 is programmed first (CLO + 1100 us), then C1 (CLO + 100 us): the interrupts
 *     arrive in match-time order, C1 then C3, each seen alone in pending1.
 *  2. With line 3 disabled at ARMCTRL, a C3 match sets CS bit 3 but raises no IRQ
 *     (pending1 shows only enabled lines); enabling the line takes it at once.
 *
 * Nothing printed depends on time: no counter values, only flags and the order of
 * events. Expected output: tests/expected/irq_systimer.uart (checked in
 * firmware/README.md).
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

/* What one IRQ handler invocation saw; printed by main afterwards, so that the
 * handler's duration does not depend on the UART (115200 baud on the hardware). */
struct irq_record {
    uint32_t cpsr, spsr;
    uint32_t source, basic, pend1, cs;             /* at entry */
    uint32_t cs_after, pend1_after, source_after; /* after clearing CS */
};

#define MAX_RECORDS 4
static struct irq_record g_rec[MAX_RECORDS];
static volatile uint32_t g_irqs;
static uint32_t g_printed;

static void on_irq(uint32_t spsr)
{
    struct irq_record r;
    r.cpsr = read_cpsr();
    r.spsr = spsr;
    r.source = local_rd(LOCAL_IRQ_SOURCE(0));
    r.basic = armctrl_rd(ARMCTRL_BASIC_PENDING);
    r.pend1 = armctrl_rd(ARMCTRL_PENDING1);
    r.cs = systmr_rd(SYSTMR_CS) & SYSTMR_OURS;
    if (r.pend1 & (1u << 1))
        irq_event("C1");
    if (r.pend1 & (1u << 3))
        irq_event("C3");
    /* Acknowledge at the source: CS is write-1-to-clear. */
    systmr_wr(SYSTMR_CS, r.pend1 & SYSTMR_OURS);
    dsb();
    r.cs_after = systmr_rd(SYSTMR_CS) & SYSTMR_OURS;
    r.pend1_after = armctrl_rd(ARMCTRL_PENDING1);
    r.source_after = local_rd(LOCAL_IRQ_SOURCE(0));
    if (g_irqs < MAX_RECORDS)
        g_rec[g_irqs] = r;
    g_irqs++;
}

/* Print the records of the handler runs not printed yet. */
static void print_records(void)
{
    for (; g_printed < g_irqs && g_printed < MAX_RECORDS; g_printed++) {
        const struct irq_record *r = &g_rec[g_printed];
        uart_printf("irq %u: mode=%s cpsr[8:0]=0x%03x spsr[8:0]=0x%03x\n", g_printed + 1,
                    irq_mode_name(r->cpsr), r->cpsr & 0x1FFu, r->spsr & 0x1FFu);
        uart_printf("  core0 irq source=0x%08x basic pending=0x%08x pending1=0x%08x cs=0x%x\n",
                    r->source, r->basic, r->pend1, r->cs);
        uart_printf("  after CS clear: cs=0x%x pending1=0x%08x source=0x%08x\n", r->cs_after,
                    r->pend1_after, r->source_after);
    }
}

int main(void)
{
    uart_puts("irq_systimer: start\n");
    irq_init("irq_systimer", on_irq, 0);
    uart_printf("gpu route=0x%08x\n", local_rd(LOCAL_GPU_ROUTE));

    /* 1. two matches, programmed in the opposite order of their match times */
    armctrl_wr(ARMCTRL_ENABLE1, (1u << 1) | (1u << 3));
    uart_printf("enable1=0x%08x\n", armctrl_rd(ARMCTRL_ENABLE1));
    irq_unmask();
    uint32_t now = systmr_rd(SYSTMR_CLO);
    systmr_wr(SYSTMR_C(3), now + 1100);
    systmr_wr(SYSTMR_C(1), now + 100);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs >= 2), "C1 and C3");
    print_records();
    irq_events_print("order");

    /* 2. a match on a disabled line: pending at the source only */
    armctrl_wr(ARMCTRL_DISABLE1, 1u << 3);
    uart_printf("disable1 <- 0x8: enable1=0x%08x\n", armctrl_rd(ARMCTRL_ENABLE1));
    uint32_t before = g_irqs;
    systmr_wr(SYSTMR_C(3), systmr_rd(SYSTMR_CLO) + 100);
    irq_expect(IRQ_WAIT_UNTIL(systmr_rd(SYSTMR_CS) & (1u << 3)), "C3 match");
    irq_expect(irq_delay_us(200), "delay");
    uart_printf("C3 matched, line disabled: cs=0x%x basic pending=0x%08x pending1=0x%08x "
                "source=0x%08x irqs taken=%u\n",
                systmr_rd(SYSTMR_CS) & SYSTMR_OURS, armctrl_rd(ARMCTRL_BASIC_PENDING),
                armctrl_rd(ARMCTRL_PENDING1), local_rd(LOCAL_IRQ_SOURCE(0)),
                g_irqs - before);
    uart_puts("enable1 <- 0x8\n");
    armctrl_wr(ARMCTRL_ENABLE1, 1u << 3);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == before + 1), "re-enabled C3");
    print_records();
    irq_events_print("order");

    irq_mask();
    armctrl_wr(ARMCTRL_DISABLE1, (1u << 1) | (1u << 3));
    uart_printf("irqs taken: %u\n", g_irqs);
    return irq_result();
}
