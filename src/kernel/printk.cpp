// The kernel log ring (see piemu/kernel/printk.hpp).
#include "piemu/kernel/printk.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

namespace piemu::kernel {

Printk::Printk(Clock now_ns, std::size_t log_buf_len)
    : now_ns_(std::move(now_ns)), log_buf_len_(log_buf_len) {}

void Printk::printk(KernLevel level, const char* fmt, ...) {
    std::va_list ap;
    va_start(ap, fmt);
    vprintk(level, fmt, ap);
    va_end(ap);
}

void Printk::vprintk(KernLevel level, const char* fmt, std::va_list ap) {
    std::va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap2);
    va_end(ap2);
    std::string text(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
    if (n > 0)
        std::vsnprintf(text.data(), text.size() + 1, fmt, ap);
    log(level, text);
}

void Printk::log(KernLevel level, std::string_view text) {
    if (level == KernLevel::Cont && open_) {
        records_.back().text.append(text);
        text_bytes_ += text.size();
    } else {
        if (open_)
            finish_open_record();
        int lv = (level == KernLevel::Default || level == KernLevel::Cont)
                     ? kDefaultMessageLoglevel
                     : static_cast<int>(level);
        records_.push_back(LogRecord{now_ns_(), lv, std::string(text)});
        text_bytes_ += text.size();
        open_ = true;
    }
    if (!records_.back().text.empty() && records_.back().text.back() == '\n') {
        records_.back().text.pop_back();
        --text_bytes_;
        finish_open_record();
    }
    trim();
}

void Printk::finish_open_record() {
    open_ = false;
    const LogRecord& r = records_.back();
    if (sinks_.empty())
        return;
    std::string console = format_record(r);
    for (auto& [id, sink] : sinks_)
        sink(r, console);
}

void Printk::trim() {
    // Keep at least the newest record, however long.
    while (text_bytes_ > log_buf_len_ && records_.size() > 1) {
        text_bytes_ -= records_.front().text.size();
        records_.pop_front();
    }
}

void Printk::print_oops_end_marker() {
    oops_id_ = oops_id_ == 0 ? 1 : oops_id_ + 1;
    printk(KERN_WARNING, "---[ end trace %016" PRIx64 " ]---\n", oops_id_);
}

int Printk::add_sink(Sink sink) {
    sinks_.emplace_back(next_sink_id_, std::move(sink));
    return next_sink_id_++;
}

void Printk::remove_sink(int id) {
    std::erase_if(sinks_, [id](const auto& s) { return s.first == id; });
}

std::string Printk::format_time(std::uint64_t ts_ns) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "[%5lu.%06lu] ", static_cast<unsigned long>(ts_ns / 1000000000),
                  static_cast<unsigned long>(ts_ns % 1000000000 / 1000));
    return buf;
}

std::string Printk::format_record(const LogRecord& record) {
    std::string prefix = format_time(record.ts_ns);
    std::string out;
    std::string_view text = record.text;
    for (;;) {
        auto nl = text.find('\n');
        out += prefix;
        out.append(text.substr(0, nl));
        out += '\n';
        if (nl == std::string_view::npos)
            break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

std::string Printk::dmesg() const {
    std::string out;
    for (const LogRecord& r : records_)
        out += format_record(r);
    return out;
}

} // namespace piemu::kernel
