/*
 * irq_masking - what masking does to an interrupt, at the core and at ARMCTRL.
 *
 * The interrupt is always system timer C1 (GPU IRQ 1, enable1 bit 1), programmed for
 * CLO + 100 us; the IRQ handler logs "handler" and clears CS bit 1. The order of
 * events is logged (not printed) while it happens and printed afterwards.
 *
 *  1. CPSR.I: raised while I = 1 it stays pending (pending1 bit 1, local GPU source
 *     bit 8); it is taken right after `cpsie i` (+ ISB), before the next statement.
 *  2. ARMCTRL: disabling the line while it is pending removes it from pending1 and
 *     from the core; enabling it again takes it. Enable/disable writes do not nest:
 *     two disables and one enable leave the line enabled.
 *  3. WFI: with I = 0 the IRQ wakes the core and the handler runs before the
 *     instruction after WFI; with I = 1 the pending IRQ still wakes it (ARM ARM
 *     "Wait For Interrupt": a physical IRQ is a WFI wake-up event whatever CPSR.I says) and is
 *     taken only at `cpsie i`. A backup FIQ (CNTP, 20 ms, local timer int control
 *     bit 5) ends a WFI that nothing else would wake; it is never taken normally.
 * Expected output: tests/expected/irq_masking.uart (checked in firmware/README.md).
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

#define C1 (1u << 1)

static volatile uint32_t g_irqs;
static volatile uint32_t g_backup;

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    g_irqs++;
    irq_event("handler");
    systmr_wr(SYSTMR_CS, C1);
    dsb();
}

/* Backup wake-up only. */
static void on_fiq(uint32_t spsr)
{
    (void)spsr;
    g_backup++;
    irq_event("backup FIQ");
    write_cntp_ctl(0);
}

static void arm_c1(void)
{
    systmr_wr(SYSTMR_C(1), systmr_rd(SYSTMR_CLO) + 100);
}

static void show(const char *what)
{
    uart_printf("%s: cs=0x%x pending1=0x%08x core0 irq source=0x%08x enable1=0x%08x "
                "irqs taken=%u\n",
                what, systmr_rd(SYSTMR_CS) & SYSTMR_OURS, armctrl_rd(ARMCTRL_PENDING1),
                local_rd(LOCAL_IRQ_SOURCE(0)), armctrl_rd(ARMCTRL_ENABLE1), g_irqs);
}

static void part_cpsr_i(void)
{
    uart_puts("-- CPSR.I\n");
    arm_c1();
    irq_expect(IRQ_WAIT_UNTIL(systmr_rd(SYSTMR_CS) & C1), "C1 match");
    irq_event("raised");
    show("raised, CPSR.I=1");
    irq_event("still masked");
    irq_event("unmasked");
    irq_unmask();
    irq_event("after");
    irq_mask();
    irq_events_print("order");
}

static void part_armctrl(void)
{
    uart_puts("-- ARMCTRL enable/disable\n");
    arm_c1();
    irq_expect(IRQ_WAIT_UNTIL(systmr_rd(SYSTMR_CS) & C1), "C1 match");
    show("pending, CPSR.I=1");
    armctrl_wr(ARMCTRL_DISABLE1, C1);
    dsb();
    show("disable1 <- 0x2");
    irq_event("disabled");
    irq_unmask();
    irq_expect(irq_delay_us(200), "delay");
    irq_event("200 us unmasked");
    show("after 200 us with CPSR.I=0");
    irq_event("enabled");
    armctrl_wr(ARMCTRL_ENABLE1, C1);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == 2), "re-enabled C1");
    irq_mask();
    irq_events_print("order");

    /* No nesting in the hardware: the last write wins. */
    arm_c1();
    irq_expect(IRQ_WAIT_UNTIL(systmr_rd(SYSTMR_CS) & C1), "C1 match");
    armctrl_wr(ARMCTRL_DISABLE1, C1);
    armctrl_wr(ARMCTRL_DISABLE1, C1);
    armctrl_wr(ARMCTRL_ENABLE1, C1);
    dsb();
    show("disable1 x2, enable1 x1");
    irq_event("unmasked");
    irq_unmask();
    irq_event("after");
    irq_mask();
    irq_events_print("order");
}

/* WFI until `done` or the backup FIQ; bounded against spurious wake-ups too. */
#define WFI_UNTIL(done)                                                             \
    do {                                                                            \
        write_cntp_tval(read_cntfrq() / 50);                                        \
        write_cntp_ctl(CNT_CTL_ENABLE);                                             \
        for (uint32_t n_ = 0; !(done) && g_backup == 0 && n_ < 1000; n_++)          \
            wfi();                                                                  \
        write_cntp_ctl(0);                                                          \
        irq_expect(done, "wfi");                                                    \
    } while (0)

static void part_wfi(void)
{
    uart_puts("-- WFI\n");
    local_wr(LOCAL_TIMER_INT(0), LSRC_CNTPNS << 4); /* backup: CNTP -> FIQ */
    fiq_unmask();

    uint32_t before = g_irqs;
    arm_c1();
    irq_unmask();
    irq_event("wfi (CPSR.I=0)");
    WFI_UNTIL(g_irqs != before);
    irq_event("woke");
    irq_mask();
    irq_events_print("order");

    before = g_irqs;
    arm_c1();
    irq_event("wfi (CPSR.I=1)");
    WFI_UNTIL(systmr_rd(SYSTMR_CS) & C1);
    irq_event("woke");
    show("woke with CPSR.I=1");
    irq_event("unmasked");
    irq_unmask();
    irq_event("after");
    irq_mask();
    irq_events_print("order");

    fiq_mask();
    local_wr(LOCAL_TIMER_INT(0), 0);
}

int main(void)
{
    uart_puts("irq_masking: start\n");
    irq_init("irq_masking", on_irq, on_fiq);
    armctrl_wr(ARMCTRL_ENABLE1, C1);

    part_cpsr_i();
    part_armctrl();
    part_wfi();

    armctrl_wr(ARMCTRL_DISABLE1, C1);
    uart_printf("irqs taken: %u, backup fiqs: %u\n", g_irqs, g_backup);
    return irq_result();
}
