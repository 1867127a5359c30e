// The timeline as SVG 1.1 (plot.hpp), written atomically, and `piemu trace plot`.
//
// Plain elements with presentation attributes (no CSS, no scripts, no fonts to
// fetch) so that every renderer draws the same: browsers, Inkscape, rsvg-convert.
// Each box and marker carries a <title>, which browsers show as a tooltip.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "trace/options.hpp"
#include "trace/plot.hpp"

namespace piemu::trace {

namespace {

/// Hundredths of a pixel as a fixed-point number: "123.45".
std::string px(std::int64_t v) {
    const char* sign = v < 0 ? "-" : "";
    std::uint64_t a = v < 0 ? static_cast<std::uint64_t>(-v) : static_cast<std::uint64_t>(v);
    return fmt::format("{}{}.{:02}", sign, a / 100, a % 100);
}

std::string xml(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            // Control characters are not allowed in XML 1.0.
            out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
        }
    }
    return out;
}

std::string ts_text(std::uint64_t ns) {
    std::uint64_t us = (ns + 500) / 1000;
    return fmt::format("{}.{:06}", us / 1000000, us % 1000000);
}

constexpr std::int64_t kPx = 100;

void box(std::string& s, const PlotBox& b) {
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"", px(b.x),
                     px(b.y), px(b.w), px(b.h), plot_kind_colour(b.kind));
    if (b.open_start || b.open_end)
        s += " stroke=\"#000000\" stroke-width=\"0.50\" stroke-dasharray=\"2,2\"";
    s += fmt::format("><title>{}</title></rect>\n", xml(b.title));
    // The label, when it fits inside the box.
    std::int64_t text_w = (static_cast<std::int64_t>(b.label.size()) * 6 + 6) * kPx;
    if (!b.label.empty() && b.w >= text_w) {
        bool dark = b.kind == PlotKind::hardirq || b.kind == PlotKind::irq_thread;
        s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{}\">{}</text>\n",
                         px(b.x + 3 * kPx), px(b.y + 9 * kPx + 50), dark ? "#ffffff" : "#000000",
                         xml(b.label));
    }
}

} // namespace

std::string render_svg(const PlotLayout& l) {
    std::string s;
    s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    s += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{}\" "
                     "height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"monospace\" "
                     "font-size=\"11\">\n",
                     px(l.width), px(l.height), px(l.width), px(l.height));
    std::string heading = fmt::format("piemu trace: {} s to {} s", ts_text(l.t0), ts_text(l.t1));
    if (l.lost_events)
        heading += fmt::format(" ({} events lost: spans may be missing)", l.lost_events);
    s += fmt::format("<title>{}</title>\n", xml(heading));
    s += fmt::format("<rect x=\"0.00\" y=\"0.00\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
                     px(l.width), px(l.height));
    s += fmt::format("<text x=\"8.00\" y=\"20.00\" font-size=\"13\">{}</text>\n", xml(heading));

    // Rows (alternating shades), then the grid, then what happened.
    for (std::size_t i = 0; i < l.rows.size(); ++i) {
        const PlotRow& r = l.rows[i];
        s += fmt::format("<rect x=\"0.00\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
                         px(r.y), px(l.width), px(r.height), i % 2 ? "#ffffff" : "#f2f2f2");
        s += fmt::format("<text x=\"8.00\" y=\"{}\">{}</text>\n", px(r.y + r.height / 2 + 4 * kPx),
                         xml(r.label));
    }
    std::int64_t rows_top = l.rows.empty() ? l.axis_y : l.rows.front().y;
    for (const PlotTick& t : l.ticks) {
        s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#cccccc\" "
                         "stroke-width=\"1.00\"/>\n",
                         px(t.x), px(rows_top), px(l.axis_y));
    }
    for (const PlotBox& b : l.boxes)
        box(s, b);
    for (const PlotMarker& m : l.markers)
        s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"2.00\" height=\"{}\" fill=\"{}\">"
                         "<title>{}</title></rect>\n",
                         px(m.x - kPx), px(m.y), px(m.h), plot_marker_colour(m.type), xml(m.title));
    if (l.rows.empty())
        s += fmt::format("<text x=\"{}\" y=\"{}\">no events in this trace</text>\n",
                         px(l.plot_left), px(l.axis_y - 8 * kPx));

    // The time axis.
    s += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#000000\" "
                     "stroke-width=\"1.00\"/>\n",
                     px(l.plot_left), px(l.plot_right), px(l.axis_y));
    for (const PlotTick& t : l.ticks) {
        s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#000000\" "
                         "stroke-width=\"1.00\"/>",
                         px(t.x), px(l.axis_y), px(l.axis_y + 5 * kPx));
        s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(t.x),
                         px(l.axis_y + 17 * kPx), xml(t.label));
    }
    s += fmt::format("<text x=\"8.00\" y=\"{}\">time (s)</text>\n", px(l.axis_y + 17 * kPx));
    for (const PlotLegendItem& i : l.legend) {
        s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"10.00\" fill=\"{}\"/>",
                         px(i.x), px(i.y), px(i.swatch_w), i.colour);
        s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", px(i.x + 14 * kPx),
                         px(i.y + 9 * kPx), xml(i.name));
    }
    s += "</svg>\n";
    return s;
}

ErrorOr<void> write_file_atomically(const std::string& path, std::string_view data) {
    // The temporary file is created beside `path` (rename() stays in one file system),
    // with the usual 0666 & ~umask, and never follows an existing name (O_EXCL).
    std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0) // left by a killed run
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return Error{fmt::format("{}: cannot write: {}", path, std::strerror(errno))};
    const char* p = data.data();
    std::size_t left = data.size();
    int saved = 0;
    while (left > 0 && !saved) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            saved = errno;
        else
            p += n, left -= static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 && !saved)
        saved = errno;
    if (!saved && ::rename(tmp.c_str(), path.c_str()) != 0)
        saved = errno;
    if (saved) {
        ::unlink(tmp.c_str());
        return Error{fmt::format("{}: cannot write: {}", path, std::strerror(saved))};
    }
    return {};
}

namespace {

constexpr const char* kUsage =
    "usage: piemu trace plot TRACE -o FILE.svg [--from T] [--to T] [--width PX]";

} // namespace

int trace_plot_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    PlotOptions options;
    std::string output;
    std::vector<std::string> files;
    auto fail = [&](const std::string& message) {
        err << "piemu trace plot: " << message << "\n";
        return 2;
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        bool missing = false;
        if (args[i] == "-h" || args[i] == "--help") {
            out << kUsage << "\n";
            return 0;
        }
        if (auto v = option_value(args, i, "-o", missing)) {
            output = *v;
        } else if (auto v = option_value(args, i, "--output", missing)) {
            output = *v;
        } else if (auto v = option_value(args, i, "--from", missing)) {
            options.from_ns = parse_plot_time(*v);
            if (!options.from_ns)
                return fail("--from needs a time (0.0015, 1.5ms, 250us, 20ns), not '" + *v + "'");
        } else if (auto v = option_value(args, i, "--to", missing)) {
            options.to_ns = parse_plot_time(*v);
            if (!options.to_ns)
                return fail("--to needs a time (0.0015, 1.5ms, 250us, 20ns), not '" + *v + "'");
        } else if (auto v = option_value(args, i, "--width", missing)) {
            auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), options.width);
            if (ec != std::errc{} || p != v->data() + v->size())
                return fail("--width needs a number of pixels, not '" + *v + "'");
        } else if (missing) {
            return fail(args[i] + " needs a value; " + kUsage);
        } else if (args[i].starts_with("-") && args[i] != "-") {
            return fail("unknown option " + args[i] + "; " + kUsage);
        } else {
            files.push_back(args[i]);
        }
    }
    if (files.size() != 1)
        return fail(std::string(files.empty() ? "no TRACE given; " : "one TRACE only; ") + kUsage);
    if (output.empty())
        return fail(std::string("-o FILE.svg is required (- for stdout); ") + kUsage);
    auto trace = read_trace_file(files[0]);
    if (trace.is_error())
        return fail(trace.error().message);
    auto layout = layout_plot(trace.value(), options);
    if (layout.is_error()) {
        const std::string& m = layout.error().message;
        // "line N: ..." names the trace's line: "TRACE:N: ...", as read_trace_file() does.
        if (m.starts_with("line "))
            return fail(files[0] + ":" + m.substr(5));
        return fail(m);
    }
    std::string svg = render_svg(layout.value());
    if (output == "-") {
        out << svg;
        return out ? 0 : 2;
    }
    auto written = write_file_atomically(output, svg);
    if (written.is_error())
        return fail(written.error().message);
    return 0;
}

} // namespace piemu::trace
