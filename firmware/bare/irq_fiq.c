/*
 * irq_fiq - FIQ from both interrupt controllers.
 *
 *  1. ARMCTRL: FIQ control = 3 | 0x80 selects GPU IRQ 3 (system timer C3) as the FIQ
 *     source (BCM2835 ARM Peripherals ch. 7, FIQ register); its IRQ enable (enable1 bit 3) stays
 *     clear. The FIQ reaches the local controller's GPU FIQ input, routed to core 0
 *     (LOCAL_GPU_ROUTE bits 3:2 = 0): core 0's FIQ source register shows bit 8. The
 *     FIQ handler runs in FIQ mode with I and F set; the IRQ handler never runs
 *     (IRQ and FIQ are both unmasked). The FIQ handler records what it saw and main
 *     prints it.
 *  2. Local controller: CNTV routed to FIQ (LOCAL_TIMER_INT(0) bit 7), with its IRQ
 *     bit 3 set too: QA7 says the FIQ bit wins, so the FIQ source register shows
 *     bit 3 and the IRQ source register stays 0.
 * Expected output: tests/expected/irq_fiq.uart (checked in firmware/README.md).
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

/* What one FIQ handler run saw; main prints it after the wait. */
struct fiq_record {
    uint32_t cpsr, spsr, fiq_source, irq_source;
    uint32_t basic, pend1, cs; /* GPU FIQ */
    uint32_t cntv_ctl;         /* CNTV FIQ */
    uint32_t fiq_source_after;
};

static struct fiq_record g_rec;
static volatile uint32_t g_irqs;
static volatile uint32_t g_fiqs;

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    g_irqs++;
    /* Silence everything so the image can finish and report. */
    irq_reset_controllers();
}

static void on_fiq(uint32_t spsr)
{
    struct fiq_record r = {0};
    r.cpsr = read_cpsr();
    r.spsr = spsr;
    r.fiq_source = local_rd(LOCAL_FIQ_SOURCE(0));
    r.irq_source = local_rd(LOCAL_IRQ_SOURCE(0));
    if (r.fiq_source & LSRC_GPU) {
        r.basic = armctrl_rd(ARMCTRL_BASIC_PENDING);
        r.pend1 = armctrl_rd(ARMCTRL_PENDING1);
        r.cs = systmr_rd(SYSTMR_CS) & SYSTMR_OURS;
        systmr_wr(SYSTMR_CS, 1u << 3);
    }
    if (r.fiq_source & LSRC_CNTV) {
        r.cntv_ctl = read_cntv_ctl();
        write_cntv_ctl(0);
    }
    dsb();
    r.fiq_source_after = local_rd(LOCAL_FIQ_SOURCE(0));
    g_rec = r;
    g_fiqs++;
}

static void print_record(void)
{
    const struct fiq_record *r = &g_rec;
    uart_printf("fiq %u: mode=%s cpsr[8:0]=0x%03x spsr[8:0]=0x%03x\n", g_fiqs,
                irq_mode_name(r->cpsr), r->cpsr & 0x1FFu, r->spsr & 0x1FFu);
    uart_printf("  core0 fiq source=0x%08x irq source=0x%08x\n", r->fiq_source, r->irq_source);
    if (r->fiq_source & LSRC_GPU)
        uart_printf("  basic pending=0x%08x pending1=0x%08x cs=0x%x\n", r->basic, r->pend1,
                    r->cs);
    if (r->fiq_source & LSRC_CNTV)
        uart_printf("  CNTV_CTL=0x%x\n", r->cntv_ctl);
    uart_printf("  after clear: core0 fiq source=0x%08x\n", r->fiq_source_after);
}

int main(void)
{
    uart_puts("irq_fiq: start\n");
    irq_init("irq_fiq", on_irq, on_fiq);

    /* 1. ARMCTRL FIQ select */
    armctrl_wr(ARMCTRL_FIQ_CONTROL, ARMCTRL_FIQ_ENABLE | 3u);
    uart_printf("fiq control=0x%08x enable1=0x%08x gpu route=0x%08x\n",
                armctrl_rd(ARMCTRL_FIQ_CONTROL), armctrl_rd(ARMCTRL_ENABLE1),
                local_rd(LOCAL_GPU_ROUTE));
    fiq_unmask();
    irq_unmask();
    systmr_wr(SYSTMR_C(3), systmr_rd(SYSTMR_CLO) + 100);
    irq_expect(IRQ_WAIT_UNTIL(g_fiqs == 1), "C3 FIQ");
    print_record();
    armctrl_wr(ARMCTRL_FIQ_CONTROL, 0);

    /* 2. local controller: CNTV, FIQ and IRQ enable both set */
    local_wr(LOCAL_TIMER_INT(0), (LSRC_CNTV << 4) | LSRC_CNTV);
    uart_printf("core0 timer int control=0x%08x\n", local_rd(LOCAL_TIMER_INT(0)));
    write_cntv_tval(read_cntfrq() / 10000); /* 100 us */
    write_cntv_ctl(CNT_CTL_ENABLE);
    irq_expect(IRQ_WAIT_UNTIL(g_fiqs == 2), "CNTV FIQ");
    print_record();
    irq_mask();
    fiq_mask();
    local_wr(LOCAL_TIMER_INT(0), 0);

    uart_printf("fiqs taken: %u, irqs taken: %u\n", g_fiqs, g_irqs);
    return irq_result();
}
