// Event tracing in the format of the Linux 4.14 tracefs `trace` file.
//
// Events come from one table, src/trace/events.def (STYLE.md #8): it defines the
// record of each event (a struct in trace::ev), how the writer prints it (the
// kernel's TP_printk format and arguments) and the event list in
// docs/trace-events.md. Recording copies a fixed-size binary record into the
// current CPU's ring buffer; nothing is formatted until the trace is written.
//
//   Recorder rec({.nr_cpus = 4});
//   StrId mbox = rec.intern("3f00b880.mailbox");        // once, at request_irq time
//   rec.record(ctx, ev::irq_handler_entry{.irq = 23, .name = mbox});
//   rec.write(file, {});                                 // header + merged lines
//
// The written file is byte for byte what `cat /sys/kernel/debug/tracing/trace`
// prints on Raspbian's 4.14 kernel (kernel/trace/trace.c s_show(),
// trace_output.c trace_print_context()/trace_print_lat_fmt()); read_trace()
// parses it (and hand-written files of the same format) back; diff_traces() and
// trace_diff_main() compare two such files for `piemu trace diff`.
//
// Everything here runs on the host thread of the run loop; nothing is thread-safe.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "piemu/error.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/kernel/sched.hpp"

namespace piemu::trace {

/// An interned string (StringTable); 0 is the empty string.
using StrId = std::uint32_t;

/// include/linux/sched.h: comm holds 15 characters and a NUL.
inline constexpr std::size_t TASK_COMM_LEN = 16;
/// include/linux/threads.h: the cmdline cache covers pids up to this; the trace
/// prints "<...>" for the comm of larger pids.
inline constexpr std::int32_t PID_MAX_DEFAULT = 0x8000;

// ---- the task states sched_switch reports (include/linux/sched.h of 4.14)
using kernel::TASK_IDLE;
using kernel::TASK_INTERRUPTIBLE;
using kernel::TASK_NOLOAD;
using kernel::TASK_RUNNING;
using kernel::TASK_UNINTERRUPTIBLE;
/// The states task_state_index() reports: R S D T t X Z P.
inline constexpr std::uint32_t TASK_REPORT = 0x007f;
inline constexpr std::int32_t TASK_REPORT_IDLE = 0x0080; ///< printed "I"
inline constexpr std::int32_t TASK_REPORT_MAX = 0x0100;  ///< preempted: printed "R+"

/// __trace_sched_switch_state(): sched_switch's prev_state from the task's state
/// (task->state | task->exit_state) and whether the switch is a preemption.
constexpr std::int32_t sched_switch_state(bool preempt, std::uint32_t state) {
    if (preempt)
        return TASK_REPORT_MAX;
    if (state == TASK_IDLE)
        return TASK_REPORT_IDLE;
    std::uint32_t s = state & TASK_REPORT;
    std::uint32_t top = 0; // 1 << (fls(s) - 1)
    while (s) {
        top = s & (~s + 1);
        s &= s - 1;
    }
    return static_cast<std::int32_t>(top);
}

// ---- trace_entry.flags (kernel/trace/trace.h TRACE_FLAG_*, values of 4.14)
inline constexpr std::uint8_t TRACE_FLAG_IRQS_OFF = 0x01;
inline constexpr std::uint8_t TRACE_FLAG_IRQS_NOSUPPORT = 0x02;
inline constexpr std::uint8_t TRACE_FLAG_NEED_RESCHED = 0x04;
inline constexpr std::uint8_t TRACE_FLAG_HARDIRQ = 0x08;
inline constexpr std::uint8_t TRACE_FLAG_SOFTIRQ = 0x10;
inline constexpr std::uint8_t TRACE_FLAG_PREEMPT_RESCHED = 0x20;
inline constexpr std::uint8_t TRACE_FLAG_NMI = 0x40;

/// The CPU state behind the four flag characters.
struct CpuState {
    bool irqs_off = false;             ///< IRQs masked (CPSR.I): 'd'
    bool need_resched = false;         ///< TIF_NEED_RESCHED of current: 'n'
    bool preempt_need_resched = false; ///< never on ARM: 'p', with need_resched 'N'
    std::uint32_t preempt_count = 0;   ///< the whole preempt_count(): h/s/H/z/Z, depth
};

/// tracing_generic_entry_update(): TRACE_FLAG_* bits from the CPU state. Softirq
/// context is SOFTIRQ_OFFSET (serving), not bottom halves merely disabled.
constexpr std::uint8_t entry_flags(const CpuState& s) {
    std::uint8_t f = 0;
    if (s.irqs_off)
        f |= TRACE_FLAG_IRQS_OFF;
    if (s.preempt_count & kernel::NMI_MASK)
        f |= TRACE_FLAG_NMI;
    if (s.preempt_count & kernel::HARDIRQ_MASK)
        f |= TRACE_FLAG_HARDIRQ;
    if (s.preempt_count & kernel::SOFTIRQ_OFFSET)
        f |= TRACE_FLAG_SOFTIRQ;
    if (s.need_resched)
        f |= TRACE_FLAG_NEED_RESCHED;
    if (s.preempt_need_resched)
        f |= TRACE_FLAG_PREEMPT_RESCHED;
    return f;
}

/// The header every record carries (struct trace_entry plus the ring's timestamp).
struct Context {
    std::uint64_t ts_ns = 0;        ///< virtual nanoseconds since boot
    unsigned cpu = 0;               ///< the CPU whose ring gets the record
    std::int32_t pid = 0;           ///< current->pid; 0 (the idle task) prints "<idle>"
    StrId comm = 0;                 ///< current->comm, from Recorder::intern_comm()
    std::uint8_t flags = 0;         ///< TRACE_FLAG_* (entry_flags())
    std::uint8_t preempt_count = 0; ///< preempt_count() & 0xff: the depth column
};

/// The Context of an event at `ts_ns` on `cpu` in task `pid`/`comm` with CPU state `s`.
constexpr Context make_context(std::uint64_t ts_ns, unsigned cpu, std::int32_t pid, StrId comm,
                               const CpuState& s) {
    auto depth = static_cast<std::uint8_t>(s.preempt_count & kernel::PREEMPT_MASK);
    return Context{ts_ns, cpu, pid, comm, entry_flags(s), depth};
}

// ---- the event table
enum class EventId : std::uint16_t {
#define FIELD(type, name)
#define PIEMU_TRACE_EVENT(subsystem, name, ...) name,
#include "trace/events.def"
#undef PIEMU_TRACE_EVENT
#undef FIELD
};

inline constexpr std::size_t kEventCount = 0
#define FIELD(type, name)
#define PIEMU_TRACE_EVENT(subsystem, name, ...) +1
#include "trace/events.def"
#undef PIEMU_TRACE_EVENT
#undef FIELD
    ;

/// The records: one aggregate per event, filled with designated initialisers.
namespace ev {
#define FIELD(type, name) type name{};
#define PIEMU_TRACE_EVENT(subsystem, name, fields, ...)                                            \
    struct name {                                                                                  \
        static constexpr EventId id = EventId::name;                                               \
        fields                                                                                     \
    };
#include "trace/events.def"
#undef PIEMU_TRACE_EVENT
#undef FIELD
} // namespace ev

/// One row of the table, as text (for the reader, the filters and the docs).
struct EventInfo {
    std::string_view subsystem; ///< "irq", "sched", "ipi", "piemu", "ftrace"
    std::string_view name;      ///< "irq_handler_entry"
    std::string_view fields;    ///< "int32_t irq; StrId name;"
    std::string_view format;    ///< the TP_printk format
    std::string_view args;      ///< the TP_printk arguments as written in the table
};
/// The table row of an event.
const EventInfo& event_info(EventId id);
/// The event with this (unqualified) name, if the table has it.
std::optional<EventId> find_event(std::string_view name);

/// Strings recorded by id. Ids stay valid for the table's life; the text a trace
/// shows never depends on the ids, only on the strings.
class StringTable {
public:
    StringTable();
    /// Copies rebuild the index (its keys view the strings of the table they index).
    StringTable(const StringTable& other);
    StringTable& operator=(const StringTable& other);
    StringTable(StringTable&&) = default; ///< a deque's move keeps its elements in place
    StringTable& operator=(StringTable&&) = default;
    StrId intern(std::string_view s);
    std::string_view view(StrId id) const { return strings_.at(id); }
    const char* c_str(StrId id) const { return strings_.at(id).c_str(); }
    std::size_t size() const { return strings_.size(); }

private:
    std::deque<std::string> strings_; ///< a deque: references stay valid as it grows
    std::unordered_map<std::string_view, StrId> ids_;
};

/// A set of events named by a list as `--events` takes it: comma-separated items,
/// each `*`, a subsystem (`irq`, `sched:*`), a qualified event (`sched:sched_switch`)
/// or a bare event name (`irq_handler_entry`; `function` for function-tracer lines).
class EventFilter {
public:
    static EventFilter all();
    static EventFilter none() { return EventFilter{}; }
    /// What `piemu run --trace` records unless told: every event but the loud
    /// piemu:mmio and the function tracer (ftrace:function, `--trace-functions`).
    static EventFilter defaults();
    /// Unknown events are an error unless `allow_unknown` (diff of hand-written
    /// files, whose events the table may not have); unknown subsystems always are.
    static ErrorOr<EventFilter> parse(std::string_view list, bool allow_unknown = false);
    bool matches(EventId id) const { return known_[static_cast<std::size_t>(id)]; }
    /// By event name as a trace line shows it; names outside the table match only
    /// when listed by name or by `*`.
    bool matches(std::string_view event_name) const;
    void set(EventId id, bool on) { known_[static_cast<std::size_t>(id)] = on; }

private:
    std::bitset<kEventCount> known_;
    std::vector<std::string> unknown_; ///< names outside the table
    bool everything_ = false;          ///< `*`: unknown names too
};

// ---- trace text: what the writer prints and the reader parses

/// One line after the header.
struct TraceLine {
    enum class Kind : std::uint8_t {
        event,          ///< "COMM-PID [CPU] FLAGS TS: name: text"
        function,       ///< "COMM-PID [CPU] FLAGS TS: callee <-caller" (text)
        lost_events,    ///< "CPU:%d [LOST %lu EVENTS]"
        buffer_started, ///< "##### CPU %u buffer started ####"
    };
    Kind kind = Kind::event;
    std::string comm{}; ///< as printed (right-aligned in 16 columns)
    std::int32_t pid = 0;
    unsigned cpu = 0;        ///< also the CPU of the two markers
    std::string flags{};     ///< the flag characters, "d.h." (the reader checks them)
    std::uint64_t ts_ns = 0; ///< printed rounded to microseconds
    std::string name{};      ///< event name; "function" for function-tracer lines
    std::string text{};      ///< the fields as printed; function lines: "callee <-caller"
    std::uint64_t lost = 0;  ///< lost_events: how many
    unsigned line_no = 0;    ///< 1-based line of the file it was read from; 0 if rendered
};

/// print_event_info()'s "# entries-in-buffer/entries-written: %lu/%lu   #P:%d".
struct EntriesLine {
    std::uint64_t in_buffer = 0;
    std::uint64_t written = 0; ///< in_buffer + overwritten
    int nr_cpus = 0;           ///< num_online_cpus()
};

/// A whole trace file.
struct Trace {
    std::string tracer = "nop";           ///< "# tracer: %s"
    std::optional<EntriesLine> entries{}; ///< absent in 4.14.0-era files (see docs)
    std::vector<TraceLine> lines{};
};

/// Where the writer marks overwritten events.
enum class LossMarker : std::uint8_t {
    /// "CPU:%d [LOST %lu EVENTS]" before the first surviving event of the CPU, as
    /// print_trace_line() prints it for a consuming read (trace_pipe).
    lost_events,
    /// "##### CPU %u buffer started ####" before each CPU's first event from the
    /// third line on, as the 4.14 `trace` file annotates a buffer that overran.
    buffer_started,
};

struct WriterOptions {
    /// "# tracer: %s"; empty: "function" when ftrace:function is recorded, else "nop".
    std::string tracer{};
    /// "#P:%d"; 0: the recorder's CPU count.
    int nr_online_cpus = 0;
    /// print_event_info()'s two lines (4.14.y; 4.14.0 omitted them from this header).
    bool entries_line = true;
    LossMarker loss_marker = LossMarker::lost_events;
};

/// The flag characters trace_print_lat_fmt() prints for TRACE_FLAG_* bits and the
/// preempt depth: irqs-off (d X .), need-resched (N n p .), hardirq/softirq
/// (Z z H h s .), then the depth as %x or '.'.
std::string flags_text(std::uint8_t flags, std::uint8_t preempt_count);
/// One line as the kernel prints it, without the newline.
std::string format_line(const TraceLine& line);
/// The header s_show() prints before the first line.
std::string format_header(const Trace& trace);
/// The whole file: header and lines.
std::string write_trace(const Trace& trace);

/// Parses a trace file; the error names the line ("line 12: ...").
ErrorOr<Trace> read_trace(std::string_view text);
/// read_trace() of a file; errors start with the path ("PATH:12: ...").
ErrorOr<Trace> read_trace_file(const std::string& path);

// ---- recording

namespace detail {
inline constexpr std::size_t kPayloadBytes = 28;
/// One record in a CPU's ring: the Context and the event's struct.
struct Slot {
    std::uint64_t ts_ns;
    std::int32_t pid;
    StrId comm;
    EventId id;
    std::uint8_t flags;
    std::uint8_t preempt_count;
    alignas(4) std::array<std::byte, kPayloadBytes> payload;
};
static_assert(sizeof(Slot) == 48);
#define FIELD(type, name)
#define PIEMU_TRACE_EVENT(subsystem, name, ...)                                                    \
    static_assert(sizeof(ev::name) <= kPayloadBytes, #name " does not fit a ring slot");
#include "trace/events.def"
#undef PIEMU_TRACE_EVENT
#undef FIELD

/// A CPU's ring: `count` records from `head` on; full, a new record replaces the
/// oldest (the kernel's overwrite mode) and counts it in `overrun`.
struct CpuRing {
    std::vector<Slot> slots;
    std::size_t head = 0;
    std::size_t count = 0;
    std::uint64_t overrun = 0;
    const Slot& at(std::size_t i) const { return slots[(head + i) % slots.size()]; }
};
} // namespace detail

struct RecorderConfig {
    /// 4.14's buffer_size_kb default (TRACE_BUF_SIZE_DEFAULT, 1408 KiB) per CPU.
    static constexpr std::size_t kDefaultBufferSize = 1441792;

    unsigned nr_cpus = 4;
    /// Bytes per CPU; each record takes sizeof(detail::Slot) (48). At least one record.
    std::size_t buffer_size = kDefaultBufferSize;
    /// The events recorded; the others cost one bitset test each.
    EventFilter events = EventFilter::defaults();
};

/// The per-CPU ring buffers and the strings their records refer to.
class Recorder {
public:
    explicit Recorder(RecorderConfig config = {});

    /// Interns a string for an event field (names, symbols): do it once per string.
    StrId intern(std::string_view s) { return strings_.intern(s); }
    /// Interns a task name as the kernel keeps it: at most TASK_COMM_LEN - 1 bytes.
    StrId intern_comm(std::string_view comm);

    bool enabled(EventId id) const { return config_.events.matches(id); }
    /// Records `e` into ctx.cpu's ring if its event is enabled and recording is on
    /// (no formatting).
    template <typename E>
    void record(const Context& ctx, const E& e) {
        if (tracing_on_ && enabled(E::id))
            push(E::id, ctx, &e, sizeof e);
    }
    /// tracefs's `tracing_on`: while off, records are dropped (not counted as lost);
    /// the event selection and everything that depends on it stay as they are.
    void set_tracing_on(bool on) { tracing_on_ = on; }
    bool tracing_on() const { return tracing_on_; }
    /// Empties every ring and its counters (echo > trace).
    void clear();

    unsigned nr_cpus() const { return static_cast<unsigned>(rings_.size()); }
    std::size_t capacity() const { return rings_.front().slots.size(); } ///< records per CPU
    std::uint64_t entries(unsigned cpu) const { return rings_.at(cpu).count; }
    std::uint64_t overrun(unsigned cpu) const { return rings_.at(cpu).overrun; }
    const StringTable& strings() const { return strings_; }
    const RecorderConfig& config() const { return config_; }

    /// Every buffered record as trace lines, merged over CPUs by timestamp (equal
    /// timestamps: lower CPU first, then recording order), with loss markers.
    void for_each_line(const WriterOptions& options,
                       const std::function<void(const TraceLine&)>& fn) const;
    /// The buffers as a Trace (header fields and lines).
    Trace snapshot(const WriterOptions& options = {}) const;
    /// Writes the trace file (what `cat trace` prints) without building a Trace.
    void write(std::ostream& out, const WriterOptions& options = {}) const;

private:
    void push(EventId id, const Context& ctx, const void* payload, std::size_t size);

    RecorderConfig config_;
    StringTable strings_;
    std::vector<detail::CpuRing> rings_;
    bool tracing_on_ = true;
};

// ---- comparing traces (`piemu trace diff`)

struct DiffOptions {
    bool ignore_timestamps = false;
    /// Only these events are compared (loss markers always are); empty: all.
    std::optional<EventFilter> events{};
    unsigned context = 3; ///< lines shown before and after the first divergence
};

/// What diff_traces() found; the line pointers point into the two Traces.
struct DiffResult {
    bool equal = true;
    /// The compared lines (after the events filter) of each side.
    std::vector<const TraceLine*> expected, actual;
    /// Index into both lists of the first line that differs (one list may end there).
    std::size_t first = 0;
    /// Per event name: {expected count, actual count} of the compared lines.
    std::map<std::string, std::pair<std::size_t, std::size_t>> counts;
};

/// Compares the lines of two traces (headers are not compared).
DiffResult diff_traces(const Trace& expected, const Trace& actual, const DiffOptions& options);
/// The report of a difference: the first divergence with context and the event
/// counts; empty when equal.
std::string format_diff(const DiffResult& result, std::string_view expected_name,
                        std::string_view actual_name, unsigned context);

/// `piemu trace diff EXPECTED ACTUAL [--ignore-timestamps] [--events LIST]
/// [--context N]`: 0 when equal, 1 when different (report on stdout), 2 when an
/// input is unreadable (FILE:LINE: reason) or the arguments are wrong (on stderr).
int trace_diff_main(std::vector<std::string> args);
/// The same, writing to `out` and `err` instead of stdout and stderr.
int trace_diff_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// The event reference of docs/trace-events.md (between its GENERATED markers).
std::string trace_events_markdown();

} // namespace piemu::trace
