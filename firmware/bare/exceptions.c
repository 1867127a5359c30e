/*
 * exceptions - the exception-entry test image.
 *
 * Installs its own vector table (VBAR) and provokes, from SVC mode and again from
 * USR mode, each synchronous exception an ARMv7-A core takes: SVC (ARM, Thumb, in an
 * IT block), undefined instruction (ARM, Thumb), data abort (alignment, translation
 * read/write, permission read/write, in an IT block), prefetch abort (translation,
 * ARM and Thumb; BKPT, ARM and Thumb). For each it prints what the handler saw:
 * the CPSR at entry (so the mode), LR (absolute and relative to the instruction
 * under test), SPSR, and for aborts DFSR/DFAR or IFSR/IFAR. Everything is printed
 * from SVC mode after the handler returned; handlers only record.
 *
 * Expected output: tests/expected/exceptions.uart. The numbers there were checked
 * by hand against the ARM ARM (ARMv7-A/R, DDI 0406C): see firmware/README.md.
 *
 * Architectural values to compare against (ARM ARM B1.8 "Exception handling",
 * B1.9 "Exception descriptions"). The interrupted code
 * runs with NZCV = 0110 (set by each stub), A = 0, I = F = 1:
 *   exception   LR                          mode  CPSR.A set  SPSR
 *   SVC         next instruction            svc   no          IT advanced
 *   UND         insn + 4 (ARM) / + 2 (Thumb) und  no          IT of the insn
 *   PABT        insn + 4                    abt   yes         IT of the insn
 *   DABT        insn + 8                    abt   yes         IT of the insn
 * Short-descriptor fault status (B3.13 "Exception reporting in a VMSA
 * implementation", short-descriptor FSR encodings), FS in bits [10,3:0]:
 *   0x001 alignment, 0x002 debug event, 0x005 section translation,
 *   0x00d section permission; DFSR bit 11 (WnR) = 1 for a write.
 */
#include <stdint.h>

#include "exceptions.h"
#include "semihost.h"
#include "uart.h"
#include "vectors.h"

#define PSR_MODE_MASK 0x1fu
#define PSR_T (1u << 5)
/* ITSTATE: IT[1:0] in CPSR[26:25], IT[7:2] in CPSR[15:10]. */
#define PSR_IT_MASK 0x0600fc00u

#define SCTLR_M (1u << 0)
#define SCTLR_A (1u << 1)
#define SCTLR_TRE (1u << 28)
#define SCTLR_AFE (1u << 29)

/* Short-descriptor first-level section entry (ARM ARM B3.5.1). */
#define SECT_TYPE 0x2u            /* bits [1:0] = 0b10 */
#define SECT_B (1u << 2)
#define SECT_C (1u << 3)
#define SECT_XN (1u << 4)
#define SECT_AP(ap) ((uint32_t)(ap) << 10) /* AP[1:0]; AP[2] (bit 15) = 0 */
#define SECT_NORMAL (SECT_TYPE | SECT_C | SECT_B)  /* TEX 000 C 1 B 1: write-back */
#define SECT_DEVICE (SECT_TYPE | SECT_B | SECT_XN) /* TEX 000 C 0 B 1: shareable device */

/* Frame built by the VECTOR macro in exceptions_asm.S. */
struct exc_frame {
    uint32_t spsr;
    uint32_t cpsr;
    uint32_t r[13];
    uint32_t lr;
};

/* What the last handler saw. */
struct exc_record {
    uint32_t count;
    uint32_t kind;
    uint32_t cpsr;
    uint32_t spsr;
    uint32_t lr;
    uint32_t fsr;
    uint32_t far;
    uint32_t imm;
};

static volatile struct exc_record rec;
/* Resume address (bit 0 = Thumb) for the next exception; 0 = the default. */
volatile uint32_t g_recover;

/* Stubs in exceptions_asm.S. */
typedef uint32_t (*stub_fn)(void);
extern const uint8_t exc_vectors[];
uint32_t call_user(stub_fn fn);
uint32_t stub_svc_arm(void);
uint32_t stub_svc_thumb(void);
uint32_t stub_und_arm(void);
uint32_t stub_und_thumb(void);
uint32_t stub_dabt_align(void);
uint32_t stub_dabt_xlat_read(void);
uint32_t stub_dabt_xlat_write(void);
uint32_t stub_dabt_perm_read(void);
uint32_t stub_dabt_perm_write(void);
uint32_t stub_pabt_arm(void);
uint32_t stub_pabt_thumb(void);
uint32_t stub_bkpt_arm(void);
uint32_t stub_bkpt_thumb(void);
uint32_t stub_it_svc(void);
uint32_t stub_it_dabt(void);
extern const uint8_t stub_svc_arm_insn[], stub_svc_thumb_insn[], stub_und_arm_insn[],
    stub_und_thumb_insn[], stub_dabt_align_insn[], stub_dabt_xlat_read_insn[],
    stub_dabt_xlat_write_insn[], stub_dabt_perm_read_insn[], stub_dabt_perm_write_insn[],
    stub_bkpt_arm_insn[], stub_bkpt_thumb_insn[], stub_it_svc_insn[], stub_it_dabt_insn[];

/* First-level translation table: 4096 sections of 1 MiB, 16 KiB aligned. */
static uint32_t ttb[4096] __attribute__((aligned(16384)));

/* ---- cp15 ------------------------------------------------------------------ */

#define CP15_READ(name, crn, opc1, crm, opc2)                                          \
    static inline uint32_t name(void)                                               \
    {                                                                               \
        uint32_t v;                                                                 \
        __asm__ volatile("mrc p15, " #opc1 ", %0, " #crn ", " #crm ", " #opc2 : "=r"(v)); \
        return v;                                                                   \
    }
#define CP15_WRITE(name, crn, opc1, crm, opc2)                                         \
    static inline void name(uint32_t v)                                             \
    {                                                                               \
        __asm__ volatile("mcr p15, " #opc1 ", %0, " #crn ", " #crm ", " #opc2 ::"r"(v) \
                         : "memory");                                               \
    }

CP15_READ(read_sctlr, c1, 0, c0, 0)
CP15_WRITE(write_sctlr, c1, 0, c0, 0)
CP15_WRITE(write_ttbr0, c2, 0, c0, 0)
CP15_WRITE(write_ttbcr, c2, 0, c0, 2)
CP15_WRITE(write_dacr, c3, 0, c0, 0)
CP15_READ(read_dfsr, c5, 0, c0, 0)
CP15_READ(read_ifsr, c5, 0, c0, 1)
CP15_READ(read_dfar, c6, 0, c0, 0)
CP15_READ(read_ifar, c6, 0, c0, 2)
CP15_WRITE(write_tlbiall, c8, 0, c7, 0)

static inline void barriers(void)
{
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* ---- handler side ------------------------------------------------------------ */

static const char *mode_name(uint32_t psr)
{
    switch (psr & PSR_MODE_MASK) {
    case 0x10: return "usr";
    case 0x11: return "fiq";
    case 0x12: return "irq";
    case 0x13: return "svc";
    case 0x16: return "mon";
    case 0x17: return "abt";
    case 0x1a: return "hyp";
    case 0x1b: return "und";
    case 0x1f: return "sys";
    default: return "???";
    }
}

static const char *const kind_name[] = {"Reset", "UND", "SVC", "PABT", "DABT", "HYP", "IRQ",
                                        "FIQ"};

static __attribute__((noreturn)) void fail(uint32_t kind, const struct exc_frame *f)
{
    uart_printf("UNEXPECTED %s: CPSR=0x%08x LR=0x%08x SPSR=0x%08x\n", kind_name[kind & 7],
                f->cpsr, f->lr, f->spsr);
    uart_puts("exceptions: FAILED\n");
    semihost_exit_extended(ADP_Stopped_ApplicationExit, 1);
}

/// Called by every vector with interrupts masked, in the exception's mode. Records
/// what it saw and sets the resume point in the frame. Returns 1 only to end a
/// call_user() (svc #SVC_TO_KERNEL from USR), else 0.
int exc_handle(uint32_t kind, struct exc_frame *f)
{
    int thumb = (f->spsr & PSR_T) != 0;
    uint32_t imm = 0;

    if (kind == KIND_SVC) {
        /* LR is the next instruction, so the SVC is the halfword/word before it. */
        imm = thumb ? (*(const volatile uint16_t *)(f->lr - 2) & 0xffu)
                    : (*(const volatile uint32_t *)(f->lr - 4) & 0xffffffu);
        if (!thumb && imm == SVC_TO_KERNEL && (f->spsr & PSR_MODE_MASK) == 0x10)
            return 1;
    }

    rec.count++;
    rec.kind = kind;
    rec.cpsr = f->cpsr;
    rec.spsr = f->spsr;
    rec.lr = f->lr;
    rec.imm = imm;
    rec.fsr = 0;
    rec.far = 0;
    if (kind == KIND_DABT) {
        rec.fsr = read_dfsr();
        rec.far = read_dfar();
    } else if (kind == KIND_PABT) {
        rec.fsr = read_ifsr();
        rec.far = read_ifar();
    }

    uint32_t recover = g_recover;
    if (recover != 0) {
        g_recover = 0;
        f->lr = recover & ~1u;
        f->spsr = (f->spsr & ~(PSR_T | PSR_IT_MASK)) | ((recover & 1u) ? PSR_T : 0);
        return 0;
    }
    switch (kind) {
    case KIND_SVC: /* LR = next instruction */
    case KIND_UND: /* LR = next instruction for ARM and 16-bit Thumb UDF */
        return 0;
    case KIND_DABT: /* LR = insn + 8; the ARM instruction after it is at LR - 4 */
        if (!thumb) {
            f->lr -= 4;
            return 0;
        }
        break;
    default:
        break;
    }
    fail(kind, f);
}

/* ---- test side --------------------------------------------------------------- */

static void print_lr(uint32_t lr, uint32_t insn)
{
    if (lr >= insn)
        uart_printf("LR=0x%08x (insn+%u)", lr, lr - insn);
    else
        uart_printf("LR=0x%08x (insn-%u)", lr, insn - lr);
}

/* Run fn in SVC mode (user = 0) or USR mode (user = 1) and return its r0. */
static uint32_t run(stub_fn fn, int user)
{
    rec.count = 0;
    return user ? call_user(fn) : fn();
}

/* Print one case: "<what> from <SVC|USR> (<detail>): ..." */
static void report(const char *what, int user, const char *detail, uint32_t insn)
{
    uart_printf("%s from %s (%s): ", what, user ? "USR" : "SVC", detail);
    if (rec.count == 0) {
        uart_puts("no exception\n");
        return;
    }
    if (rec.count != 1)
        uart_printf("%u exceptions, last: ", rec.count);
    uart_printf("%s in %s CPSR=0x%08x ", kind_name[rec.kind & 7], mode_name(rec.cpsr),
                rec.cpsr);
    print_lr(rec.lr, insn);
    uart_printf(" SPSR=0x%08x", rec.spsr);
    if (rec.kind == KIND_SVC)
        uart_printf(" imm=0x%x", rec.imm);
    if (rec.kind == KIND_DABT)
        uart_printf(" DFSR=0x%03x DFAR=0x%08x", rec.fsr, rec.far);
    uart_putc('\n');
}

/* Like report(), for a prefetch abort: IFSR, and IFAR when it is defined. */
static void report_pabt(const char *what, int user, const char *detail, uint32_t insn,
                        int ifar_defined)
{
    uart_printf("%s from %s (%s): ", what, user ? "USR" : "SVC", detail);
    if (rec.count != 1 || rec.kind != KIND_PABT) {
        uart_printf("%u exceptions, last %s\n", rec.count, kind_name[rec.kind & 7]);
        return;
    }
    uart_printf("PABT in %s CPSR=0x%08x ", mode_name(rec.cpsr), rec.cpsr);
    print_lr(rec.lr, insn);
    uart_printf(" SPSR=0x%08x IFSR=0x%03x", rec.spsr, rec.fsr);
    /* IFAR is UNKNOWN after a BKPT debug event (ARM ARM, "Effects of debug exceptions
     * on CP15 registers"); QEMU 7.2 writes 0. Not printed. */
    if (ifar_defined)
        uart_printf(" IFAR=0x%08x", rec.far);
    uart_putc('\n');
}

static void mmu_enable(void)
{
    for (uint32_t i = 0; i < 4096; i++) {
        uint32_t base = i << 20;
        if (base == UNMAPPED_BASE)
            ttb[i] = 0; /* translation fault */
        else if (base == PRIV_BASE)
            ttb[i] = base | SECT_NORMAL | SECT_AP(1); /* PL1 RW, PL0 no access */
        else if (base >= 0x3F000000u && base < 0x40100000u)
            ttb[i] = base | SECT_DEVICE | SECT_AP(3); /* peripherals, local intc */
        else
            ttb[i] = base | SECT_NORMAL | SECT_AP(3); /* full access */
    }
    barriers();
    write_ttbcr(0);                        /* short descriptors, TTBR0 only, N = 0 */
    write_ttbr0((uint32_t)(uintptr_t)ttb); /* non-cacheable table walks */
    write_dacr(0x1);                       /* domain 0 client, others no access */
    write_tlbiall(0);
    barriers();
    write_sctlr((read_sctlr() & ~(SCTLR_TRE | SCTLR_AFE)) | SCTLR_M);
    barriers();
}

static void set_alignment_check(int on)
{
    uint32_t s = read_sctlr();
    write_sctlr(on ? (s | SCTLR_A) : (s & ~SCTLR_A));
    barriers();
}

#define ADDR(sym) ((uint32_t)(uintptr_t)(sym))

static inline uint32_t read_cpsr(void)
{
    uint32_t v;
    __asm__ volatile("mrs %0, cpsr" : "=r"(v));
    return v;
}

int main(void)
{
    uart_puts("exceptions: start\n");
    /*
     * Unmask asynchronous aborts (start.S leaves A set): exception entry sets CPSR.A
     * for PABT/DABT (and IRQ/FIQ) but leaves it alone for SVC/UND, and only a clear A
     * in the interrupted code makes that visible in the handler's CPSR. Nothing here
     * raises an asynchronous abort. IRQ and FIQ stay masked.
     */
    __asm__ volatile("cpsie a" ::: "memory");
    uart_printf("CPSR[8:0]=0x%03x\n", read_cpsr() & 0x1ffu);
    vectors_install(exc_vectors);
    uart_printf("VBAR=0x%08x\n", vectors_vbar());

    for (int user = 0; user <= 1; user++) {
        run(stub_svc_arm, user);
        report("SVC", user, "ARM", ADDR(stub_svc_arm_insn));
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_svc_thumb, user);
        report("SVC", user, "Thumb", ADDR(stub_svc_thumb_insn));
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_und_arm, user);
        report("UND", user, "ARM udf #0", ADDR(stub_und_arm_insn));
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_und_thumb, user);
        report("UND", user, "Thumb udf #0", ADDR(stub_und_thumb_insn));
    }
    for (int user = 0; user <= 1; user++) {
        set_alignment_check(1);
        run(stub_dabt_align, user);
        set_alignment_check(0);
        report("DABT", user, "alignment, ldr, SCTLR.A=1", ADDR(stub_dabt_align_insn));
    }

    mmu_enable();
    uart_puts("MMU on: flat sections, 0x10000000 unmapped, 0x00200000 AP=01\n");

    for (int user = 0; user <= 1; user++) {
        run(stub_dabt_xlat_read, user);
        report("DABT", user, "translation, ldr", ADDR(stub_dabt_xlat_read_insn));
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_dabt_xlat_write, user);
        report("DABT", user, "translation, str", ADDR(stub_dabt_xlat_write_insn));
    }
    /* Give the privileged-only word a known value, from SVC. */
    *(volatile uint32_t *)PERM_READ_ADDR = 0x600dc0deu;
    *(volatile uint32_t *)PERM_WRITE_ADDR = 0;
    for (int user = 0; user <= 1; user++) {
        uint32_t v = run(stub_dabt_perm_read, user);
        report("DABT", user, "permission, ldr", ADDR(stub_dabt_perm_read_insn));
        uart_printf("  read 0x%08x\n", v);
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_dabt_perm_write, user);
        report("DABT", user, "permission, str", ADDR(stub_dabt_perm_write_insn));
        uart_printf("  word now 0x%08x\n", *(volatile uint32_t *)PERM_WRITE_ADDR);
        *(volatile uint32_t *)PERM_WRITE_ADDR = 0;
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_pabt_arm, user);
        report_pabt("PABT", user, "translation, bx to ARM", PABT_ARM_ADDR, 1);
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_pabt_thumb, user);
        report_pabt("PABT", user, "translation, bx to Thumb", PABT_THUMB_ADDR, 1);
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_bkpt_arm, user);
        report_pabt("BKPT", user, "ARM bkpt #0", ADDR(stub_bkpt_arm_insn), 0);
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_bkpt_thumb, user);
        report_pabt("BKPT", user, "Thumb bkpt #0", ADDR(stub_bkpt_thumb_insn), 0);
    }
    for (int user = 0; user <= 1; user++) {
        uint32_t v = run(stub_it_svc, user);
        report("SVC", user, "Thumb, 1st of ittee le", ADDR(stub_it_svc_insn));
        uart_printf("  after the block: r0=%u r1=%u r2=%u\n", v & 0xf, (v >> 4) & 0xf,
                    (v >> 8) & 0xf);
    }
    for (int user = 0; user <= 1; user++) {
        run(stub_it_dabt, user);
        report("DABT", user, "Thumb, 1st of itttt le, translation", ADDR(stub_it_dabt_insn));
    }

    uart_puts("exceptions: done\n");
    return 0;
}
