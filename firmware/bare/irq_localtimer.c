/*
 * irq_localtimer - the BCM2836 local timer (QA7: local timer) as core 0's IRQ.
 *
 * The local timer counts the reload value down in 38.4 MHz steps (both edges of the
 * 19.2 MHz crystal), reloads itself and sets the interrupt flag (control bit 31) at
 * every expiry. With the interrupt enabled (bit 29) the flag drives local source
 * bit 11, routed by LOCAL_TIMER_ROUTE = 0 to core 0's IRQ. Writing bit 31 of the
 * clear register (0x38) clears the flag.
 *
 * Reload 38400 (1 ms). The handler records the IRQ source register and the control
 * register (flag set), clears the flag and records both again (flag clear, source
 * clear); main prints the records. It runs twice: the timer reloads by itself after
 * the first expiry. The second handler turns the timer off after clearing the flag;
 * main then waits 3 ms (three more periods) to show nothing else arrives.
 * Expected output: tests/expected/irq_localtimer.uart (checked in firmware/README.md).
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

#define RELOAD 38400u /* 1 ms at 38.4 MHz */

/* What one handler run saw; main prints it (the handler stays short: well inside one
 * timer period even on the hardware, whose UART is slow). */
struct irq_record {
    uint32_t cpsr, spsr;
    uint32_t source, control;             /* at entry */
    uint32_t source_after, control_after; /* after the flag was cleared */
};

static struct irq_record g_rec[2];
static volatile uint32_t g_irqs;

static void on_irq(uint32_t spsr)
{
    struct irq_record r;
    r.cpsr = read_cpsr();
    r.spsr = spsr;
    r.source = local_rd(LOCAL_IRQ_SOURCE(0));
    r.control = local_rd(LOCAL_TIMER_CONTROL);
    /* Clear the flag only (bit 30 = 0: no restart; the timer has reloaded itself).
     * The control register is written only after this: its bit 31 is read-only on
     * the hardware, but QEMU stores whatever is written there. */
    local_wr(LOCAL_TIMER_CLEAR, LTIMER_FLAG);
    if (g_irqs == 1)
        local_wr(LOCAL_TIMER_CONTROL, RELOAD); /* second expiry: timer and interrupt off */
    dsb();
    r.source_after = local_rd(LOCAL_IRQ_SOURCE(0));
    r.control_after = local_rd(LOCAL_TIMER_CONTROL);
    if (g_irqs < 2)
        g_rec[g_irqs] = r;
    g_irqs++;
}

static void print_record(uint32_t i)
{
    const struct irq_record *r = &g_rec[i];
    uart_printf("irq %u: mode=%s cpsr[8:0]=0x%03x spsr[8:0]=0x%03x\n", i + 1,
                irq_mode_name(r->cpsr), r->cpsr & 0x1FFu, r->spsr & 0x1FFu);
    uart_printf("  core0 irq source=0x%08x (bit 11: %u) control=0x%08x (flag: %u)\n", r->source,
                (r->source >> 11) & 1u, r->control, r->control >> 31);
    uart_printf("  after clear: core0 irq source=0x%08x control=0x%08x (flag: %u)\n",
                r->source_after, r->control_after, r->control_after >> 31);
}

int main(void)
{
    uart_puts("irq_localtimer: start\n");
    irq_init("irq_localtimer", on_irq, 0);
    uart_printf("local timer route=0x%08x\n", local_rd(LOCAL_TIMER_ROUTE));

    irq_unmask();
    local_wr(LOCAL_TIMER_CONTROL, LTIMER_ENABLE | LTIMER_INT_ENABLE | RELOAD);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs >= 2), "two expiries");
    /* Off since the second expiry: nothing more may arrive. */
    irq_expect(irq_delay_us(3000), "delay");
    irq_mask();
    for (uint32_t i = 0; i < g_irqs && i < 2; i++)
        print_record(i);

    uart_printf("control=0x%08x irqs taken: %u\n", local_rd(LOCAL_TIMER_CONTROL), g_irqs);
    return irq_result();
}
