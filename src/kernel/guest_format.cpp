// Host-side text of Linux 4.14 for guest state (see guest_format.hpp). The printk half
// follows lib/vsprintf.c (format_decode, number, string, pointer, symbol_string) and
// kernel/kallsyms.c (__sprint_symbol); the crash report follows arch/arm/kernel/process.c
// (__show_regs), lib/dump_stack.c, arch/arm/kernel/traps.c (__die, dump_mem, dump_instr),
// arch/arm/mm/fault.c and kernel/panic.c.
#include "kernel/guest_format.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "piemu/arm_core.hpp"

namespace piemu::kernel {
namespace {

constexpr uint32_t kPageSize = 4096;
/// THREAD_SIZE of ARM (8 KiB kernel stacks, arch/arm/include/asm/thread_info.h).
constexpr uint32_t kThreadSize = 0x2000;
/// sizeof(struct thread_info) of a Pi 2/3 4.14 kernel (VFPv3-D32 state, ThumbEE): the
/// "stack limit" that __die prints is end_of_stack() = stack page + this.
constexpr uint32_t kThreadInfoSize = 0x210;
constexpr int kTaskCommLen = 16;
/// printf_spec stores the width in 24 and the precision in 16 signed bits; a `*` value
/// beyond them is clamped (set_field_width, set_precision).
constexpr int kFieldWidthMax = (1 << 23) - 1;
constexpr int kPrecisionMax = (1 << 15) - 1;
/// panic()'s static char buf[1024].
constexpr size_t kPanicBufMax = 1024 - 1;

enum Reg : unsigned { kFp = 11, kIp = 12, kSp = 13, kLr = 14, kPc = 15, kCpsr = 16 };

// ---------------------------------------------------------------------------------------
// vsnprintf

/// printf_spec flags (the kernel's SIGN LEFT PLUS SPACE ZEROPAD SMALL SPECIAL).
enum Flag : unsigned {
    kSign = 1u << 0,
    kLeft = 1u << 1,
    kPlus = 1u << 2,
    kSpace = 1u << 3,
    kZeroPad = 1u << 4,
    kSmall = 1u << 5,
    kSpecial = 1u << 6,
};

struct Spec {
    unsigned flags = 0;
    int width = -1;     ///< -1: none
    int precision = -1; ///< -1: none
    unsigned base = 10;
};

/// The output buffer: text beyond the capacity is dropped, as vscnprintf() drops it.
class Out {
public:
    explicit Out(size_t cap) : cap_(cap) {}
    void put(char c) {
        if (text_.size() < cap_)
            text_.push_back(c);
    }
    void put(size_t n, char c) { text_.append(std::min(n, cap_ - text_.size()), c); }
    void put(std::string_view s) { text_.append(s.substr(0, cap_ - text_.size())); }
    bool full() const { return text_.size() >= cap_; }
    std::string take() { return std::move(text_); }

private:
    size_t cap_;
    std::string text_;
};

/// The variadic words of a printk call, r1 first (see format_guest_printk).
class ArgWords {
public:
    explicit ArgWords(std::span<const uint32_t> words)
        : words_(words.first(std::min(words.size(), kPrintkArgWords))) {}
    uint32_t next() { return at(next_++); }
    /// A 64-bit argument: args[i] is word i + 1 of the call, and the AAPCS starts a
    /// doubleword at an even word (r2, or an 8-aligned stack slot).
    uint64_t next_pair() {
        if (next_ % 2 == 0)
            ++next_;
        uint64_t lo = at(next_++);
        uint64_t hi = at(next_++);
        return lo | hi << 32;
    }

private:
    uint32_t at(size_t i) const { return i < words_.size() ? words_[i] : 0; }

    std::span<const uint32_t> words_;
    size_t next_ = 0;
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// number(): sign, "0x"/"0" prefix, precision zeros and padding as the kernel orders them.
void put_number(Out& out, uint64_t num, Spec spec) {
    const bool is_zero = num == 0;
    const bool prefix = (spec.flags & kSpecial) && spec.base != 10;
    if (spec.flags & kLeft)
        spec.flags &= ~kZeroPad;
    int width = spec.width;
    char sign = 0;
    if (spec.flags & kSign) {
        if (static_cast<int64_t>(num) < 0) {
            sign = '-';
            num = 0 - num;
        } else if (spec.flags & kPlus) {
            sign = '+';
        } else if (spec.flags & kSpace) {
            sign = ' ';
        }
        if (sign)
            --width;
    }
    if (prefix)
        width -= spec.base == 16 ? 2 : (is_zero ? 0 : 1);

    const char* digit_set = (spec.flags & kSmall) ? "0123456789abcdef" : "0123456789ABCDEF";
    char digits[24]; // reversed; 22 octal digits hold 64 bits
    int n = 0;
    do {
        digits[n++] = digit_set[num % spec.base];
        num /= spec.base;
    } while (num != 0);
    const int precision = std::max(spec.precision, n);
    width -= precision;
    const size_t pad = width > 0 ? static_cast<size_t>(width) : 0;

    if (!(spec.flags & (kLeft | kZeroPad)))
        out.put(pad, ' ');
    if (sign)
        out.put(sign);
    if (prefix) {
        if (spec.base == 16 || !is_zero)
            out.put('0');
        if (spec.base == 16)
            out.put((spec.flags & kSmall) ? 'x' : 'X');
    }
    if (spec.flags & kZeroPad)
        out.put(pad, '0');
    out.put(static_cast<size_t>(precision - n), '0');
    while (n > 0)
        out.put(digits[--n]);
    if (spec.flags & kLeft)
        out.put(pad, ' ');
}

/// string(): at most `precision` bytes up to a NUL, padded with spaces (never zeros).
void put_string(Out& out, std::string_view s, const Spec& spec) {
    s = s.substr(0, s.find('\0'));
    if (spec.precision >= 0)
        s = s.substr(0, static_cast<size_t>(spec.precision));
    const size_t pad =
        spec.width > static_cast<int>(s.size()) ? static_cast<size_t>(spec.width) - s.size() : 0;
    if (!(spec.flags & kLeft))
        out.put(pad, ' ');
    out.put(s);
    if (spec.flags & kLeft)
        out.put(pad, ' ');
}

void put_char(Out& out, char c, const Spec& spec) {
    const size_t pad = spec.width > 1 ? static_cast<size_t>(spec.width) - 1 : 0;
    if (!(spec.flags & kLeft))
        out.put(pad, ' ');
    out.put(c);
    if (spec.flags & kLeft)
        out.put(pad, ' ');
}

std::string hex_address(uint32_t addr) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", addr);
    return buf;
}

/// Removes the "+0xoff/0xsize" of a sprint_symbol() text, keeping a " [module]".
std::string without_offset(std::string text) {
    size_t plus = text.find('+');
    if (plus != std::string::npos)
        text.erase(plus, text.find(' ', plus) - plus);
    return text;
}

/// Adds one to the offset of "name+0xoff/0xsize" (sprint_backtrace's symbol_offset).
std::string offset_plus_one(std::string text) {
    size_t plus = text.find("+0x");
    size_t slash = text.find('/', plus);
    if (plus == std::string::npos || slash == std::string::npos)
        return text;
    std::string digits = text.substr(plus + 3, slash - plus - 3);
    char* end = nullptr;
    unsigned long off = std::strtoul(digits.c_str(), &end, 16);
    if (digits.empty() || *end != '\0')
        return text;
    return text.substr(0, plus + 1) + hex_address(static_cast<uint32_t>(off + 1)) +
           text.substr(slash);
}

/// symbol_string() with CONFIG_KALLSYMS: sprint_symbol for S/F, sprint_symbol_no_offset
/// for s/f, sprint_backtrace for B (kernel/kallsyms.c __sprint_symbol: the symbol of
/// addr - 1, its offset counted from addr; an address without symbol as "0x%lx").
std::string symbol_text(uint32_t addr, char kind, const SymbolizeFn& symbolize) {
    const uint32_t lookup = kind == 'B' ? addr - 1 : addr;
    std::optional<std::string> text;
    if (symbolize)
        text = symbolize(lookup);
    if (!text)
        return hex_address(addr);
    if (kind == 'B')
        return offset_plus_one(std::move(*text));
    if (kind == 's' || kind == 'f')
        return without_offset(std::move(*text));
    return std::move(*text);
}

/// pointer(): `ext` is the alphanumeric run after the 'p'. 4.14 prints plain %p as the
/// zero-padded address (no hashing before 4.15) and NULL as "(null)" except for %pK.
void put_pointer(Out& out, std::string_view ext, uint32_t ptr, Spec spec,
                 const SymbolizeFn& symbolize) {
    const char kind = ext.empty() ? '\0' : ext[0];
    if (ptr == 0 && kind != 'K') {
        if (spec.width == -1)
            spec.width = 8;
        put_string(out, "(null)", spec);
        return;
    }
    switch (kind) {
    case 'S':
    case 's':
    case 'F':
    case 'f':
    case 'B':
        put_string(out, symbol_text(ptr, kind, symbolize), spec);
        return;
    }
    // NOTE: the dereferencing extensions are not modelled (see the header); %pK prints
    // like %p because kptr_restrict is 0.
    spec.flags |= kSmall;
    if (spec.width == -1) {
        spec.width = 8;
        spec.flags |= kZeroPad;
    }
    spec.base = 16;
    put_number(out, ptr, spec);
}

std::string pointer_text(uint32_t ptr) {
    Out out(32);
    put_pointer(out, {}, ptr, Spec{}, {});
    return out.take();
}

/// %s: "(null)" below PAGE_SIZE, as 4.14's string() does; "(efault)" when unreadable.
void put_guest_string(Out& out, uint32_t addr, const Spec& spec, const GuestFormatEnv& env) {
    if (addr < kPageSize) {
        put_string(out, "(null)", spec);
        return;
    }
    if (spec.precision == 0) { // the kernel reads no byte
        put_string(out, "", spec);
        return;
    }
    const size_t max = spec.precision > 0 ? static_cast<size_t>(spec.precision) : kPrintkTextMax;
    std::optional<std::string> s;
    if (env.read_string)
        s = env.read_string(addr, max);
    put_string(out, s ? *s : "(efault)", spec);
}

/// The integer argument of a conversion, widened to 64 bits as vsnprintf's `num`.
uint64_t integer_argument(char qualifier, bool is_signed, ArgWords& words) {
    if (qualifier == 'L')
        return words.next_pair();
    const uint32_t w = words.next();
    switch (qualifier) {
    case 'H':
        return is_signed ? static_cast<uint64_t>(static_cast<int8_t>(w)) : uint8_t(w);
    case 'h':
        return is_signed ? static_cast<uint64_t>(static_cast<int16_t>(w)) : uint16_t(w);
    case 't': // ptrdiff_t is signed whatever the conversion
        return static_cast<uint64_t>(static_cast<int32_t>(w));
    default: // int, long, size_t: 32 bits on ARM
        return is_signed ? static_cast<uint64_t>(static_cast<int32_t>(w)) : w;
    }
}

/// format_decode()'s flag characters: '-' LEFT, '+' PLUS, ' ' SPACE, '#' SPECIAL, '0' ZEROPAD.
unsigned flag_bit(char c) {
    constexpr std::string_view kChars = "-+ #0";
    constexpr unsigned kBits[] = {kLeft, kPlus, kSpace, kSpecial, kZeroPad};
    const size_t at = kChars.find(c);
    return at == std::string_view::npos ? 0 : kBits[at];
}

int parse_decimal(std::string_view fmt, size_t& i, int max) {
    int64_t v = 0;
    while (i < fmt.size() && is_digit(fmt[i])) {
        v = std::min<int64_t>(v * 10 + (fmt[i] - '0'), max);
        ++i;
    }
    return static_cast<int>(v);
}

struct Conversion {
    Spec spec;
    char qualifier = 0; ///< h, H (hh), l, L (ll), z, t
    char conv = 0;
};

/// format_decode() from just after a '%': flags, width, precision (taking the `*`
/// arguments in order), qualifier and conversion character.
Conversion decode(std::string_view fmt, size_t& i, ArgWords& words) {
    auto peek = [&] { return i < fmt.size() ? fmt[i] : '\0'; };
    Conversion c;
    while (unsigned f = flag_bit(peek())) {
        c.spec.flags |= f;
        ++i;
    }
    if (is_digit(peek())) {
        c.spec.width = parse_decimal(fmt, i, kFieldWidthMax);
    } else if (peek() == '*') {
        ++i;
        int w = std::clamp(static_cast<int32_t>(words.next()), -kFieldWidthMax, kFieldWidthMax);
        if (w < 0) {
            c.spec.flags |= kLeft;
            w = -w;
        }
        c.spec.width = w;
    }
    if (peek() == '.') {
        ++i;
        if (is_digit(peek())) {
            c.spec.precision = parse_decimal(fmt, i, kPrecisionMax);
        } else if (peek() == '*') {
            ++i;
            c.spec.precision = std::clamp(static_cast<int32_t>(words.next()), 0, kPrecisionMax);
        }
    }
    char q = peek();
    if (q == 'h' || q == 'l' || q == 'L' || q == 'z' || q == 't') {
        ++i;
        if (q == peek() && (q == 'h' || q == 'l')) {
            ++i;
            q = q == 'h' ? 'H' : 'L';
        }
        c.qualifier = q;
    }
    c.conv = peek();
    if (c.conv != '\0')
        ++i;
    return c;
}

/// Prints one conversion; false for an unknown one, which ends vsnprintf's output.
bool convert(Out& out, const Conversion& c, std::string_view fmt, size_t& i, ArgWords& words,
             const GuestFormatEnv& env) {
    Spec spec = c.spec;
    switch (c.conv) {
    case 'c':
        put_char(out, static_cast<char>(words.next() & 0xff), spec);
        return true;
    case 's':
        put_guest_string(out, words.next(), spec, env);
        return true;
    case 'p': {
        const size_t ext = i;
        while (i < fmt.size() && is_alnum(fmt[i]))
            ++i;
        put_pointer(out, fmt.substr(ext, i - ext), words.next(), spec, env.symbolize);
        return true;
    }
    case '%':
        out.put('%');
        return true;
    case 'o':
        spec.base = 8;
        break;
    case 'x':
        spec.flags |= kSmall;
        [[fallthrough]];
    case 'X':
        spec.base = 16;
        break;
    case 'd':
    case 'i':
        spec.flags |= kSign;
        break;
    case 'u':
        break;
    default: // %n, unsupported letters and a trailing '%'
        return false;
    }
    put_number(out, integer_argument(c.qualifier, spec.flags & kSign, words), spec);
    return true;
}

// ---------------------------------------------------------------------------------------
// Crash report

__attribute__((format(printf, 1, 2))) std::string strprintf(const char* fmt, ...) {
    std::va_list ap;
    va_start(ap, fmt);
    std::va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap2);
    va_end(ap2);
    std::string text(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n > 0)
        std::vsnprintf(text.data(), text.size() + 1, fmt, ap);
    va_end(ap);
    return text;
}

/// Splits text after each '\n', as the console prints a record's embedded newlines.
void append_lines(std::vector<std::string>& lines, std::string_view text) {
    while (!text.empty()) {
        size_t nl = text.find('\n');
        size_t len = nl == std::string_view::npos ? text.size() : nl + 1;
        lines.emplace_back(text.substr(0, len));
        text.remove_prefix(len);
    }
}

/// processor_modes[] of arch/arm/kernel/process.c, indexed by CPSR.M. NOTE:
/// piemu::mode_name() says "SYSTEM_32" and "UK_32" where the kernel says "SYS_32" and
/// "UK<n>_32"/"*_26", so the register dump keeps its own table.
constexpr const char* kProcessorModes[32] = {
    "USER_26", "FIQ_26", "IRQ_26",  "SVC_26",  "UK4_26",  "UK5_26",  "UK6_26",  "UK7_26",
    "UK8_26",  "UK9_26", "UK10_26", "UK11_26", "UK12_26", "UK13_26", "UK14_26", "UK15_26",
    "USER_32", "FIQ_32", "IRQ_32",  "SVC_32",  "UK4_32",  "UK5_32",  "MON_32",  "ABT_32",
    "UK8_32",  "UK9_32", "HYP_32",  "UND_32",  "UK12_32", "UK13_32", "UK14_32", "SYS_32",
};

/// isa_modes[], indexed by J:T.
constexpr const char* kIsaModes[4] = {"ARM", "Thumb", "Jazelle", "ThumbEE"};

/// taint_flags[] of 4.14 (kernel/panic.c): the letter when set, the column when clear.
struct TaintFlag {
    char set, clear;
};
constexpr TaintFlag kTaintFlags[16] = {
    {'P', 'G'}, {'F', ' '}, {'S', ' '}, {'R', ' '}, {'M', ' '}, {'B', ' '}, {'U', ' '}, {'D', ' '},
    {'A', ' '}, {'W', ' '}, {'C', ' '}, {'I', ' '}, {'O', ' '}, {'E', ' '}, {'K', ' '}, {'L', ' '},
};

/// DOMAIN_USER (domain 1) with DOMAIN_NOACCESS, arch/arm/include/asm/domain.h.
bool user_domain_no_access(uint32_t dacr) {
    return ((dacr >> 2) & 3) == 0;
}
/// KERNEL_DS of ARM with an MMU (arch/arm/include/asm/uaccess.h); USER_DS is TASK_SIZE.
constexpr uint32_t kKernelDs = 0x00000000;

} // namespace

std::string cpsr_flags(uint32_t cpsr) {
    const char nzcv[5] = {(cpsr & psr::N) ? 'N' : 'n', (cpsr & psr::Z) ? 'Z' : 'z',
                          (cpsr & psr::C) ? 'C' : 'c', (cpsr & psr::V) ? 'V' : 'v', '\0'};
    const unsigned isa = ((cpsr & psr::J) ? 2 : 0) | ((cpsr & psr::T) ? 1 : 0);
    return strprintf("%s  IRQs o%s  FIQs o%s  Mode %s  ISA %s", nzcv, (cpsr & psr::I) ? "ff" : "n",
                     (cpsr & psr::F) ? "ff" : "n", kProcessorModes[cpsr & psr::M], kIsaModes[isa]);
}

namespace {

std::string flags_line(uint32_t cpsr, const CrashContext& ctx) {
    const char* segment = user_domain_no_access(ctx.dacr) ? "none"
                          : ctx.addr_limit == kKernelDs   ? "kernel"
                                                          : "user";
    return strprintf("Flags: %s  Segment %s\n", cpsr_flags(cpsr).c_str(), segment);
}

/// user_mode(regs): CPSR.M[3:0] == 0 (USER_26 or USER_32).
bool user_mode(const PtRegsValues& regs) {
    return (regs.uregs[kCpsr] & 0xf) == 0;
}

/// Little-endian read of `size` bytes at any alignment through 4-aligned word reads.
bool read_le(const CrashContext& ctx, uint32_t addr, unsigned size, uint32_t& value) {
    if (!ctx.read_word)
        return false;
    value = 0;
    for (unsigned k = 0; k < size; ++k) {
        const uint32_t byte_addr = addr + k;
        uint32_t word = 0;
        if (!ctx.read_word(byte_addr & ~3u, word))
            return false;
        value |= ((word >> ((byte_addr & 3) * 8)) & 0xff) << (8 * k);
    }
    return true;
}

/// dump_mem(): "%04lx:" rows of 8 words from bottom & ~31; words outside [bottom, top)
/// are blank columns; a row ends after its last word (a row without one is all blanks).
void dump_mem(std::vector<std::string>& lines, const char* title, uint32_t bottom, uint32_t top,
              const CrashContext& ctx) {
    lines.push_back(strprintf("%s(0x%08x to 0x%08x)\n", title, bottom, top));
    // NOTE: an sp far below the stack would make the kernel dump up to 4 GiB; piemu
    // prints at most the THREAD_SIZE bytes below top.
    if (top > bottom && top - bottom > kThreadSize)
        bottom = top - kThreadSize;
    for (uint64_t first = bottom & ~31u; first < top; first += 32) {
        std::string row = strprintf("%04x:", static_cast<unsigned>(first & 0xffff));
        std::string cells(8 * 9, ' ');
        size_t used = cells.size(); // no word in this row: all blanks
        for (unsigned i = 0; i < 8 && first + 4 * i < top; ++i) {
            const uint64_t p = first + 4 * i;
            if (p < bottom)
                continue;
            uint32_t word = 0;
            std::string cell = ctx.read_word && ctx.read_word(static_cast<uint32_t>(p), word)
                                   ? strprintf(" %08x", word)
                                   : std::string(" ????????");
            cells.replace(i * 9, 9, cell);
            used = (i + 1) * 9;
        }
        lines.push_back(row + cells.substr(0, used) + "\n");
    }
}

/// dump_instr(): four words before pc and the one at pc in parentheses; in Thumb state
/// halfwords from pc - 8 to pc + 2. Stops at the first unreadable one.
std::string code_line(const PtRegsValues& regs, const CrashContext& ctx) {
    const uint32_t pc = regs.uregs[kPc];
    const bool thumb = regs.uregs[kCpsr] & psr::T;
    const unsigned size = thumb ? 2 : 4;
    std::string text = "Code: ";
    for (int i = -4; i <= (thumb ? 1 : 0); ++i) {
        uint32_t insn = 0;
        if (!read_le(ctx, pc + static_cast<uint32_t>(i) * size, size, insn)) {
            text += "bad PC value";
            break;
        }
        text += strprintf(i == 0 ? "(%0*x) " : "%0*x ", static_cast<int>(size * 2), insn);
    }
    return text + "\n";
}

} // namespace

std::string format_guest_printk(std::string_view fmt, std::span<const uint32_t> args,
                                const GuestFormatEnv& env) {
    fmt = fmt.substr(0, fmt.find('\0'));
    Out out(kPrintkTextMax);
    ArgWords words(args);
    size_t i = 0;
    while (i < fmt.size() && !out.full()) {
        const size_t pct = fmt.find('%', i);
        out.put(fmt.substr(i, pct - i));
        if (pct == std::string_view::npos)
            break;
        i = pct + 1;
        const Conversion c = decode(fmt, i, words);
        if (!convert(out, c, fmt, i, words, env))
            break;
    }
    return out.take();
}

std::string print_tainted(uint32_t taint) {
    if (taint == 0)
        return "Not tainted";
    std::string text = "Tainted: ";
    for (unsigned bit = 0; bit < std::size(kTaintFlags); ++bit)
        text += (taint >> bit & 1) ? kTaintFlags[bit].set : kTaintFlags[bit].clear;
    return text;
}

std::vector<std::string> dump_stack_print_info_lines(const CrashContext& ctx) {
    std::vector<std::string> lines;
    const std::string version = ctx.version.substr(0, ctx.version.find(' '));
    lines.push_back(strprintf("CPU: %u PID: %d Comm: %.20s %s %s %s\n", ctx.cpu, ctx.pid,
                              ctx.comm.c_str(), print_tainted(ctx.taint).c_str(),
                              ctx.release.c_str(), version.c_str()));
    if (!ctx.hardware.empty())
        lines.push_back("Hardware name: " + ctx.hardware + "\n");
    return lines;
}

std::vector<std::string> show_regs_lines(const PtRegsValues& regs, const CrashContext& ctx) {
    const uint32_t* r = regs.uregs;
    std::vector<std::string> lines = dump_stack_print_info_lines(ctx);
    lines.push_back("task: " + pointer_text(ctx.task) + " task.stack: " + pointer_text(ctx.stack) +
                    "\n");
    // 4.14 prints these with print_symbol(), not %pS: a NULL pc is "0x0", not "(null)".
    lines.push_back("PC is at " + symbol_text(r[kPc], 'S', ctx.symbolize) + "\n");
    lines.push_back("LR is at " + symbol_text(r[kLr], 'S', ctx.symbolize) + "\n");
    lines.push_back(
        strprintf("pc : [<%08x>]    lr : [<%08x>]    psr: %08x\n", r[kPc], r[kLr], r[kCpsr]));
    lines.push_back(strprintf("sp : %08x  ip : %08x  fp : %08x\n", r[kSp], r[kIp], r[kFp]));
    lines.push_back(strprintf("r10: %08x  r9 : %08x  r8 : %08x\n", r[10], r[9], r[8]));
    lines.push_back(
        strprintf("r7 : %08x  r6 : %08x  r5 : %08x  r4 : %08x\n", r[7], r[6], r[5], r[4]));
    lines.push_back(
        strprintf("r3 : %08x  r2 : %08x  r1 : %08x  r0 : %08x\n", r[3], r[2], r[1], r[0]));
    lines.push_back(flags_line(r[kCpsr], ctx));
    lines.push_back(
        strprintf("Control: %08x  Table: %08x  DAC: %08x\n", ctx.sctlr, ctx.ttbr0, ctx.dacr));
    return lines;
}

std::vector<std::string> die_lines(const char* str, uint32_t err, const PtRegsValues& regs,
                                   const CrashContext& ctx) {
    std::vector<std::string> lines;
    lines.push_back(strprintf("Internal error: %s: %x [#%d]%s%s%s\n", str ? str : "(null)", err,
                              ctx.die_counter, ctx.preempt ? " PREEMPT" : "", ctx.smp ? " SMP" : "",
                              ctx.thumb2_kernel ? " THUMB2" : " ARM"));
    lines.push_back("Modules linked in:\n");
    std::vector<std::string> show = show_regs_lines(regs, ctx);
    lines.insert(lines.end(), show.begin(), show.end());
    lines.push_back(strprintf("Process %.*s (pid: %d, stack limit = 0x%s)\n", kTaskCommLen,
                              ctx.comm.c_str(), ctx.pid,
                              pointer_text(ctx.stack + kThreadInfoSize).c_str()));
    if (user_mode(regs) && !ctx.in_interrupt)
        return lines;
    // The task's stack page; without one, the 8 KiB block that holds sp.
    const uint32_t sp = regs.uregs[kSp];
    const uint32_t base = ctx.stack != 0 ? ctx.stack : sp & ~(kThreadSize - 1);
    dump_mem(lines, "Stack: ", sp, base + kThreadSize, ctx);
    for (const std::string& line : ctx.backtrace)
        lines.push_back(line.empty() || line.back() != '\n' ? line + "\n" : line);
    lines.push_back(code_line(regs, ctx));
    return lines;
}

std::string kernel_fault_line(uint32_t addr) {
    return strprintf("Unable to handle kernel %s at virtual address %08x\n",
                     addr < kPageSize ? "NULL pointer dereference" : "paging request", addr);
}

std::vector<std::string> panic_lines(std::string_view msg) {
    msg = msg.substr(0, std::min(msg.find('\0'), kPanicBufMax));
    std::vector<std::string> lines;
    append_lines(lines, "Kernel panic - not syncing: " + std::string(msg) + "\n");
    append_lines(lines, "---[ end Kernel panic - not syncing: " + std::string(msg) + "\n");
    return lines;
}

std::vector<std::string> split_panic_end(std::vector<std::string>& lines) {
    auto it = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.starts_with("---[ end Kernel panic");
    });
    std::vector<std::string> end(it, lines.end());
    lines.erase(it, lines.end());
    return end;
}

} // namespace piemu::kernel
