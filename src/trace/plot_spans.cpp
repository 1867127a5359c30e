// The spans of `piemu trace plot` (plot_spans.hpp): handler entries paired with their
// exits, task runs from sched_switch, exception entries as markers.
//
// Pairs are matched per CPU, innermost first, as the kernel nests them. An exit
// whose entry is not in the trace starts at its CPU's first event (the entry came
// before it, or the trace would have it: the span surely covers that much), and so
// does the task a CPU's first sched_switch switches out; an entry whose exit is not
// in the trace ends at the trace's last event. The task lane of a CPU is drawn only when the
// trace has its sched_switch events: an event's COMM-PID says who was interrupted,
// not when it started to run.
#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "trace/plot_spans.hpp"

namespace piemu::trace::plot {

namespace {

struct OpenHandler {
    std::uint64_t ts;
    int id; // irq number or softirq vector
    std::string name;
};

struct RunningTask {
    std::string comm;
    std::int32_t pid = 0;
    std::optional<std::int32_t> prio;
    std::uint64_t start = 0;
    bool open_start = false;
};

struct CpuState {
    std::uint64_t first = 0; // its first event: what is known of it starts there
    std::vector<OpenHandler> hard, soft;
    std::optional<RunningTask> task;
    bool switched = false; // a sched_switch seen: the task lane is drawn
};

template <typename T>
bool to_number(std::string_view s, T& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

/// The value after `key` in `text` up to `next` (or to the end when `next` is empty).
std::optional<std::string_view> field(std::string_view text, std::string_view key,
                                      std::string_view next = {}) {
    std::size_t at = text.find(key);
    if (at == std::string_view::npos)
        return std::nullopt;
    text.remove_prefix(at + key.size());
    if (next.empty())
        return text;
    std::size_t end = text.find(next);
    if (end == std::string_view::npos)
        return std::nullopt;
    return text.substr(0, end);
}

/// The IRQ number of an IRQ thread's comm "irq/N-name" (setup_irq_thread()).
std::optional<int> irq_of_thread(std::string_view comm) {
    if (!comm.starts_with("irq/"))
        return std::nullopt;
    std::size_t dash = comm.find('-');
    int irq = 0;
    if (dash == std::string_view::npos || !to_number(comm.substr(4, dash - 4), irq))
        return std::nullopt;
    return irq;
}

Error bad_fields(const TraceLine& l, std::string_view expected) {
    return Error{
        fmt::format("line {}: {}: expected '{}', got '{}'", l.line_no, l.name, expected, l.text)};
}

/// Everything the events say, before any coordinate.
class SpanBuilder {
public:
    ErrorOr<void> add(const TraceLine& l);
    void finish(std::uint64_t last);

    std::uint64_t first = 0, last = 0;
    bool any = false;
    std::uint64_t lost = 0;
    std::map<int, CpuState> cpus;
    std::map<int, IrqInfo> irqs;
    std::vector<Span> spans;
    std::vector<std::pair<int, PlotMarker>> markers; // cpu, marker

private:
    ErrorOr<void> hardirq(const TraceLine& l, CpuState& cpu, bool entry);
    ErrorOr<void> softirq(const TraceLine& l, CpuState& cpu, bool entry);
    ErrorOr<void> sched_switch(const TraceLine& l, CpuState& cpu);
    ErrorOr<void> exception(const TraceLine& l);
    void end_task(int cpu, CpuState& state, std::uint64_t ts, bool open_end);
    void add(RowKey row, Lane lane, PlotKind kind, When when, std::string label,
             std::string title) {
        spans.push_back({row, lane, kind, when, std::move(label), std::move(title)});
    }
    void note_name(int irq, std::string_view name) {
        auto& names = irqs[irq].names;
        if (std::find(names.begin(), names.end(), name) == names.end())
            names.emplace_back(name);
    }
};

ErrorOr<void> SpanBuilder::add(const TraceLine& l) {
    if (l.kind == TraceLine::Kind::lost_events) {
        // The marker precedes the CPU's first surviving event: nothing is open yet.
        lost += l.lost;
        return {};
    }
    if (l.kind != TraceLine::Kind::event && l.kind != TraceLine::Kind::function)
        return {};
    if (!any)
        first = l.ts_ns;
    any = true;
    last = std::max(last, l.ts_ns);
    auto [at, inserted] = cpus.try_emplace(static_cast<int>(l.cpu));
    CpuState& cpu = at->second;
    if (inserted)
        cpu.first = l.ts_ns;
    if (l.name == "irq_handler_entry" || l.name == "irq_handler_exit")
        return hardirq(l, cpu, l.name == "irq_handler_entry");
    if (l.name == "softirq_entry" || l.name == "softirq_exit")
        return softirq(l, cpu, l.name == "softirq_entry");
    if (l.name == "sched_switch")
        return sched_switch(l, cpu);
    if (l.name == "exception_entry")
        return exception(l);
    return {};
}

ErrorOr<void> SpanBuilder::hardirq(const TraceLine& l, CpuState& cpu, bool entry) {
    int irq = 0;
    auto number = field(l.text, "irq=", " ");
    if (!number || !l.text.starts_with("irq=") || !to_number(*number, irq))
        return bad_fields(l, entry ? "irq=N name=NAME" : "irq=N ret=handled|unhandled");
    int c = static_cast<int>(l.cpu);
    if (entry) {
        auto name = field(l.text, " name=");
        if (!name)
            return bad_fields(l, "irq=N name=NAME");
        note_name(irq, *name);
        cpu.hard.push_back({l.ts_ns, irq, std::string(*name)});
        return {};
    }
    auto ret = field(l.text, " ret=");
    if (!ret || (*ret != "handled" && *ret != "unhandled"))
        return bad_fields(l, "irq=N ret=handled|unhandled");
    auto it = std::find_if(cpu.hard.rbegin(), cpu.hard.rend(),
                           [&](const OpenHandler& h) { return h.id == irq; });
    OpenHandler h{cpu.first, irq, {}};
    bool open_start = it == cpu.hard.rend();
    if (!open_start) {
        h = *it;
        cpu.hard.erase(std::next(it).base());
    } else {
        irqs[irq]; // the row exists even if only exits are traced
    }
    PlotKind kind = *ret == "handled" ? PlotKind::hardirq : PlotKind::hardirq_unhandled;
    std::string who =
        h.name.empty() ? fmt::format("irq {}", irq) : fmt::format("irq {} {}", irq, h.name);
    std::string title =
        fmt::format("{} on CPU {}: {} s{} to {} s, {}", who, c, ts_text(h.ts),
                    open_start ? " (entry not traced)" : "", ts_text(l.ts_ns), *ret);
    std::string cpu_label =
        h.name.empty() ? std::to_string(irq) : fmt::format("{} {}", irq, h.name);
    add({PlotRow::Kind::cpu, c}, Lane::cpu_hardirq, kind, {h.ts, l.ts_ns, open_start, false},
        cpu_label, title);
    add({PlotRow::Kind::irq, irq}, Lane::irq_handlers, kind, {h.ts, l.ts_ns, open_start, false},
        h.name, title);
    return {};
}

ErrorOr<void> SpanBuilder::softirq(const TraceLine& l, CpuState& cpu, bool entry) {
    unsigned vec = 0;
    auto number = field(l.text, "vec=", " ");
    auto action = field(l.text, "[action=", "]");
    if (!number || !action || !l.text.starts_with("vec=") || !to_number(*number, vec))
        return bad_fields(l, "vec=N [action=NAME]");
    if (entry) {
        cpu.soft.push_back({l.ts_ns, static_cast<int>(vec), std::string(*action)});
        return {};
    }
    auto it = std::find_if(cpu.soft.rbegin(), cpu.soft.rend(),
                           [&](const OpenHandler& h) { return h.id == static_cast<int>(vec); });
    OpenHandler h{cpu.first, static_cast<int>(vec), std::string(*action)};
    bool open_start = it == cpu.soft.rend();
    if (!open_start) {
        h = *it;
        cpu.soft.erase(std::next(it).base());
    }
    int c = static_cast<int>(l.cpu);
    std::string title =
        fmt::format("softirq {} {} on CPU {}: {} s{} to {} s", vec, h.name, c, ts_text(h.ts),
                    open_start ? " (entry not traced)" : "", ts_text(l.ts_ns));
    add({PlotRow::Kind::cpu, c}, Lane::cpu_softirq, PlotKind::softirq,
        {h.ts, l.ts_ns, open_start, false}, h.name, title);
    return {};
}

void SpanBuilder::end_task(int c, CpuState& state, std::uint64_t ts, bool open_end) {
    if (!state.task)
        return;
    RunningTask t = std::move(*state.task);
    state.task.reset();
    if (t.pid == 0 || (t.open_start && ts == t.start))
        return; // the idle task is not drawn; nor a run of which nothing is known
    std::string who = fmt::format("{}-{}", t.comm, t.pid);
    std::string prio = t.prio ? fmt::format(", prio {}", *t.prio) : std::string{};
    std::string title =
        fmt::format("{} on CPU {}{}: {} s{} to {} s{}", who, c, prio, ts_text(t.start),
                    t.open_start ? " (or before)" : "", ts_text(ts), open_end ? " (or after)" : "");
    auto irq = irq_of_thread(t.comm);
    PlotKind kind = irq ? PlotKind::irq_thread : PlotKind::task;
    add({PlotRow::Kind::cpu, c}, Lane::cpu_task, kind, {t.start, ts, t.open_start, open_end},
        t.comm, title);
    if (irq) {
        irqs[*irq].thread = t.comm;
        add({PlotRow::Kind::irq, *irq}, Lane::irq_thread, kind,
            {t.start, ts, t.open_start, open_end}, t.comm, title);
    }
}

ErrorOr<void> SpanBuilder::sched_switch(const TraceLine& l, CpuState& cpu) {
    constexpr std::string_view kFormat = "prev_comm=A prev_pid=N ... ==> next_comm=B next_pid=M "
                                         "next_prio=P";
    auto arrow = l.text.find(" ==> ");
    if (arrow == std::string_view::npos)
        return bad_fields(l, kFormat);
    std::string_view prev = std::string_view(l.text).substr(0, arrow);
    std::string_view next = std::string_view(l.text).substr(arrow + 5);
    auto prev_comm = field(prev, "prev_comm=", " prev_pid=");
    auto prev_pid = field(prev, " prev_pid=", " ");
    auto prev_prio = field(prev, " prev_prio=", " ");
    auto next_comm = field(next, "next_comm=", " next_pid=");
    auto next_pid = field(next, " next_pid=", " ");
    auto next_prio = field(next, " next_prio=");
    RunningTask in;
    std::int32_t out_pid = 0, out_prio = 0, in_prio = 0;
    if (!prev_comm || !prev_pid || !prev_prio || !next_comm || !next_pid || !next_prio ||
        !to_number(*prev_pid, out_pid) || !to_number(*prev_prio, out_prio) ||
        !to_number(*next_pid, in.pid) || !to_number(*next_prio, in_prio))
        return bad_fields(l, kFormat);
    int c = static_cast<int>(l.cpu);
    if (!cpu.switched && !cpu.task) // the task before the first switch
        cpu.task = RunningTask{std::string(*prev_comm), out_pid, out_prio, cpu.first, true};
    cpu.switched = true;
    if (cpu.task && cpu.task->pid == out_pid)
        cpu.task->prio = out_prio;
    end_task(c, cpu, l.ts_ns, false);
    in.comm = std::string(*next_comm);
    in.prio = in_prio;
    in.start = l.ts_ns;
    cpu.task = std::move(in);
    return {};
}

ErrorOr<void> SpanBuilder::exception(const TraceLine& l) {
    auto type = field(l.text, "type=", " from=");
    auto from = field(l.text, " from=", " pc=");
    auto pc = field(l.text, " pc=", " ");
    if (!type || !from || !pc || !l.text.starts_with("type="))
        return bad_fields(l, "type=T from=MODE pc=0x... lr=0x... cpsr=0x...");
    PlotMarker m;
    m.ts_ns = l.ts_ns;
    m.type = std::string(*type);
    m.title = fmt::format("exception {} from {} at pc {} on CPU {}: {} s", *type, *from, *pc, l.cpu,
                          ts_text(l.ts_ns));
    markers.emplace_back(static_cast<int>(l.cpu), std::move(m));
    return {};
}

void SpanBuilder::finish(std::uint64_t end) {
    for (auto& [c, cpu] : cpus) {
        for (const auto* stack : {&cpu.hard, &cpu.soft}) {
            for (const OpenHandler& h : *stack) {
                bool hard = stack == &cpu.hard;
                std::string title = fmt::format(
                    "{} {} {} on CPU {}: {} s to {} s (exit not traced)", hard ? "irq" : "softirq",
                    h.id, h.name, c, ts_text(h.ts), ts_text(end));
                if (hard) {
                    add({PlotRow::Kind::cpu, c}, Lane::cpu_hardirq, PlotKind::hardirq,
                        {h.ts, end, false, true}, fmt::format("{} {}", h.id, h.name), title);
                    add({PlotRow::Kind::irq, h.id}, Lane::irq_handlers, PlotKind::hardirq,
                        {h.ts, end, false, true}, h.name, title);
                } else {
                    add({PlotRow::Kind::cpu, c}, Lane::cpu_softirq, PlotKind::softirq,
                        {h.ts, end, false, true}, h.name, title);
                }
            }
        }
        end_task(c, cpu, end, true);
    }
}

} // namespace

std::string ts_text(std::uint64_t ns) {
    std::uint64_t us = (ns + 500) / 1000;
    return fmt::format("{}.{:06}", us / 1000000, us % 1000000);
}

ErrorOr<Spans> collect_spans(const Trace& trace) {
    SpanBuilder b;
    for (const TraceLine& l : trace.lines)
        TRY(b.add(l));
    b.finish(b.last);
    Spans out;
    out.first = b.first;
    out.last = b.last;
    out.lost = b.lost;
    for (const auto& [c, _] : b.cpus)
        out.cpus.push_back(c);
    out.irqs = std::move(b.irqs);
    out.spans = std::move(b.spans);
    out.markers = std::move(b.markers);
    return out;
}

} // namespace piemu::trace::plot
