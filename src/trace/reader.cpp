// The reader: trace files as the writer prints them, and hand-written ones of the
// same format (the comm need not be padded to 16 columns, nor the pid to 5).
//
//   # ...                                  header: "# tracer:" and the entries line
//                                          are kept, the legend is skipped
//   CPU:%d [LOST %lu EVENTS]               loss marker
//   ##### CPU %u buffer started ####       annotation
//   COMM-PID [CPU] FLAGS SECS.USECS: BODY  an event
//
// BODY is "name: fields" for a table event; "callee <-caller" (no ": " before the
// arrow) for the function tracer; "name: text" for anything else (events piemu
// does not have, trace_printk lines); a bare word is a function without a parent.
// Blank lines are skipped. Any other line is an error naming its line number.
#include <charconv>
#include <fstream>
#include <sstream>

#include "piemu/trace.hpp"

namespace piemu::trace {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

template <typename T>
bool parse_number(std::string_view s, T& value) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && p == s.data() + s.size();
}

std::string_view ltrim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    return s;
}

bool parse_entries(std::string_view line, Trace& trace) {
    constexpr std::string_view kPrefix = "# entries-in-buffer/entries-written: ";
    if (!line.starts_with(kPrefix))
        return false;
    line.remove_prefix(kPrefix.size());
    std::size_t slash = line.find('/');
    std::size_t p = line.find("#P:");
    if (slash == std::string_view::npos || p == std::string_view::npos || p < slash)
        return false;
    std::string_view written = line.substr(slash + 1, p - slash - 1);
    while (!written.empty() && written.back() == ' ')
        written.remove_suffix(1);
    EntriesLine e;
    if (!parse_number(line.substr(0, slash), e.in_buffer) || !parse_number(written, e.written) ||
        !parse_number(line.substr(p + 3), e.nr_cpus))
        return false;
    trace.entries = e;
    return true;
}

bool parse_marker(std::string_view line, TraceLine& out) {
    constexpr std::string_view kLost = "CPU:";
    constexpr std::string_view kStarted = "##### CPU ";
    if (line.starts_with(kLost) && line.ends_with(" EVENTS]")) {
        std::size_t sp = line.find(" [LOST ");
        if (sp == std::string_view::npos)
            return false;
        std::string_view count = line.substr(sp + 7, line.size() - sp - 7 - 8);
        out.kind = TraceLine::Kind::lost_events;
        return parse_number(line.substr(4, sp - 4), out.cpu) && parse_number(count, out.lost);
    }
    if (line.starts_with(kStarted) && line.ends_with(" buffer started ####")) {
        out.kind = TraceLine::Kind::buffer_started;
        return parse_number(line.substr(kStarted.size(), line.size() - kStarted.size() - 20),
                            out.cpu);
    }
    return false;
}

/// trace_print_lat_fmt()'s characters: [d X .] [N n p .] [Z z H h s .] then %x or '.'.
bool valid_flags(std::string_view f) {
    if (f.size() < 4 || std::string_view("dX.").find(f[0]) == std::string_view::npos ||
        std::string_view("Nnp.").find(f[1]) == std::string_view::npos ||
        std::string_view("ZzHhs.").find(f[2]) == std::string_view::npos)
        return false;
    std::string_view depth = f.substr(3);
    if (depth == ".")
        return true;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(depth.data(), depth.data() + depth.size(), v, 16);
    return ec == std::errc{} && p == depth.data() + depth.size() && v != 0 && depth[0] != '0';
}

/// Finds "-PID [CPU] " after the comm: the first '-' followed by digits, spaces,
/// and a bracketed number (comms may hold '-' and spaces themselves).
bool split_context(std::string_view line, std::size_t& dash, std::size_t& close) {
    for (dash = line.find('-'); dash != std::string_view::npos; dash = line.find('-', dash + 1)) {
        std::size_t i = dash + 1;
        while (i < line.size() && is_digit(line[i]))
            ++i;
        if (i == dash + 1 || i >= line.size() || line[i] != ' ')
            continue;
        while (i < line.size() && line[i] == ' ')
            ++i;
        if (i >= line.size() || line[i] != '[')
            continue;
        std::size_t j = i + 1;
        while (j < line.size() && is_digit(line[j]))
            ++j;
        if (j == i + 1 || j + 1 >= line.size() || line[j] != ']' || line[j + 1] != ' ')
            continue;
        close = j;
        return true;
    }
    return false;
}

void parse_body(std::string_view body, TraceLine& out) {
    std::size_t colon = body.find(": ");
    if (colon != std::string_view::npos && find_event(body.substr(0, colon)) &&
        body.substr(0, colon) != "function") {
        out.kind = TraceLine::Kind::event;
        out.name = body.substr(0, colon);
        out.text = body.substr(colon + 2);
        return;
    }
    std::size_t arrow = body.find(" <-");
    bool function = arrow != std::string_view::npos
                        ? body.substr(0, arrow).find(": ") == std::string_view::npos
                        : colon == std::string_view::npos;
    if (function) {
        out.kind = TraceLine::Kind::function;
        out.name = "function";
        out.text = body;
        return;
    }
    out.kind = TraceLine::Kind::event;
    out.name = body.substr(0, colon);
    out.text = body.substr(colon + 2);
}

ErrorOr<TraceLine> parse_line(std::string_view line) {
    TraceLine out;
    if (parse_marker(line, out))
        return out;
    std::size_t dash = 0, close = 0;
    if (!split_context(line, dash, close))
        return Error{"expected 'COMM-PID [CPU] FLAGS SECS.USECS: EVENT'"};
    out.comm = ltrim(line.substr(0, dash));
    std::size_t open = line.find('[', dash);
    if (!parse_number(line.substr(dash + 1, line.find(' ', dash) - dash - 1), out.pid) ||
        !parse_number(line.substr(open + 1, close - open - 1), out.cpu))
        return Error{"bad pid or CPU number"};
    std::string_view rest = line.substr(close + 2);
    std::size_t sp = rest.find(' ');
    if (sp == std::string_view::npos || !valid_flags(rest.substr(0, sp)))
        return Error{"bad flags '" + std::string(rest.substr(0, sp)) + "'"};
    out.flags = rest.substr(0, sp);
    rest = ltrim(rest.substr(sp));
    std::size_t dot = rest.find('.');
    std::size_t end = rest.find(": ");
    std::uint64_t secs = 0, usecs = 0;
    if (dot == std::string_view::npos || end == std::string_view::npos || end != dot + 7 ||
        !parse_number(rest.substr(0, dot), secs) || !parse_number(rest.substr(dot + 1, 6), usecs))
        return Error{"bad timestamp (expected SECS.USECS with six digits, then ': ')"};
    out.ts_ns = (secs * 1000000 + usecs) * 1000;
    parse_body(rest.substr(end + 2), out);
    return out;
}

} // namespace

ErrorOr<Trace> read_trace(std::string_view text) {
    Trace trace;
    unsigned line_no = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty())
            continue;
        if (line.starts_with("# tracer: ")) {
            trace.tracer = line.substr(10);
            continue;
        }
        if (parse_entries(line, trace))
            continue;
        if (line.starts_with("#") && !line.starts_with("#####"))
            continue;
        auto parsed = parse_line(line);
        if (parsed.is_error())
            return Error{"line " + std::to_string(line_no) + ": " + parsed.error().message};
        TraceLine l = parsed.release_value();
        l.line_no = line_no;
        trace.lines.push_back(std::move(l));
    }
    return trace;
}

ErrorOr<Trace> read_trace_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error{path + ": cannot open"};
    std::stringstream ss;
    ss << in.rdbuf();
    auto trace = read_trace(ss.str());
    if (trace.is_error())
        return Error{path + ":" + trace.error().message.substr(5)}; // "line N: ..." -> "N: ..."
    return trace;
}

} // namespace piemu::trace
