/*
 * smp - four cores: secondary boot through the local mailboxes, a shared LDREX/STREX
 * counter, each core's own generic-timer interrupts, and mailbox IPIs core to core.
 *
 * 1. Core 0 writes smp_secondary_entry (bare/smp_asm.S) to mailbox 3 of cores 1-3
 *    (0x4000008C + 16 * core, the write-set register) and executes SEV, as Linux's
 *    bcm2836 SMP code does; the firmware (piemu's parked cores, or smp_asm.S's own
 *    loop under QEMU) starts each core there.
 * 2. Each core in turn (a ticket: core n prints when `turn` is n) prints its MPIDR and
 *    its mailbox 3 (read/clear register: 0, the boot loop cleared it).
 * 3. Once all four have arrived, every core runs CNTP (the Non-secure physical
 *    timer) with a period of its own (10 us + core us), unmasks IRQs, and adds 1 to
 *    the shared counter 10,000 times with LDREX/STREX; its handler counts TICKS
 *    ticks and then disables the timer; the core waits (WFI) for its last tick.
 * 4. An IPI ring through mailbox 0: core 0 writes 0x100 to core 1's mailbox 0 (its
 *    mailbox 0 interrupt enabled, LOCAL_MBOX_INT(1) bit 0); each core's handler reads
 *    its IRQ source and the mailbox, acknowledges it (writes the value back to the
 *    read/clear register) and records them; a core that received one sends
 *    0x100 * (core + 2) to the next core, core 3 back to core 0.
 * 5. Core 0 waits until all four are done and prints, per core, the ticks taken and
 *    the IPI received, then the counter: exactly 40000.
 *
 * Nothing printed depends on time or on how the cores interleave: piemu (with any
 * --quantum, with --smp-start all) and QEMU print the same. Waits use WFE (woken by
 * the SEV of the core that made progress) or WFI (woken by the core's interrupt),
 * bounded by IRQ_WAIT_BOUND wake-ups. On a real Pi, LDREX/STREX need the MMU on with
 * Normal shareable memory (Strongly-ordered memory has no global monitor there);
 * emulators accept them with the MMU off, as here.
 * Expected output: tests/expected/smp.uart.
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"
#include "vectors.h"

#define CORES 4
#define INCREMENTS 10000u
#define TICKS 8u

extern const uint8_t irq_vector_table[];
void smp_secondary_entry(void);
void smp_secondary_main(uint32_t core);

/* Per core: IRQ/FIQ, ABT/UND and SVC stacks of 4 KiB (bare/smp_asm.S). */
uint8_t smp_stacks[CORES][3][0x1000] __attribute__((aligned(8)));

static volatile uint32_t g_counter;
static volatile uint32_t g_turn;    /* whose MPIDR line is next */
static volatile uint32_t g_arrived; /* cores past their MPIDR line */
static volatile uint32_t g_done;    /* cores whose part is over */
static volatile uint32_t g_period[CORES];
static volatile uint32_t g_ticks[CORES];
static volatile uint32_t g_ipi_value[CORES];
static volatile uint32_t g_ipi_source[CORES];
static volatile uint32_t g_errors[CORES];

static inline uint32_t this_core(void)
{
    uint32_t mpidr;
    __asm__ volatile("mrc p15, 0, %0, c0, c0, 5" : "=r"(mpidr));
    return mpidr & 3;
}

static inline void sev(void) { __asm__ volatile("dsb\n\tsev" ::: "memory"); }
static inline void wfe(void) { __asm__ volatile("wfe" ::: "memory"); }

/* *p += 1 as one LDREX/STREX pair, retried until the STREX succeeds. */
static inline void atomic_inc(volatile uint32_t *p)
{
    uint32_t value, failed;
    __asm__ volatile("1: ldrex   %0, [%2]\n"
                     "   add     %0, %0, #1\n"
                     "   strex   %1, %0, [%2]\n"
                     "   cmp     %1, #0\n"
                     "   bne     1b"
                     : "=&r"(value), "=&r"(failed)
                     : "r"(p)
                     : "cc", "memory");
}

/* Wait (WFE) until `cond`, at most IRQ_WAIT_BOUND wake-ups; yields `cond`. */
#define WAIT_EVENT(cond)                                                            \
    ({                                                                              \
        uint32_t n_ = 0;                                                            \
        while (!(cond) && ++n_ < IRQ_WAIT_BOUND)                                    \
            wfe();                                                                  \
        (cond);                                                                     \
    })
/* The same with WFI: for what this core's own interrupt handler brings about. */
#define WAIT_IRQ(cond)                                                              \
    ({                                                                              \
        uint32_t n_ = 0;                                                            \
        while (!(cond) && ++n_ < IRQ_WAIT_BOUND)                                    \
            wfi();                                                                  \
        (cond);                                                                     \
    })

static void fail(uint32_t core, const char *what)
{
    atomic_inc(&g_errors[core]);
    (void)what; /* printed by core 0 only, from the counts */
}

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    uint32_t core = this_core();
    uint32_t source = local_rd(LOCAL_IRQ_SOURCE(core));
    if (source & LSRC_CNTPNS) {
        uint32_t n = g_ticks[core] + 1;
        g_ticks[core] = n;
        if (n < TICKS)
            write_cntp_tval(g_period[core]); /* the next tick */
        else
            write_cntp_ctl(0); /* done: the line drops */
    }
    if (source & LSRC_MBOX(0)) {
        uint32_t value = local_rd(LOCAL_MBOX_CLR(core, 0));
        local_wr(LOCAL_MBOX_CLR(core, 0), value); /* acknowledge */
        g_ipi_source[core] = source;
        g_ipi_value[core] = value;
    }
}

/* What every core does once it runs, core 0 included. */
static void core_work(uint32_t core)
{
    uint32_t mpidr;
    __asm__ volatile("mrc p15, 0, %0, c0, c0, 5" : "=r"(mpidr));
    if (!WAIT_EVENT(g_turn == core))
        fail(core, "turn");
    uart_printf("cpu%u: MPIDR=0x%08x mailbox3=0x%08x\n", core, mpidr,
                local_rd(LOCAL_MBOX_CLR(core, 3)));
    g_turn = core + 1;
    atomic_inc(&g_arrived);
    sev();
    if (!WAIT_EVENT(g_arrived == CORES))
        fail(core, "arrival");

    /* This core's timer: CNTP through its CNTPNSIRQ (LOCAL_TIMER_INT(core) bit 1). */
    g_period[core] = read_cntfrq() / 100000u + core * (read_cntfrq() / 1000000u);
    local_wr(LOCAL_TIMER_INT(core), LSRC_CNTPNS);
    local_wr(LOCAL_MBOX_INT(core), 1u << 0); /* mailbox 0 -> IRQ */
    write_cntp_tval(g_period[core]);
    write_cntp_ctl(CNT_CTL_ENABLE);
    irq_unmask();

    for (uint32_t i = 0; i < INCREMENTS; i++)
        atomic_inc(&g_counter);
    if (!WAIT_IRQ(g_ticks[core] == TICKS))
        fail(core, "ticks");

    /* The IPI ring: core 0 starts it; the others pass it on once theirs came. */
    uint32_t next = (core + 1) % CORES;
    if (core != 0 && !WAIT_IRQ(g_ipi_value[core] != 0))
        fail(core, "ipi");
    local_wr(LOCAL_MBOX_SET(next, 0), 0x100u * (core + 1));
    if (core == 0 && !WAIT_IRQ(g_ipi_value[0] != 0))
        fail(core, "ipi");

    irq_mask();
    local_wr(LOCAL_TIMER_INT(core), 0);
    local_wr(LOCAL_MBOX_INT(core), 0);
    atomic_inc(&g_done);
    sev();
}

void smp_secondary_main(uint32_t core)
{
    vectors_install(irq_vector_table); /* VBAR is per core */
    __asm__ volatile("cpsie a" ::: "memory");
    core_work(core);
}

int main(void)
{
    uart_puts("smp: start\n");
    irq_init("smp", on_irq, 0);
    for (uint32_t c = 1; c < CORES; c++) {
        local_wr(LOCAL_MBOX_CLR(c, 0), 0xFFFFFFFFu);
        local_wr(LOCAL_MBOX_SET(c, 3), (uint32_t)smp_secondary_entry);
    }
    sev();
    core_work(0);
    if (!WAIT_EVENT(g_done == CORES))
        fail(0, "done");

    uint32_t errors = 0;
    for (uint32_t c = 0; c < CORES; c++) {
        /* Only the mailbox bits: whether a timer tick came with the IPI is timing. */
        uart_printf("cpu%u: ticks=%u ipi=0x%08x mailbox irq source=0x%08x\n", c, g_ticks[c],
                    g_ipi_value[c], g_ipi_source[c] & (LSRC_MBOX(0) | LSRC_MBOX(1) |
                                                         LSRC_MBOX(2) | LSRC_MBOX(3)));
        errors += g_errors[c];
    }
    uart_printf("counter=%u (expected %u)\n", g_counter, CORES * INCREMENTS);
    if (g_counter != CORES * INCREMENTS)
        errors++;
    if (errors) {
        uart_printf("smp: FAILED (%u errors)\n", errors);
        return 1;
    }
    uart_puts("smp: done\n");
    return 0;
}
