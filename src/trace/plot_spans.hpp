// Internal to `piemu trace plot`: the spans, markers and rows a trace's events make,
// before any coordinate (plot_spans.cpp), for the layout (plot_layout.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "trace/plot.hpp"

namespace piemu::trace::plot {

/// Where a span goes in its row. A CPU row's lanes, top to bottom: exception entries,
/// hard interrupt handlers, softirqs, the running task (what runs above interrupts
/// what runs below); an IRQ row's: its handlers, its IRQ thread's runs.
enum class Lane : std::uint8_t {
    cpu_markers,
    cpu_hardirq,
    cpu_softirq,
    cpu_task,
    irq_handlers,
    irq_thread
};

using RowKey = std::pair<PlotRow::Kind, int>; ///< a CPU or an IRQ number

/// A span's time: its entry and exit, or the trace's ends where one is not traced.
struct When {
    std::uint64_t start, end;
    bool open_start, open_end;
};

struct Span {
    RowKey row;
    Lane lane;
    PlotKind kind;
    When when;
    std::string label, title;
};

struct IrqInfo {
    std::vector<std::string> names; ///< its actions, in the order first seen
    std::string thread;             ///< its irq/N-name thread, if seen
};

/// What a trace's events say.
struct Spans {
    std::uint64_t first = 0, last = 0;               ///< the first and last event's timestamps
    std::uint64_t lost = 0;                          ///< events the trace says were lost
    std::vector<int> cpus;                           ///< CPUs with events, ascending
    std::map<int, IrqInfo> irqs;                     ///< IRQs with handler or thread spans
    std::vector<Span> spans;                         ///< in the order they end
    std::vector<std::pair<int, PlotMarker>> markers; ///< (CPU, exception entry), by time
};

/// Pairs the trace's entries and exits. Errors name the line whose fields cannot be
/// read: "line 12: irq_handler_entry: expected '...', got '...'".
ErrorOr<Spans> collect_spans(const Trace& trace);

/// A timestamp as the trace prints it: seconds with six decimals.
std::string ts_text(std::uint64_t ns);

} // namespace piemu::trace::plot
