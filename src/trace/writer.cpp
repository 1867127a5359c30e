// The text writer: the tracefs `trace` file of Linux 4.14 byte for byte.
//
//   s_show()                     "# tracer: %s\n#\n", then the default header:
//   print_event_info()           "# entries-in-buffer/entries-written: %lu/%lu   #P:%d\n#\n"
//   print_func_help_header_irq() the irqs-off / need-resched / hardirq-softirq /
//                                preempt-depth legend (no TGID column)
//   trace_print_context()        "%16s-%-5d [%03d] " FLAGS " %5lu.%06lu: "
//   print_trace_fmt()            "%s: " (event name) and the TP_printk text, or
//                                trace_fn_trace()'s "%ps <-%ps" for the function tracer
//   print_trace_line()           "CPU:%d [LOST %lu EVENTS]\n" before an event after a loss
//   test_cpu_buff_start()        "##### CPU %u buffer started ####\n"
//
// The timestamp is ns2usecs(): nanoseconds rounded to the nearest microsecond.
// The comm is trace_find_cmdline()'s: "<idle>" for pid 0, "<XXX>" below 0, "<...>"
// above PID_MAX_DEFAULT, else the comm recorded with the event (the kernel looks it
// up in its saved_cmdlines cache; piemu records it, so it never shows "<...>" for
// an evicted entry).
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <ostream>

#include "trace/printer.hpp"

namespace piemu::trace {

namespace {

void append_printf(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void append_printf(std::string& out, const char* format, ...) {
    std::va_list ap, again;
    va_start(ap, format);
    va_copy(again, ap);
    char buf[256];
    int n = std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    if (n > 0 && static_cast<std::size_t>(n) < sizeof buf) {
        out.append(buf, static_cast<std::size_t>(n));
    } else if (n > 0) { // a long hand-written comm or tracer name
        std::size_t at = out.size();
        out.resize(at + static_cast<std::size_t>(n) + 1);
        std::vsnprintf(out.data() + at, static_cast<std::size_t>(n) + 1, format, again);
        out.resize(at + static_cast<std::size_t>(n));
    }
    va_end(again);
}

// printf's "%*s"/"%-*s" (right/left-aligned in `width`) and "%0*llu", without
// vsnprintf: the context of every trace line goes through these (a full ring is
// 30,000 lines; the writer's time was mostly vsnprintf's).
void append_padded(std::string& out, std::string_view s, std::size_t width, bool left) {
    std::size_t pad = s.size() < width ? width - s.size() : 0;
    if (!left)
        out.append(pad, ' ');
    out.append(s);
    if (left)
        out.append(pad, ' ');
}
template <typename T>
void append_number(std::string& out, T v, std::size_t width, char fill = ' ', bool left = false) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string_view digits(buf, std::size_t(r.ptr - buf));
    if (fill == '0' && digits.size() < width)
        out.append(width - digits.size(), '0');
    append_padded(out, digits, fill == '0' ? 0 : width, left);
}

// The 4.14 legend without TGID: print_func_help_header_irq()'s seven seq_printf()s
// with `space` = "  " substituted.
constexpr const char* kLegend = "#                              _-----=> irqs-off\n"
                                "#                             / _----=> need-resched\n"
                                "#                            | / _---=> hardirq/softirq\n"
                                "#                            || / _--=> preempt-depth\n"
                                "#                            ||| /     delay\n"
                                "#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION\n"
                                "#              | |       |   ||||       |         |\n";

std::string cmdline(const StringTable& strings, std::int32_t pid, StrId comm) {
    if (pid == 0)
        return "<idle>";
    if (pid < 0)
        return "<XXX>";
    if (pid > PID_MAX_DEFAULT)
        return "<...>";
    return std::string(strings.view(comm));
}

TraceLine render(const StringTable& strings, const detail::Slot& s, Printer& printer) {
    TraceLine line;
    line.kind = s.id == EventId::function ? TraceLine::Kind::function : TraceLine::Kind::event;
    line.comm = cmdline(strings, s.pid, s.comm);
    line.pid = s.pid;
    line.flags = flags_text(s.flags, s.preempt_count);
    line.ts_ns = s.ts_ns;
    line.name = event_info(s.id).name;
    printer.print(s.id, s.payload.data(), line.text);
    return line;
}

/// The header fields of a recorder's trace, without the lines.
Trace header_of(const Recorder& rec, const WriterOptions& options) {
    Trace t;
    if (!options.tracer.empty())
        t.tracer = options.tracer;
    else
        t.tracer = rec.enabled(EventId::function) ? "function" : "nop";
    if (options.entries_line) {
        EntriesLine e;
        for (unsigned cpu = 0; cpu < rec.nr_cpus(); ++cpu) {
            e.in_buffer += rec.entries(cpu);
            e.written += rec.entries(cpu) + rec.overrun(cpu);
        }
        e.nr_cpus = options.nr_online_cpus ? options.nr_online_cpus : int(rec.nr_cpus());
        t.entries = e;
    }
    return t;
}

} // namespace

std::string flags_text(std::uint8_t flags, std::uint8_t preempt_count) {
    bool nmi = flags & TRACE_FLAG_NMI;
    bool hardirq = flags & TRACE_FLAG_HARDIRQ;
    bool softirq = flags & TRACE_FLAG_SOFTIRQ;
    char irqs_off = (flags & TRACE_FLAG_IRQS_OFF)         ? 'd'
                    : (flags & TRACE_FLAG_IRQS_NOSUPPORT) ? 'X'
                                                          : '.';
    char need_resched = '.';
    switch (flags & (TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED)) {
    case TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED:
        need_resched = 'N';
        break;
    case TRACE_FLAG_NEED_RESCHED:
        need_resched = 'n';
        break;
    case TRACE_FLAG_PREEMPT_RESCHED:
        need_resched = 'p';
        break;
    default:
        break;
    }
    char hardsoft = (nmi && hardirq)       ? 'Z'
                    : nmi                  ? 'z'
                    : (hardirq && softirq) ? 'H'
                    : hardirq              ? 'h'
                    : softirq              ? 's'
                                           : '.';
    std::string out{irqs_off, need_resched, hardsoft};
    if (preempt_count) {
        char buf[4];
        auto r = std::to_chars(buf, buf + sizeof buf, preempt_count, 16); // "%x"
        out.append(buf, r.ptr);
    } else {
        out += '.';
    }
    return out;
}

std::string format_line(const TraceLine& line) {
    std::string out;
    switch (line.kind) {
    case TraceLine::Kind::lost_events:
        append_printf(out, "CPU:%u [LOST %llu EVENTS]", line.cpu,
                      static_cast<unsigned long long>(line.lost));
        return out;
    case TraceLine::Kind::buffer_started:
        append_printf(out, "##### CPU %u buffer started ####", line.cpu);
        return out;
    case TraceLine::Kind::event:
    case TraceLine::Kind::function:
        break;
    }
    unsigned long long usecs = (line.ts_ns + 500) / 1000;
    // "%16s-%-5d [%03u] %s %5llu.%06llu: "
    out.reserve(64 + line.name.size() + line.text.size());
    append_padded(out, line.comm, 16, false);
    out += '-';
    append_number(out, line.pid, 5, ' ', true);
    out += " [";
    append_number(out, line.cpu, 3, '0');
    out += "] ";
    out += line.flags;
    out += ' ';
    append_number(out, usecs / 1000000, 5);
    out += '.';
    append_number(out, usecs % 1000000, 6, '0');
    out += ": ";
    if (line.kind == TraceLine::Kind::event) {
        out += line.name;
        out += ": ";
    }
    out += line.text;
    return out;
}

std::string format_header(const Trace& trace) {
    std::string out;
    append_printf(out, "# tracer: %s\n#\n", trace.tracer.c_str());
    if (trace.entries) {
        append_printf(out, "# entries-in-buffer/entries-written: %llu/%llu   #P:%d\n#\n",
                      static_cast<unsigned long long>(trace.entries->in_buffer),
                      static_cast<unsigned long long>(trace.entries->written),
                      trace.entries->nr_cpus);
    }
    out += kLegend;
    return out;
}

std::string write_trace(const Trace& trace) {
    std::string out = format_header(trace);
    for (const TraceLine& line : trace.lines) {
        out += format_line(line);
        out += '\n';
    }
    return out;
}

void Recorder::for_each_line(const WriterOptions& options,
                             const std::function<void(const TraceLine&)>& fn) const {
    Printer printer(strings_);
    std::vector<std::size_t> next(rings_.size(), 0);
    std::vector<bool> started(rings_.size(), false);
    bool overran = false;
    for (const detail::CpuRing& r : rings_)
        overran = overran || r.overrun;
    std::uint64_t idx = 0; // trace_iterator.idx of the entry being printed
    for (;;) {
        // __find_next_entry(): the smallest timestamp; ties go to the lower CPU.
        std::size_t c = rings_.size();
        std::uint64_t ts = 0;
        for (std::size_t i = 0; i < rings_.size(); ++i) {
            if (next[i] == rings_[i].count)
                continue;
            if (c == rings_.size() || rings_[i].at(next[i]).ts_ns < ts) {
                c = i;
                ts = rings_[i].at(next[i]).ts_ns;
            }
        }
        if (c == rings_.size())
            return;
        const detail::CpuRing& r = rings_[c];
        if (!started[c]) {
            TraceLine marker;
            marker.cpu = static_cast<unsigned>(c);
            if (options.loss_marker == LossMarker::lost_events && r.overrun) {
                marker.kind = TraceLine::Kind::lost_events;
                marker.lost = r.overrun;
                fn(marker);
            } else if (options.loss_marker == LossMarker::buffer_started && overran && idx > 1) {
                marker.kind = TraceLine::Kind::buffer_started;
                fn(marker);
            }
            started[c] = true;
        }
        TraceLine line = render(strings_, r.at(next[c]), printer);
        line.cpu = static_cast<unsigned>(c);
        fn(line);
        ++next[c];
        ++idx;
    }
}

Trace Recorder::snapshot(const WriterOptions& options) const {
    Trace t = header_of(*this, options);
    for_each_line(options, [&](const TraceLine& line) { t.lines.push_back(line); });
    return t;
}

void Recorder::write(std::ostream& out, const WriterOptions& options) const {
    out << format_header(header_of(*this, options));
    for_each_line(options, [&](const TraceLine& line) { out << format_line(line) << '\n'; });
}

} // namespace piemu::trace
