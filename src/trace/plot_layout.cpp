// The timeline's layout (plot.hpp): rows, lanes and integer coordinates for the
// spans plot_spans.cpp pairs.
#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "trace/plot_spans.hpp"

namespace piemu::trace {

using plot::Lane;
using plot::RowKey;

namespace {

constexpr std::int64_t kPx = 100; // coordinates are in hundredths of a pixel
constexpr int kCharWidth = 7;     // px per character of the 11 px monospace font
constexpr int kTop = 40;          // px above the first row (the title)
constexpr int kRightMargin = 40;  // room for the last tick's label
constexpr std::size_t kMaxLabelChars = 48;
constexpr int kTickSpacing = 100; // px between time ticks, at least

// Lanes (top, height) in px from the row's top.
struct LaneBox {
    int top, height;
};
/// A lane's place in its row, in px from the row's top.
constexpr LaneBox lane_box(Lane lane) {
    switch (lane) {
    case Lane::cpu_markers:
        return {4, 8};
    case Lane::cpu_hardirq:
        return {14, 12};
    case Lane::cpu_softirq:
        return {28, 12};
    case Lane::cpu_task:
        return {42, 12};
    case Lane::irq_handlers:
        return {4, 12};
    case Lane::irq_thread:
        return {18, 12};
    }
    return {0, 0};
}
constexpr int kCpuRowHeight = 58;
constexpr int kIrqRowHeight = 34;

/// The largest of 1, 2, 5 x 10^k ns whose ticks are at least kTickSpacing px apart.
std::uint64_t tick_step(std::uint64_t span, std::int64_t plot_px) {
    std::uint64_t max_ticks = std::max<std::int64_t>(1, plot_px / kTickSpacing);
    for (unsigned __int128 decade = 1;; decade *= 10)
        for (unsigned m : {1, 2, 5})
            if (span / (m * decade) <= max_ticks)
                return static_cast<std::uint64_t>(
                    std::min<unsigned __int128>(m * decade, UINT64_MAX));
}

std::string tick_label(std::uint64_t ns, std::uint64_t step) {
    int decimals = 9;
    for (std::uint64_t s = step; s % 10 == 0 && decimals > 0; s /= 10)
        --decimals;
    std::string frac = fmt::format("{:09}", ns % 1000000000);
    frac.resize(static_cast<std::size_t>(decimals));
    return decimals ? fmt::format("{}.{}", ns / 1000000000, frac) : std::to_string(ns / 1000000000);
}

std::string row_label(const RowKey& key, const std::map<int, plot::IrqInfo>& irqs) {
    if (key.first == PlotRow::Kind::cpu)
        return fmt::format("CPU {}", key.second);
    const plot::IrqInfo& info = irqs.at(key.second);
    std::string names;
    for (const std::string& n : info.names)
        names += (names.empty() ? "" : ", ") + n;
    if (names.empty() && !info.thread.empty())
        names = info.thread;
    std::string label = fmt::format("irq {} {}", key.second, names);
    while (!label.empty() && label.back() == ' ')
        label.pop_back();
    if (label.size() > kMaxLabelChars)
        label = label.substr(0, kMaxLabelChars - 3) + "...";
    return label;
}

/// Maps time to x within [left, right] (hundredths of a pixel), exact and rounded.
struct TimeScale {
    std::uint64_t t0, t1;
    std::int64_t left, right;
    std::int64_t x(std::uint64_t t) const {
        t = std::clamp(t, t0, t1);
        unsigned __int128 num =
            static_cast<unsigned __int128>(t - t0) * static_cast<std::uint64_t>(right - left);
        std::uint64_t span = t1 - t0;
        return left + static_cast<std::int64_t>((num + span / 2) / span);
    }
};

/// The legend's items from `left`, wrapped before `right`; returns the y below it.
std::int64_t lay_out_legend(PlotLayout& out, std::int64_t left, std::int64_t right,
                            std::int64_t y) {
    std::int64_t x = left;
    auto item = [&](std::string_view colour, std::string name, std::int64_t swatch) {
        std::int64_t w = (14 + static_cast<std::int64_t>(name.size()) * kCharWidth + 18) * kPx;
        if (x > left && x + w > right) {
            x = left;
            y += 16 * kPx;
        }
        out.legend.push_back({std::string(colour), std::move(name), x, y, swatch});
        x += w;
    };
    for (PlotKind k : {PlotKind::hardirq, PlotKind::hardirq_unhandled, PlotKind::softirq,
                       PlotKind::irq_thread, PlotKind::task})
        item(plot_kind_colour(k), std::string(plot_kind_name(k)), 10 * kPx);
    for (std::string_view t : {"irq", "fiq", "svc"})
        item(plot_marker_colour(t), fmt::format("{} entry", t), 2 * kPx);
    item(plot_marker_colour("abort"), "other exception", 2 * kPx);
    return y + 16 * kPx;
}

/// Spans one after the other in a lane whose boxes would overlap (handlers shorter
/// than a pixel, such as a shared line's actions within one microsecond) are placed
/// side by side, in trace order, so that none hides another (a long box keeps its
/// end). Spans that overlap in time (an IRQ still open when the next starts) keep
/// their places.
void place_side_by_side(PlotLayout& out) {
    std::map<std::pair<std::size_t, std::int64_t>, const PlotBox*> last; // (row, lane y)
    for (PlotBox& b : out.boxes) {
        const PlotBox*& prev = last[{b.row, b.y}];
        if (prev && b.start_ns >= prev->end_ns && b.x < prev->x + prev->w) {
            std::int64_t end = b.x + b.w; // a long box keeps its end
            b.x = std::min(prev->x + prev->w, out.plot_right - 2 * kPx);
            b.w = std::max(end - b.x, 2 * kPx);
        }
        prev = &b;
    }
}

} // namespace

std::string_view plot_marker_colour(std::string_view type) {
    if (type == "irq")
        return "#7b3294";
    if (type == "fiq")
        return "#0571b0";
    if (type == "svc")
        return "#636363";
    return "#000000"; // aborts, undefined instructions, reset
}

std::string_view plot_kind_colour(PlotKind kind) {
    switch (kind) {
    case PlotKind::hardirq:
        return "#d62728";
    case PlotKind::hardirq_unhandled:
        return "#f4a6a6";
    case PlotKind::softirq:
        return "#ff7f0e";
    case PlotKind::irq_thread:
        return "#2ca02c";
    case PlotKind::task:
        return "#9ecae1";
    }
    return "#000000";
}

std::string_view plot_kind_name(PlotKind kind) {
    switch (kind) {
    case PlotKind::hardirq:
        return "hard IRQ handler";
    case PlotKind::hardirq_unhandled:
        return "handler: IRQ_NONE";
    case PlotKind::softirq:
        return "softirq";
    case PlotKind::irq_thread:
        return "IRQ thread";
    case PlotKind::task:
        return "task";
    }
    return "?";
}

ErrorOr<PlotLayout> layout_plot(const Trace& trace, const PlotOptions& options) {
    if (options.width < kMinPlotWidth || options.width > kMaxPlotWidth)
        return Error{fmt::format("--width {} is outside {}..{}", options.width, kMinPlotWidth,
                                 kMaxPlotWidth)};
    plot::Spans b = TRY(plot::collect_spans(trace));

    PlotLayout out;
    out.lost_events = b.lost;
    out.t0 = options.from_ns.value_or(b.first);
    out.t1 = options.to_ns.value_or(std::max(b.last, out.t0));
    if (out.t1 <= out.t0) {
        if (options.from_ns || options.to_ns) // (the other end is the trace's)
            return Error{fmt::format("--from {} s is not before --to {} s", plot::ts_text(out.t0),
                                     plot::ts_text(out.t1))};
        // One event, or all at one time: a microsecond, the trace's resolution.
        if (out.t0 > UINT64_MAX - 1000)
            out.t0 = UINT64_MAX - 1000;
        out.t1 = out.t0 + 1000;
    }

    // Rows: CPUs, then IRQ lines, each by number.
    std::vector<RowKey> keys;
    for (int c : b.cpus)
        keys.push_back({PlotRow::Kind::cpu, c});
    for (const auto& [irq, _] : b.irqs)
        keys.push_back({PlotRow::Kind::irq, irq});
    std::size_t label_chars = 8;
    for (const RowKey& k : keys)
        label_chars = std::max(label_chars, row_label(k, b.irqs).size());
    out.plot_left = (24 + static_cast<std::int64_t>(label_chars) * kCharWidth) * kPx;
    out.width = static_cast<std::int64_t>(options.width) * kPx;
    out.plot_right = out.width - kRightMargin * kPx;
    std::map<RowKey, std::size_t> index;
    std::int64_t y = kTop * kPx;
    for (const RowKey& k : keys) {
        std::int64_t h = (k.first == PlotRow::Kind::cpu ? kCpuRowHeight : kIrqRowHeight) * kPx;
        index[k] = out.rows.size();
        out.rows.push_back({k.first, k.second, row_label(k, b.irqs), y, h});
        y += h;
    }
    out.axis_y = y + 8 * kPx;
    out.height = lay_out_legend(out, 8 * kPx, out.width - 8 * kPx, out.axis_y + 30 * kPx) + 8 * kPx;

    TimeScale scale{out.t0, out.t1, out.plot_left, out.plot_right};
    for (const plot::Span& s : b.spans) {
        const plot::When& t = s.when;
        if (t.end < out.t0 || t.start > out.t1)
            continue;
        PlotBox box{index.at(s.row), s.kind,     t.start, t.end,
                    t.open_start,    t.open_end, s.label, s.title};
        box.x = scale.x(t.start);
        box.w = std::max<std::int64_t>(scale.x(t.end) - box.x, 2 * kPx); // visible when short
        box.x = std::min(box.x, out.plot_right - box.w);
        box.y = out.rows[box.row].y + lane_box(s.lane).top * kPx;
        box.h = lane_box(s.lane).height * kPx;
        out.boxes.push_back(std::move(box));
    }
    std::stable_sort(out.boxes.begin(), out.boxes.end(), [](const PlotBox& a, const PlotBox& b) {
        return a.row != b.row ? a.row < b.row : a.start_ns < b.start_ns;
    });
    place_side_by_side(out);
    for (auto& [c, m] : b.markers) {
        if (m.ts_ns < out.t0 || m.ts_ns > out.t1)
            continue;
        m.row = index.at({PlotRow::Kind::cpu, c});
        m.x = scale.x(m.ts_ns);
        m.y = out.rows[m.row].y + lane_box(Lane::cpu_markers).top * kPx;
        m.h = lane_box(Lane::cpu_markers).height * kPx;
        out.markers.push_back(std::move(m));
    }
    std::stable_sort(out.markers.begin(), out.markers.end(),
                     [](const PlotMarker& a, const PlotMarker& b) { return a.row < b.row; });

    std::uint64_t step = tick_step(out.t1 - out.t0, (out.plot_right - out.plot_left) / kPx);
    // (In 128 bits: a hand-written trace may end near 2^64 ns.)
    for (unsigned __int128 t = (out.t0 + static_cast<unsigned __int128>(step) - 1) / step * step;
         t <= out.t1; t += step) {
        auto ts = static_cast<std::uint64_t>(t);
        out.ticks.push_back({ts, scale.x(ts), tick_label(ts, step)});
    }
    return out;
}

std::optional<std::uint64_t> parse_plot_time(std::string_view text) {
    struct Unit {
        std::string_view suffix;
        std::uint64_t ns;
    };
    std::uint64_t unit = 1000000000;
    for (Unit u : {Unit{"ns", 1}, Unit{"us", 1000}, Unit{"ms", 1000000}, Unit{"s", 1000000000}}) {
        if (text.ends_with(u.suffix)) {
            unit = u.ns;
            text.remove_suffix(u.suffix.size());
            break;
        }
    }
    std::size_t dot = text.find('.');
    std::string_view whole = text.substr(0, dot);
    std::string_view frac =
        dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if ((whole.empty() && frac.empty()) || frac.find('.') != std::string_view::npos)
        return std::nullopt;
    std::uint64_t w = 0;
    auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
    if (!whole.empty() && (ec != std::errc{} || end != whole.data() + whole.size()))
        return std::nullopt;
    if (w > UINT64_MAX / unit)
        return std::nullopt;
    std::uint64_t ns = w * unit, scale = unit;
    for (char c : frac) {
        if (c < '0' || c > '9')
            return std::nullopt;
        scale /= 10;
        if (scale == 0 && c != '0')
            return std::nullopt; // finer than a nanosecond
        ns += static_cast<std::uint64_t>(c - '0') * scale;
    }
    return ns;
}

} // namespace piemu::trace
