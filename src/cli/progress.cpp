#include "cli/progress.hpp"

#include <cerrno>
#include <cstdio>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "kernel/kernel_model.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/machine.hpp"

namespace piemu::cli {

namespace {
// Slices are cut at most this many cycles apart while the status runs (about 1 ms of
// virtual time, a few ms of host time), so poll() comes often enough even when no timer
// is armed. Where a slice ends changes nothing the guest sees (Machine::set_progress).
constexpr uint64_t kMaxSliceCycles = 1u << 20;
constexpr const char* kErase = "\r\033[K"; // to column 0, erase to the end of the line

/// False (errno set) if the descriptor refused the bytes.
bool write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= size_t(w);
    }
    return true;
}

// The terminal's state, shared by the replaced streams and the status. Trivially
// destructible on purpose: the streams are flushed at exit, after static destructors.
struct Terminal {
    bool claimed = false;
    bool shown = false;        ///< the status is on the terminal
    bool line_started = false; ///< output left the cursor in the middle of a line
};
Terminal g_terminal;
int g_fds[2] = {1, 2}; // the cookies: stdout's and stderr's descriptors

void hide() {
    if (!g_terminal.shown)
        return;
    write_all(2, kErase, std::char_traits<char>::length(kErase)); // a lost terminal shows nothing
    g_terminal.shown = false;
}

/// The replaced streams' write: erase the status, write, note where the cursor is.
ssize_t write_through(void* cookie, const char* buf, size_t size) {
    if (size == 0)
        return 0;
    hide();
    if (!write_all(*static_cast<int*>(cookie), buf, size))
        return -1; // the stream's error, as the descriptor's own would be
    g_terminal.line_started = buf[size - 1] != '\n';
    return ssize_t(size);
}

FILE* replace(FILE* old, int* fd, int mode, size_t size) {
    cookie_io_functions_t io{};
    io.write = write_through;
    std::fflush(old);
    FILE* f = fopencookie(fd, "w", io);
    if (!f)
        return old;
    setvbuf(f, nullptr, mode, size);
    return f;
}

/// CPSR.M as entry-armv.S suffixes its handlers (__irq_svc) and traces print it.
const char* short_mode(uint32_t m) {
    switch (m & psr::M) {
    case 0x10:
        return "usr";
    case 0x11:
        return "fiq";
    case 0x12:
        return "irq";
    case 0x13:
        return "svc";
    case 0x16:
        return "mon";
    case 0x17:
        return "abt";
    case 0x1a:
        return "hyp";
    case 0x1b:
        return "und";
    case 0x1f:
        return "sys";
    }
    return "?";
}

void draw(const std::string& line) {
    // Never over a line the guest (or piemu) has not finished: it would be erased.
    if (g_terminal.line_started)
        return;
    unsigned width = 80;
    winsize ws{};
    if (::ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    // One column short of the width: a full line wraps on some terminals, and a wrapped
    // line is not erased by the next carriage return.
    std::string text = "\r" + line.substr(0, width - 1) + "\033[K";
    write_all(2, text.data(), text.size());
    g_terminal.shown = true;
}
} // namespace

bool claim_terminal() {
    if (g_terminal.claimed)
        return true;
    if (!::isatty(2))
        return false;
    g_terminal.claimed = true;
    // stdout only when it is a terminal: a file or pipe never shows the status.
    if (::isatty(1))
        stdout = replace(stdout, &g_fds[0], _IOLBF, BUFSIZ); // as a terminal's stdout
    stderr = replace(stderr, &g_fds[1], _IONBF, 0);          // as stderr
    return true;
}

std::unique_ptr<Progress> Progress::start(Machine& machine, uint64_t interval_ns) {
    if (!g_terminal.claimed)
        return nullptr;
    std::unique_ptr<Progress> p(new Progress(machine, interval_ns));
    Progress* self = p.get();
    machine.set_progress([self] { self->poll(); }, kMaxSliceCycles);
    return p;
}

Progress::Progress(Machine& machine, uint64_t interval_ns)
    : m_(machine), interval_(std::chrono::nanoseconds(interval_ns)) {
    last_host_ = HostClock::now();
    next_draw_ = last_host_ + interval_;
    last_insns_ = m_.instructions();
    last_ns_ = m_.clock().now_ns();
    last_irqs_ = m_.exceptions_taken(ExceptionType::Irq);
    last_fiqs_ = m_.exceptions_taken(ExceptionType::Fiq);
}

Progress::~Progress() {
    finish();
    m_.set_progress(nullptr, 0);
}

void Progress::poll() {
    if (finished_ || HostClock::now() < next_draw_)
        return;
    draw(status_line());
    next_draw_ = HostClock::now() + interval_;
}

void Progress::finish() {
    if (finished_)
        return;
    finished_ = true;
    std::fflush(stdout);
    draw(status_line());
    hide();
}

std::string Progress::status_line() {
    // Rates over the time since the previous line: MIPS per host second (how fast the
    // guest runs here), interrupts per second of virtual time (what the guest sees).
    HostClock::time_point host = HostClock::now();
    uint64_t insns = m_.instructions();
    uint64_t ns = m_.clock().now_ns();
    uint64_t irqs = m_.exceptions_taken(ExceptionType::Irq);
    uint64_t fiqs = m_.exceptions_taken(ExceptionType::Fiq);
    double host_us = std::chrono::duration<double, std::micro>(host - last_host_).count();
    if (host_us > 0)
        mips_ = double(insns - last_insns_) / host_us;
    if (ns > last_ns_) {
        irq_rate_ = double(irqs - last_irqs_) * 1e9 / double(ns - last_ns_);
        fiq_rate_ = double(fiqs - last_fiqs_) * 1e9 / double(ns - last_ns_);
    }
    last_host_ = host;
    last_insns_ = insns;
    last_ns_ = ns;
    last_irqs_ = irqs;
    last_fiqs_ = fiqs;

    std::string line = fmt::format("{}.{:06} s virtual | {:.1f} MIPS | {:.0f} irq/s",
                                   ns / 1000000000, ns % 1000000000 / 1000, mips_, irq_rate_);
    if (fiqs)
        line += fmt::format(" | {:.0f} fiq/s", fiq_rate_);
    if (kernel::KernelModel* km = m_.kernel_model()) {
        // The kernel model runs on CPU 0: its current task, and the context it is in.
        const kernel::task_struct* t = km->current(0);
        uint32_t pc = km->preempt().get(0);
        line += fmt::format(" | {}/{}", t->comm, t->pid);
        if (kernel::in_irq(pc))
            line += " (hardirq)";
        else if (kernel::in_serving_softirq(pc))
            line += " (softirq)";
    } else {
        // Bare: the mode of each core that runs (core 0 alone until a second starts).
        line += " | bare";
        unsigned n = m_.smp_active() ? m_.core_count() : 1;
        for (unsigned i = 0; i < n; ++i)
            line +=
                fmt::format(" {}", m_.core_parked(i) ? "parked" : short_mode(m_.core(i).mode()));
    }
    return line;
}

} // namespace piemu::cli
