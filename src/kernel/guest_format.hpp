// Host-side text of Linux 4.14 for guest state: the kernel's vsnprintf() over a format
// string and argument words taken from guest memory and registers (lib/vsprintf.c), and
// the ARM crash report: register dump (arch/arm/kernel/process.c __show_regs,
// lib/dump_stack.c dump_stack_print_info), die() (arch/arm/kernel/traps.c), the kernel
// fault line (arch/arm/mm/fault.c __do_kernel_fault) and panic() (kernel/panic.c).
//
// Everything here is pure: guest memory is reached only through the callbacks given,
// and nothing depends on host time or addresses, so traces stay deterministic.
//
// Not modelled: the %p extensions that dereference their argument (%pM %pI %pU %pE %ph
// %pb %pa %pR %pV %pd %pD %pg %pC %pG %pOF %pNF) print the bare pointer as plain %p does;
// print_worker_info()'s "Workqueue:" line; print_modules() lists no modules; show_pte().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace piemu::kernel {

/// Renders a code address as sprint_symbol() does: "name+0xoff/0xsize" (a module symbol
/// may add " [module]"), or nullopt when no symbol covers it.
using SymbolizeFn = std::function<std::optional<std::string>(uint32_t addr)>;

/// Guest access for format_guest_printk().
struct GuestFormatEnv {
    /// Reads a NUL-terminated string of at most `max` bytes at guest address `addr`
    /// (the first `max` bytes when no NUL comes earlier); nullopt when any byte is
    /// unreadable.
    std::function<std::optional<std::string>(uint32_t addr, size_t max)> read_string;
    /// "%pS" text for a code address; see SymbolizeFn.
    SymbolizeFn symbolize;
};

/// Argument words printk reads: r1-r3 and up to 32 of the caller's stacked words.
inline constexpr size_t kPrintkArgWords = 3 + 32;
/// printk()'s line buffer holds LOG_LINE_MAX = 1024 - PREFIX_MAX(32) bytes with the NUL
/// (kernel/printk/printk.c): no longer text reaches the log.
inline constexpr size_t kPrintkTextMax = 1024 - 32 - 1;

/// The kernel's vsnprintf() for a format string from guest memory and the variadic words
/// of the call (args[0] is r1, then r2, r3 and the stack words). Conversions: flags
/// `-+ 0#`, width and precision (digits or `*`, which takes an int argument), length
/// modifiers h hh l L ll z t, and d i u x X o c s p %.
///
/// The argument words follow the ARM EABI (AAPCS C.3/C.5): counting r0 (the format) as
/// word 0, a 64-bit argument (%lld, %Lx) starts at an even word, i.e. at an odd index of
/// `args`, low word first; a skipped word is lost. Missing words read as 0 (the guest
/// passed fewer than the format asks for); words past kPrintkArgWords read as 0.
///
/// Kernel behaviours kept (lib/vsprintf.c of 4.14), where they differ from C's printf:
/// - %p prints "%08x" of the address: 4.14 did not hash %p yet (hashing came in 4.15),
///   and a NULL pointer prints "(null)" padded to 8 for every %p form but %pK;
/// - %pS/%pF give symbol+off/size, %ps/%pf the name only, %pB the symbol of addr - 1
///   with the offset counted from addr; without a symbol, "0x%lx" of the address;
///   after %p every following letter or digit is part of the conversion and skipped;
/// - %s of an address below PAGE_SIZE prints "(null)"; of an unreadable one "(efault)"
///   (4.14 would fault: piemu must not);
/// - %#x of 0 prints "0x0"; the '0' flag still pads when a precision is given; %.0d of
///   0 prints "0"; a `.` without digits sets no precision; a negative `*` precision is 0;
/// - %t sign-extends ptrdiff_t to 64 bits, so %tx of -1 prints 16 digits on ARM32;
/// - an unknown conversion (%n, %j, %q, a trailing %) ends the output there.
/// The result stops at kPrintkTextMax bytes, as printk's buffer does.
std::string format_guest_printk(std::string_view fmt, std::span<const uint32_t> args,
                                const GuestFormatEnv& env);

/// The register frame (struct pt_regs of arch/arm: uregs[18]).
struct PtRegsValues {
    uint32_t uregs[18]; ///< r0..r12, sp, lr, pc, cpsr, orig_r0
};

/// The state of the current task and CPU that the crash report prints.
struct CrashContext {
    unsigned cpu = 0;
    int pid = 0;
    std::string comm;                        ///< current->comm
    std::string release = "4.14.39-piemu";   ///< init_utsname()->release
    std::string version = "#1";              ///< utsname()->version; its first word is printed
    std::string hardware = "BCM2835";        ///< "Hardware name:"; empty prints no such line
    uint32_t taint = 0;                      ///< tainted_mask: bit n is TAINT n (kTaint*)
    uint32_t task = 0, stack = 0;            ///< task_struct and task_stack_page() addresses
    uint32_t sctlr = 0, ttbr0 = 0, dacr = 0; ///< the "Control: Table: DAC:" line
    uint32_t addr_limit = 0;                 ///< thread_info->addr_limit (KERNEL_DS = 0)
    int die_counter = 1;                     ///< the [#N] of this oops
    bool preempt = true, smp = true;         ///< CONFIG_PREEMPT, CONFIG_SMP
    bool thumb2_kernel = false;              ///< CONFIG_THUMB2_KERNEL: " THUMB2" not " ARM"
    bool in_interrupt = false;               ///< in_interrupt(): dump stack and code
                                             ///< even for a user-mode frame
    SymbolizeFn symbolize;
    /// Reads the 32-bit word at a 4-aligned guest address for the Stack: and Code:
    /// dumps; false when unreadable.
    std::function<bool(uint32_t addr, uint32_t& word)> read_word;
    /// dump_backtrace()'s lines ("Backtrace: " and the frames), each ending in '\n'.
    /// __die() prints them between the stack dump and the Code: line.
    std::vector<std::string> backtrace;
};

/// TAINT_* bit numbers of 4.14 (include/linux/kernel.h) that piemu may set.
inline constexpr unsigned kTaintDie = 7, kTaintWarn = 9;

/// print_tainted() of 4.14: "Not tainted", or "Tainted: " and one column per flag
/// (16 flags in 4.14, 'G' for a clear TAINT_PROPRIETARY_MODULE).
std::string print_tainted(uint32_t taint);
/// __show_regs()'s flags without "Flags:" and the segment: "nZcv  IRQs off  FIQs on
/// Mode SVC_32  ISA ARM" (two spaces between fields).
std::string cpsr_flags(uint32_t cpsr);

/// dump_stack_print_info(): "CPU: %d PID: %d Comm: %.20s <taint> <release> <version>"
/// and "Hardware name: %s". Each string is one line with its '\n'.
std::vector<std::string> dump_stack_print_info_lines(const CrashContext& ctx);

/// __show_regs() of 4.14 for ARMv7 with an MMU: dump_stack_print_info, "task: %p
/// task.stack: %p", "PC is at", "LR is at", the register lines, "Flags: ... Segment ..."
/// and "Control: %08x  Table: %08x  DAC: %08x". The segment is "none" when DACR gives
/// DOMAIN_USER no access, else "kernel" for addr_limit == KERNEL_DS, else "user".
/// Each string is one line with its '\n'.
std::vector<std::string> show_regs_lines(const PtRegsValues& regs, const CrashContext& ctx);

/// __die() as die() prints it: "Internal error: <str>: <err hex> [#N] PREEMPT SMP ARM",
/// "Modules linked in:", show_regs_lines(), "Process %.*s (pid: %d, stack limit = 0x%p)",
/// and for a kernel-mode frame (or in interrupt) the "Stack: (0x%08lx to 0x%08lx)" dump
/// of the words from sp to the top of the task's 8 KiB stack (8 words a line, unreadable
/// ones as "????????"), ctx.backtrace, and dump_instr()'s "Code:" line (four instructions
/// before pc and the one at pc in parentheses; in Thumb state six halfwords, the one at
/// pc in parentheses). Die's "Oops - BUG" substitution is the caller's choice of `str`;
/// the "---[ end trace" marker follows in oops_exit() (Printk::print_oops_end_marker).
std::vector<std::string> die_lines(const char* str, uint32_t err, const PtRegsValues& regs,
                                   const CrashContext& ctx);

/// __do_kernel_fault()'s first line, with its '\n': "Unable to handle kernel NULL pointer
/// dereference at virtual address %08lx" below PAGE_SIZE, "... paging request ..." else.
std::string kernel_fault_line(uint32_t addr);

/// panic()'s first line, "Kernel panic - not syncing: <msg>", and its end marker
/// "---[ end Kernel panic - not syncing: <msg>" (4.14 has no closing " ]---"). `msg` is
/// panic's formatted buffer (at most 1023 bytes kept); a newline inside it starts a new
/// line, so a message ending in '\n' is followed by an empty line as on a 4.14 console.
std::vector<std::string> panic_lines(std::string_view msg);
/// Removes panic_lines()' end marker (its last line or lines, from "---[ end Kernel
/// panic") from `lines` and returns them: panic() prints them after smp_send_stop().
std::vector<std::string> split_panic_end(std::vector<std::string>& lines);

} // namespace piemu::kernel
