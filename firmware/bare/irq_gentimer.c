/*
 * irq_gentimer - the ARM generic timers (CNTP, CNTV) through the local controller.
 *
 * Path: CNTP (the Non-secure PL1 physical timer) -> CNTPNSIRQ = local source bit 1;
 * CNTV -> CNTVIRQ = bit 3; enabled for core 0 IRQ in LOCAL_TIMER_INT(0) bits 1 and 3.
 *
 * For each timer:
 *  1. TVAL = CNTFRQ / 1000 (1 ms) with CTL = ENABLE: checks that CVAL = counter +
 *     CNTFRQ/1000 at the write. The handler records (main prints) the core 0 IRQ
 *     source register and CTL (ENABLE | ISTATUS), checks counter >= the programmed
 *     CVAL and TVAL <= 0 (TVAL reads CVAL - counter, signed), then sets IMASK:
 *     ISTATUS stays 1, the line drops (source bit clear); then disables the timer.
 *  2. CTL = ENABLE | IMASK: the condition is met (ISTATUS = 1, polled) but no IRQ is
 *     taken and the source bit stays clear; clearing IMASK takes the IRQ at once.
 *
 * CNTFRQ differs between emulators (QEMU 62.5 MHz, piemu and the Pi 19.2 MHz), so no
 * counter value is printed: only flags and comparisons relative to CNTFRQ. CTL is
 * never printed with ENABLE = 0 (ISTATUS is UNKNOWN then).
 * Expected output: tests/expected/irq_gentimer.uart (checked in firmware/README.md).
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

struct gtimer {
    const char *name;
    uint32_t source_bit;
    uint64_t (*count)(void);
    uint64_t (*cval)(void);
    uint32_t (*tval)(void);
    void (*set_tval)(uint32_t);
    uint32_t (*ctl)(void);
    void (*set_ctl)(uint32_t);
};

static const struct gtimer g_timers[2] = {
    {"CNTP", LSRC_CNTPNS, read_cntpct, read_cntp_cval, read_cntp_tval, write_cntp_tval,
     read_cntp_ctl, write_cntp_ctl},
    {"CNTV", LSRC_CNTV, read_cntvct, read_cntv_cval, read_cntv_tval, write_cntv_tval,
     read_cntv_ctl, write_cntv_ctl},
};

/* What one handler run saw; main prints it after the wait. */
struct irq_record {
    const struct gtimer *timer;
    uint32_t cpsr, spsr, source, ctl;
    int cval_reached, cval_unchanged, tval_expired;
    uint32_t ctl_masked, source_masked; /* after setting IMASK */
};

static struct irq_record g_rec;
static volatile uint32_t g_irqs;
/* CVAL as programmed by the last program() call. */
static volatile uint64_t g_cval;

static const char *yes_no(int v)
{
    return v ? "yes" : "no";
}

static void on_irq(uint32_t spsr)
{
    struct irq_record r;
    r.source = local_rd(LOCAL_IRQ_SOURCE(0));
    const struct gtimer *t = (r.source & g_timers[0].source_bit) ? &g_timers[0] : &g_timers[1];
    r.timer = t;
    r.cpsr = read_cpsr();
    r.spsr = spsr;
    r.ctl = t->ctl();
    uint64_t now = t->count();
    r.cval_reached = now >= g_cval;
    r.cval_unchanged = t->cval() == g_cval;
    r.tval_expired = (int32_t)t->tval() <= 0; /* TVAL reads CVAL - count, signed */

    t->set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
    dsb();
    r.ctl_masked = t->ctl();
    r.source_masked = local_rd(LOCAL_IRQ_SOURCE(0));
    t->set_ctl(0);
    g_rec = r;
    g_irqs++;
}

static void print_record(void)
{
    const struct irq_record *r = &g_rec;
    const char *n = r->timer->name;
    uart_printf("irq %u (%s): mode=%s cpsr[8:0]=0x%03x spsr[8:0]=0x%03x\n", g_irqs, n,
                irq_mode_name(r->cpsr), r->cpsr & 0x1FFu, r->spsr & 0x1FFu);
    uart_printf("  core0 irq source=0x%08x %s_CTL=0x%x\n", r->source, n, r->ctl);
    uart_printf("  cval reached: %s, cval unchanged: %s, tval <= 0: %s\n",
                yes_no(r->cval_reached), yes_no(r->cval_unchanged), yes_no(r->tval_expired));
    uart_printf("  IMASK set: %s_CTL=0x%x core0 irq source=0x%08x\n", n, r->ctl_masked,
                r->source_masked);
}

/* Program t for `delay` ticks through TVAL; report whether CVAL = counter + delay at
 * the write (bracketed by counter reads before and after). Returns 1 if so. */
static int program(const struct gtimer *t, uint32_t delay, uint32_t ctl)
{
    uint64_t before = t->count();
    t->set_tval(delay);
    uint64_t after = t->count();
    uint64_t cval = t->cval();
    g_cval = cval;
    t->set_ctl(ctl);
    return cval >= before + delay && cval <= after + delay;
}

static void run_timer(const struct gtimer *t, uint32_t delay)
{
    /* 1. plain expiry */
    uint32_t before = g_irqs;
    int cval_ok = program(t, delay, CNT_CTL_ENABLE);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == before + 1), t->name);
    print_record();
    uart_printf("%s: cval = count + CNTFRQ/1000 at the TVAL write: %s\n", t->name,
                yes_no(cval_ok));

    /* 2. IMASK: condition met, line low */
    before = g_irqs;
    program(t, delay, CNT_CTL_ENABLE | CNT_CTL_IMASK);
    irq_expect(IRQ_WAIT_UNTIL(t->ctl() & CNT_CTL_ISTATUS), "ISTATUS");
    uart_printf("%s with IMASK: %s_CTL=0x%x core0 irq source=0x%08x irqs taken=%u\n", t->name,
                t->name, t->ctl(), local_rd(LOCAL_IRQ_SOURCE(0)), g_irqs - before);
    uart_printf("%s: clear IMASK\n", t->name);
    t->set_ctl(CNT_CTL_ENABLE);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == before + 1), t->name);
    print_record();
}

int main(void)
{
    uart_puts("irq_gentimer: start\n");
    irq_init("irq_gentimer", on_irq, 0);
    uint32_t freq = read_cntfrq();
    uart_printf("CNTFRQ is a multiple of 1000: %s\n", yes_no(freq != 0 && freq % 1000 == 0));

    local_wr(LOCAL_TIMER_INT(0), LSRC_CNTPNS | LSRC_CNTV);
    uart_printf("core0 timer int control=0x%08x\n", local_rd(LOCAL_TIMER_INT(0)));
    irq_unmask();
    for (int i = 0; i < 2; i++)
        run_timer(&g_timers[i], freq / 1000);
    irq_mask();

    local_wr(LOCAL_TIMER_INT(0), 0);
    uart_printf("irqs taken: %u\n", g_irqs);
    return irq_result();
}
