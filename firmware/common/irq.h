/*
 * irq.h - interrupt test support for piemu's bare-metal images (the irq_* images).
 *
 * Register maps of the three interrupt sources the images use and of both interrupt
 * controllers of the BCM2836/BCM2837, generic-timer (cp15 c14) accessors, and a small
 * runtime (irq.c + bare/irq_vectors.S): an own vector table at VBAR whose IRQ and FIQ
 * entries call C handlers, bounded waits, and an event log for printing the order in
 * which things happened.
 *
 * Datasheets:
 *   BCM2835 ARM Peripherals, ch. 7 (interrupt controller, "ARMCTRL") and ch. 12
 *   (system timer); the BCM2836 adds 0x3F000000 as the peripheral base.
 *   QA7 rev 3.4 "ARM Quad A7 core" (the BCM2836 local interrupt controller at
 *   0x40000000: core timers, mailboxes, local timer, GPU routing).
 *   ARM ARM (DDI 0406C) B8 "The Generic Timer" for CNTP_* / CNTV_*.
 *
 * Every wait in the images is bounded (IRQ_WAIT_BOUND iterations); a bound that is
 * hit prints "timeout" and makes the image exit 1.
 */
#ifndef PIEMU_FW_IRQ_H
#define PIEMU_FW_IRQ_H

#include <stdint.h>

/* ---- BCM2835 ARM interrupt controller (ARMCTRL), ch. 7 ------------------------ */
#define ARMCTRL_BASE          0x3F00B200u
#define ARMCTRL_BASIC_PENDING 0x00u /* R: ARM IRQs 0-7, bit 8/9 = pending1/2 non-empty */
#define ARMCTRL_PENDING1      0x04u /* R: GPU IRQs 0-31 (only enabled ones: see README) */
#define ARMCTRL_PENDING2      0x08u /* R: GPU IRQs 32-63 */
#define ARMCTRL_FIQ_CONTROL   0x0Cu /* RW: bits 6:0 source, bit 7 enable */
#define ARMCTRL_ENABLE1       0x10u /* W1S: GPU IRQs 0-31 */
#define ARMCTRL_ENABLE2       0x14u /* W1S: GPU IRQs 32-63 */
#define ARMCTRL_ENABLE_BASIC  0x18u /* W1S: ARM IRQs 0-7 */
#define ARMCTRL_DISABLE1      0x1Cu /* W1C of the enable bits */
#define ARMCTRL_DISABLE2      0x20u
#define ARMCTRL_DISABLE_BASIC 0x24u
#define ARMCTRL_BASIC_PENDING1 (1u << 8)
#define ARMCTRL_FIQ_ENABLE    (1u << 7)

/* ---- BCM2835 system timer, ch. 12 ---------------------------------------------- */
#define SYSTMR_BASE 0x3F003000u
#define SYSTMR_CS   0x00u /* match flags M0-M3, write 1 to clear */
#define SYSTMR_CLO  0x04u /* free-running 1 MHz counter, low word */
#define SYSTMR_CHI  0x08u
#define SYSTMR_C(n) (0x0Cu + 4u * (n)) /* compare n; a match raises GPU IRQ n */
/* C0 and C2 belong to the VideoCore on real hardware: the images use C1 and C3 and
 * never write (or print) CS bits 0 and 2. */
#define SYSTMR_OURS 0xAu

/* ---- BCM2836 local interrupt controller (QA7) ----------------------------------- */
#define LOCAL_BASE            0x40000000u
#define LOCAL_GPU_ROUTE       0x0Cu /* bits 1:0 GPU IRQ core, bits 3:2 GPU FIQ core */
#define LOCAL_TIMER_ROUTE     0x24u /* bits 2:0: 0-3 IRQ to core n, 4-7 FIQ to core n-4 */
#define LOCAL_TIMER_CONTROL   0x34u /* 27:0 reload, 28 enable, 29 int enable, 31 flag */
#define LOCAL_TIMER_CLEAR     0x38u /* W: bit 31 clears the flag, bit 30 reloads */
#define LOCAL_TIMER_INT(core) (0x40u + 4u * (core)) /* 3:0 IRQ, 7:4 FIQ per timer */
#define LOCAL_MBOX_INT(core)  (0x50u + 4u * (core)) /* 3:0 IRQ, 7:4 FIQ per mailbox */
#define LOCAL_IRQ_SOURCE(core) (0x60u + 4u * (core))
#define LOCAL_FIQ_SOURCE(core) (0x70u + 4u * (core))
#define LOCAL_MBOX_SET(core, n) (0x80u + 16u * (core) + 4u * (n)) /* W: OR into mailbox */
#define LOCAL_MBOX_CLR(core, n) (0xC0u + 16u * (core) + 4u * (n)) /* R; W: clear bits */

#define LTIMER_RELOAD_MASK 0x0FFFFFFFu
#define LTIMER_ENABLE      (1u << 28)
#define LTIMER_INT_ENABLE  (1u << 29)
#define LTIMER_RELOAD      (1u << 30) /* in LOCAL_TIMER_CLEAR */
#define LTIMER_FLAG        (1u << 31)

/* Bits of LOCAL_IRQ_SOURCE / LOCAL_FIQ_SOURCE, and of LOCAL_TIMER_INT (timers 0-3:
 * IRQ enable at bit n, FIQ enable at bit n + 4; FIQ wins when both are set). */
#define LSRC_CNTPS   (1u << 0)
#define LSRC_CNTPNS  (1u << 1)
#define LSRC_CNTHP   (1u << 2)
#define LSRC_CNTV    (1u << 3)
#define LSRC_MBOX(n) (1u << (4 + (n)))
#define LSRC_GPU     (1u << 8)
#define LSRC_PMU     (1u << 9)
#define LSRC_AXI     (1u << 10)
#define LSRC_LTIMER  (1u << 11)

/* ---- MMIO -------------------------------------------------------------------- */
static inline uint32_t mmio_rd(uint32_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_wr(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

static inline uint32_t armctrl_rd(uint32_t off) { return mmio_rd(ARMCTRL_BASE + off); }
static inline void armctrl_wr(uint32_t off, uint32_t v) { mmio_wr(ARMCTRL_BASE + off, v); }
static inline uint32_t systmr_rd(uint32_t off) { return mmio_rd(SYSTMR_BASE + off); }
static inline void systmr_wr(uint32_t off, uint32_t v) { mmio_wr(SYSTMR_BASE + off, v); }
static inline uint32_t local_rd(uint32_t off) { return mmio_rd(LOCAL_BASE + off); }
static inline void local_wr(uint32_t off, uint32_t v) { mmio_wr(LOCAL_BASE + off, v); }

/* ---- barriers, CPSR ------------------------------------------------------------ */
static inline void dsb(void) { __asm__ volatile("dsb" ::: "memory"); }
static inline void isb(void) { __asm__ volatile("isb" ::: "memory"); }

#define PSR_MODE_MASK 0x1Fu
#define PSR_F (1u << 6)
#define PSR_I (1u << 7)
#define PSR_A (1u << 8)

static inline uint32_t read_cpsr(void)
{
    uint32_t v;
    __asm__ volatile("mrs %0, cpsr" : "=r"(v)::"memory");
    return v;
}

/* CPS changes the mask bits for the next instruction; the ISB after an unmask makes
 * the point where a pending interrupt is taken independent of the pipeline. */
static inline void irq_unmask(void) { __asm__ volatile("cpsie i\n\tisb" ::: "memory"); }
static inline void irq_mask(void) { __asm__ volatile("cpsid i" ::: "memory"); }
static inline void fiq_unmask(void) { __asm__ volatile("cpsie f\n\tisb" ::: "memory"); }
static inline void fiq_mask(void) { __asm__ volatile("cpsid f" ::: "memory"); }
static inline void wfi(void) { __asm__ volatile("dsb\n\twfi" ::: "memory"); }

/* ---- generic timer (ARM ARM ch. B8 "The Generic Timer", CNT* in B4.1) ---------- */
#define CNT_CTL_ENABLE  (1u << 0)
#define CNT_CTL_IMASK   (1u << 1)
#define CNT_CTL_ISTATUS (1u << 2)

#define CP15_RD32(name, crm, opc2)                                                    \
    static inline uint32_t name(void)                                              \
    {                                                                              \
        uint32_t v;                                                                \
        __asm__ volatile("mrc p15, 0, %0, c14, " #crm ", " #opc2 : "=r"(v)::"memory"); \
        return v;                                                                  \
    }
#define CP15_WR32(name, crm, opc2)                                                    \
    static inline void name(uint32_t v)                                            \
    {                                                                              \
        __asm__ volatile("mcr p15, 0, %0, c14, " #crm ", " #opc2 ::"r"(v) : "memory"); \
        isb();                                                                     \
    }
#define CP15_RD64(name, opc1)                                                         \
    static inline uint64_t name(void)                                              \
    {                                                                              \
        uint32_t lo, hi;                                                           \
        isb();                                                                     \
        __asm__ volatile("mrrc p15, " #opc1 ", %0, %1, c14" : "=r"(lo), "=r"(hi)::"memory"); \
        return ((uint64_t)hi << 32) | lo;                                          \
    }

CP15_RD32(read_cntfrq, c0, 0)
CP15_RD32(read_cntp_tval, c2, 0)
CP15_WR32(write_cntp_tval, c2, 0)
CP15_RD32(read_cntp_ctl, c2, 1)
CP15_WR32(write_cntp_ctl, c2, 1)
CP15_RD32(read_cntv_tval, c3, 0)
CP15_WR32(write_cntv_tval, c3, 0)
CP15_RD32(read_cntv_ctl, c3, 1)
CP15_WR32(write_cntv_ctl, c3, 1)
CP15_RD64(read_cntpct, 0)
CP15_RD64(read_cntvct, 1)
CP15_RD64(read_cntp_cval, 2)
CP15_RD64(read_cntv_cval, 3)

/* ---- runtime (irq.c, bare/irq_vectors.S) --------------------------------------- */

/// An IRQ or FIQ handler: called in IRQ/FIQ mode with I (and for FIQ, F) set, with
/// the SPSR of the interrupted code. Returning resumes the interrupted code.
typedef void (*irq_handler_t)(uint32_t spsr);

/// Install the vector table (VBAR), the IRQ and FIQ handlers (either may be 0: taking
/// that exception then fails the image), put every controller in a known state
/// (irq_reset_controllers) and clear CPSR.A. IRQ and FIQ stay masked. `name` prefixes
/// failure messages. Call once from main (SVC mode).
void irq_init(const char *name, irq_handler_t irq, irq_handler_t fiq);

/// All ARMCTRL lines disabled, FIQ select off; system timer CS bits 1 and 3 cleared;
/// local controller: GPU IRQ and FIQ routed to core 0, core 0 timer and mailbox
/// interrupt controls 0, core 0 mailbox 0 cleared, local timer off and its flag
/// cleared, routed to core 0 IRQ; CNTP_CTL = CNTV_CTL = 0 (the Pi's firmware stub
/// leaves CNTV enabled with ISTATUS set).
void irq_reset_controllers(void);

/// Three-letter CPSR mode name ("svc", "irq", "fiq", ...).
const char *irq_mode_name(uint32_t psr);

/// Iterations a bounded wait may spin (a few instructions each, so a few ms of guest
/// time under QEMU and piemu; the longest expected wait is 1 ms).
#define IRQ_WAIT_BOUND 2000000u

/// Spin until `cond` holds or IRQ_WAIT_BOUND iterations passed; yields `cond`.
#define IRQ_WAIT_UNTIL(cond)                                                        \
    ({                                                                              \
        uint32_t irq_wait_n_ = 0;                                                   \
        while (!(cond) && ++irq_wait_n_ < IRQ_WAIT_BOUND)                           \
            __asm__ volatile("" ::: "memory");                                      \
        (cond);                                                                     \
    })

/// Number of failed checks and timeouts so far; main returns irq_result().
extern volatile uint32_t irq_errors;

/// Print "<what>: timeout" and count an error unless ok; returns ok.
int irq_expect(int ok, const char *what);

/// Print "<name>: done" (or "<name>: FAILED (n errors)") and return the exit status.
int irq_result(void);

/// Wait `us` microseconds of system-timer time (bounded). Returns 0 on timeout.
int irq_delay_us(uint32_t us);

/// Append an event name to the order log (no printing: safe in handlers).
void irq_event(const char *name);

/// Print "<label>: ev1, ev2, ..." and empty the log.
void irq_events_print(const char *label);

#endif /* PIEMU_FW_IRQ_H */
