/*
 * irq.c - runtime of the interrupt test images (see irq.h).
 *
 * The vector table itself is bare/irq_vectors.S: its IRQ and FIQ entries save the
 * caller-saved registers and call irq_c_irq / irq_c_fiq below with the SPSR; every
 * other vector calls irq_c_unexpected, which reports and exits 1.
 */
#include "irq.h"

#include "semihost.h"
#include "uart.h"
#include "vectors.h"

extern const uint8_t irq_vector_table[];

static const char *g_name = "irq";
static irq_handler_t g_irq;
static irq_handler_t g_fiq;
volatile uint32_t irq_errors;

#define EVENT_MAX 16
static const char *volatile g_events[EVENT_MAX];
static volatile uint32_t g_event_count;

const char *irq_mode_name(uint32_t psr)
{
    switch (psr & PSR_MODE_MASK) {
    case 0x10: return "usr";
    case 0x11: return "fiq";
    case 0x12: return "irq";
    case 0x13: return "svc";
    case 0x17: return "abt";
    case 0x1a: return "hyp";
    case 0x1b: return "und";
    case 0x1f: return "sys";
    default: return "???";
    }
}

static const char *const kind_name[] = {"Reset", "UND", "SVC", "PABT", "DABT", "HYP", "IRQ",
                                        "FIQ"};

/// Called by bare/irq_vectors.S for every exception the image does not expect, in
/// that exception's mode. Never returns.
__attribute__((noreturn)) void irq_c_unexpected(uint32_t kind, uint32_t spsr, uint32_t lr,
                                                uint32_t cpsr)
{
    uart_printf("UNEXPECTED %s: CPSR=0x%08x LR=0x%08x SPSR=0x%08x\n", kind_name[kind & 7],
                cpsr, lr, spsr);
    uart_printf("%s: FAILED\n", g_name);
    semihost_exit_extended(ADP_Stopped_ApplicationExit, 1);
}

/// IRQ vector entry (IRQ mode, I set). `lr` is the return address.
void irq_c_irq(uint32_t spsr, uint32_t lr)
{
    if (g_irq == 0)
        irq_c_unexpected(6, spsr, lr, read_cpsr());
    g_irq(spsr);
}

/// FIQ vector entry (FIQ mode, I and F set). `lr` is the return address.
void irq_c_fiq(uint32_t spsr, uint32_t lr)
{
    if (g_fiq == 0)
        irq_c_unexpected(7, spsr, lr, read_cpsr());
    g_fiq(spsr);
}

void irq_reset_controllers(void)
{
    armctrl_wr(ARMCTRL_FIQ_CONTROL, 0);
    armctrl_wr(ARMCTRL_DISABLE1, 0xFFFFFFFFu);
    armctrl_wr(ARMCTRL_DISABLE2, 0xFFFFFFFFu);
    armctrl_wr(ARMCTRL_DISABLE_BASIC, 0xFFu);
    systmr_wr(SYSTMR_CS, SYSTMR_OURS);

    local_wr(LOCAL_GPU_ROUTE, 0);
    local_wr(LOCAL_TIMER_INT(0), 0);
    local_wr(LOCAL_MBOX_INT(0), 0);
    local_wr(LOCAL_MBOX_CLR(0, 0), 0xFFFFFFFFu);
    local_wr(LOCAL_TIMER_CONTROL, 0);
    local_wr(LOCAL_TIMER_CLEAR, LTIMER_FLAG);
    local_wr(LOCAL_TIMER_ROUTE, 0);

    write_cntp_ctl(0);
    write_cntv_ctl(0);
    dsb();
}

void irq_init(const char *name, irq_handler_t irq, irq_handler_t fiq)
{
    g_name = name;
    g_irq = irq;
    g_fiq = fiq;
    irq_errors = 0;
    g_event_count = 0;
    vectors_install(irq_vector_table);
    irq_reset_controllers();
    /* Interrupt entry sets CPSR.A; with A clear in the interrupted code the handler's
     * CPSR shows it. Nothing here raises an asynchronous abort. */
    __asm__ volatile("cpsie a" ::: "memory");
}

int irq_expect(int ok, const char *what)
{
    if (!ok) {
        uart_printf("%s: timeout\n", what);
        irq_errors++;
    }
    return ok;
}

int irq_result(void)
{
    if (irq_errors != 0) {
        uart_printf("%s: FAILED (%u errors)\n", g_name, irq_errors);
        return 1;
    }
    uart_printf("%s: done\n", g_name);
    return 0;
}

int irq_delay_us(uint32_t us)
{
    uint32_t start = systmr_rd(SYSTMR_CLO);
    return IRQ_WAIT_UNTIL(systmr_rd(SYSTMR_CLO) - start >= us);
}

void irq_event(const char *name)
{
    uint32_t n = g_event_count;
    if (n < EVENT_MAX) {
        g_events[n] = name;
        g_event_count = n + 1;
    }
}

void irq_events_print(const char *label)
{
    uart_printf("%s:", label);
    for (uint32_t i = 0; i < g_event_count; i++)
        uart_printf("%s %s", i == 0 ? "" : ",", g_events[i]);
    if (g_event_count == 0)
        uart_puts(" (none)");
    uart_putc('\n');
    g_event_count = 0;
}
