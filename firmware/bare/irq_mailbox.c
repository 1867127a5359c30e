/*
 * irq_mailbox - BCM2836 core 0 mailbox 0 as an IRQ (QA7: mailboxes).
 *
 * Each core has four 32-bit mailboxes: writing the write-set register (0x80 + 16 *
 * core + 4 * n) ORs the value in, writing the read/write-clear register (0xC0 + ...)
 * clears the bits written, reading it returns the mailbox. A non-zero mailbox raises
 * the core's interrupt if enabled in its mailbox interrupt control (0x50 + 4 * core:
 * bits 3:0 IRQ, 7:4 FIQ); the core's IRQ source register shows it in bit 4 + n.
 *
 *  1. With CPSR.I set: two writes to the set register accumulate (OR); the source
 *     register shows bit 4; a partial clear leaves the rest and the line high.
 *  2. Unmasked: the handler records (main prints) the source register and the
 *     mailbox value, clears the mailbox by writing that value to the clear register
 *     and reads it again (0) and the source register (bit 4 dropped).
 *  3. The same for a write of the whole pattern while unmasked.
 * Expected output: tests/expected/irq_mailbox.uart (checked in firmware/README.md).
 */
#include <stdint.h>

#include "irq.h"
#include "uart.h"

#define PATTERN 0xA5C3F00Fu

/* What one handler run saw; main prints it after the wait. */
struct irq_record {
    uint32_t cpsr, spsr, source, value;
    uint32_t value_after, source_after; /* after the write-clear */
};

static struct irq_record g_rec;
static volatile uint32_t g_irqs;

static void on_irq(uint32_t spsr)
{
    struct irq_record r;
    r.cpsr = read_cpsr();
    r.spsr = spsr;
    r.source = local_rd(LOCAL_IRQ_SOURCE(0));
    r.value = local_rd(LOCAL_MBOX_CLR(0, 0));
    local_wr(LOCAL_MBOX_CLR(0, 0), r.value);
    dsb();
    r.value_after = local_rd(LOCAL_MBOX_CLR(0, 0));
    r.source_after = local_rd(LOCAL_IRQ_SOURCE(0));
    g_rec = r;
    g_irqs++;
}

static void print_record(void)
{
    const struct irq_record *r = &g_rec;
    uart_printf("irq %u: mode=%s cpsr[8:0]=0x%03x spsr[8:0]=0x%03x\n", g_irqs,
                irq_mode_name(r->cpsr), r->cpsr & 0x1FFu, r->spsr & 0x1FFu);
    uart_printf("  core0 irq source=0x%08x mailbox0=0x%08x\n", r->source, r->value);
    uart_printf("  cleared: mailbox0=0x%08x (zero: %s) core0 irq source=0x%08x\n",
                r->value_after, r->value_after == 0 ? "yes" : "no", r->source_after);
}

int main(void)
{
    uart_puts("irq_mailbox: start\n");
    irq_init("irq_mailbox", on_irq, 0);

    local_wr(LOCAL_MBOX_INT(0), 1u << 0); /* mailbox 0 -> IRQ */
    uart_printf("core0 mailbox int control=0x%08x mailbox0=0x%08x\n", local_rd(LOCAL_MBOX_INT(0)),
                local_rd(LOCAL_MBOX_CLR(0, 0)));

    /* 1. masked: accumulate, partial clear */
    local_wr(LOCAL_MBOX_SET(0, 0), PATTERN & 0xFFFF0000u);
    local_wr(LOCAL_MBOX_SET(0, 0), PATTERN & 0x0000FFFFu);
    dsb();
    uart_printf("set 0x%08x, set 0x%08x (CPSR.I=1): mailbox0=0x%08x core0 irq source=0x%08x\n",
                PATTERN & 0xFFFF0000u, PATTERN & 0x0000FFFFu, local_rd(LOCAL_MBOX_CLR(0, 0)),
                local_rd(LOCAL_IRQ_SOURCE(0)));
    local_wr(LOCAL_MBOX_CLR(0, 0), 0x0000FFFFu);
    dsb();
    uart_printf("clear 0x0000ffff: mailbox0=0x%08x core0 irq source=0x%08x irqs taken=%u\n",
                local_rd(LOCAL_MBOX_CLR(0, 0)), local_rd(LOCAL_IRQ_SOURCE(0)), g_irqs);

    /* 2. unmask: the remaining bits are taken and cleared by the handler */
    uart_puts("unmask\n");
    irq_unmask();
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == 1), "pending mailbox");
    print_record();

    /* 3. a fresh write while unmasked */
    local_wr(LOCAL_MBOX_SET(0, 0), PATTERN);
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == 2), "mailbox write");
    print_record();
    irq_mask();

    local_wr(LOCAL_MBOX_INT(0), 0);
    uart_printf("irqs taken: %u\n", g_irqs);
    return irq_result();
}
