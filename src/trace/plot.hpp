// `piemu trace plot`: a trace file drawn as an SVG timeline. One row per CPU (its
// tasks, softirqs, hard interrupt handlers and exception entries, stacked in lanes)
// and one row per IRQ line (its handlers' spans and its IRQ thread's runs), boxes
// over virtual time, a time axis and a legend.
//
// Two steps, so that the geometry can be tested without parsing SVG: layout_plot()
// turns a Trace into rows, boxes and markers with integer coordinates in hundredths
// of a pixel; render_svg() prints them. The same trace and options give the same
// bytes: no host time, no floating point, no unordered iteration.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "piemu/error.hpp"
#include "piemu/trace.hpp"

namespace piemu::trace {

struct PlotOptions {
    std::optional<std::uint64_t> from_ns{}; ///< window start; default: the first event
    std::optional<std::uint64_t> to_ns{};   ///< window end; default: the last event
    unsigned width = 1200;                  ///< pixels (kMinPlotWidth .. kMaxPlotWidth)
};
inline constexpr unsigned kMinPlotWidth = 400;
inline constexpr unsigned kMaxPlotWidth = 100000;

/// What a box shows; each kind has its own colour (plot_kind_colour()).
enum class PlotKind : std::uint8_t {
    hardirq,           ///< irq_handler_entry .. irq_handler_exit, ret=handled
    hardirq_unhandled, ///< the same with ret=unhandled (IRQ_NONE: not this device's)
    softirq,           ///< softirq_entry .. softirq_exit
    irq_thread,        ///< an irq/N-name task running (sched_switch in .. out)
    task,              ///< any other task running (the idle task is not drawn)
};
/// "#rrggbb" of a kind's boxes.
std::string_view plot_kind_colour(PlotKind kind);
/// "#rrggbb" of the marker of an exception type ("irq", "fiq", "svc"; others black).
std::string_view plot_marker_colour(std::string_view type);
/// The legend's name of a kind.
std::string_view plot_kind_name(PlotKind kind);

/// One row: a CPU or an IRQ line. Coordinates are in hundredths of a pixel.
struct PlotRow {
    enum class Kind : std::uint8_t { cpu, irq };
    Kind kind = Kind::cpu;
    int id = 0;          ///< the CPU or the Linux IRQ number
    std::string label{}; ///< "CPU 0", "irq 31 demo-timer"
    std::int64_t y = 0;  ///< top
    std::int64_t height = 0;
};

/// A span of time drawn as a box in one lane of a row.
struct PlotBox {
    std::size_t row = 0; ///< index into PlotLayout::rows
    PlotKind kind = PlotKind::hardirq;
    std::uint64_t start_ns = 0, end_ns = 0; ///< as traced (before clipping to the window)
    bool open_start =
        false;             ///< its start is not in the trace (the box starts at the trace's start)
    bool open_end = false; ///< its end is not in the trace (the box ends at the trace's end)
    std::string label{};   ///< written inside the box when it fits
    std::string title{};   ///< the tooltip: what, when, result
    std::int64_t x = 0, y = 0, w = 0, h = 0;
};

/// An instant: an exception entry (piemu:exception_entry) on a CPU row.
struct PlotMarker {
    std::size_t row = 0;
    std::uint64_t ts_ns = 0;
    std::string type{};  ///< "irq", "fiq", "svc", "undef", "pabt", "dabt", ...
    std::string title{}; ///< the tooltip
    std::int64_t x = 0, y = 0, h = 0;
};

/// An entry of the legend: a swatch of a box's or a marker's colour and its name.
struct PlotLegendItem {
    std::string colour{}, name{};
    std::int64_t x = 0, y = 0, swatch_w = 0;
};

/// A tick of the time axis.
struct PlotTick {
    std::uint64_t ts_ns = 0;
    std::int64_t x = 0;
    std::string label{}; ///< seconds, with as many decimals as the tick step needs
};

struct PlotLayout {
    std::int64_t width = 0, height = 0; ///< hundredths of a pixel
    std::int64_t plot_left = 0, plot_right = 0;
    std::uint64_t t0 = 0, t1 = 0; ///< the window
    std::uint64_t lost_events = 0;
    std::vector<PlotRow> rows{};
    std::vector<PlotBox> boxes{};      ///< grouped by row, by start within a row
    std::vector<PlotMarker> markers{}; ///< by row, then time
    std::vector<PlotTick> ticks{};
    std::vector<PlotLegendItem> legend{}; ///< wrapped to the width
    std::int64_t axis_y = 0;
};

/// Lays `trace` out. Errors name the trace line whose fields cannot be read
/// ("line 12: irq_handler_entry: ...") or the window ("--from ... is not before --to").
ErrorOr<PlotLayout> layout_plot(const Trace& trace, const PlotOptions& options);
/// The SVG document of a layout.
std::string render_svg(const PlotLayout& layout);

/// "0.0015", "1.5ms", "250us", "20ns", "2s" -> nanoseconds (no unit: seconds, as the
/// trace prints its timestamps); exact, at most nine decimals of a second.
std::optional<std::uint64_t> parse_plot_time(std::string_view text);

/// Writes `data` to `path` through a temporary file in the same directory and a
/// rename, so that `path` is either its old self or complete.
ErrorOr<void> write_file_atomically(const std::string& path, std::string_view data);

/// `piemu trace plot TRACE -o FILE [--from T] [--to T] [--width PX]`: 0 when the SVG
/// is written, 2 when the arguments are wrong, the trace cannot be read or parsed
/// (FILE:LINE: reason) or the output cannot be written (on stderr, one line).
int trace_plot_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace piemu::trace
