// printk: the kernel model's log ring (kernel/printk/printk.c of Linux 4.14, reduced).
//
// Messages carry a log level (KERN_EMERG .. KERN_DEBUG, KERN_DEFAULT, KERN_CONT) and a
// virtual timestamp from the clock the owner supplies (never host time). A message
// that does not end in '\n' stays open and KERN_CONT messages append to it, as the
// kernel's continuation buffer does; any other message closes it first. Finished
// records go to every sink as the console would print them, "[%5lu.%06lu] text",
// one prefix per line of the record. The ring drops its oldest records when the text
// exceeds the buffer length (log_buf_len, 2^CONFIG_LOG_BUF_SHIFT).
//
// Not modelled: syslog facility, the console_loglevel filter (each sink filters by
// record level), /dev/kmsg sequence numbers, printk rate limits outside the callers.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace piemu::kernel {

/// Log levels (include/linux/kern_levels.h). Default becomes
/// CONFIG_MESSAGE_LOGLEVEL_DEFAULT (4, warning) when the record is stored.
enum class KernLevel : int {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
    Default = -1,
    Cont = -2,
};

inline constexpr KernLevel KERN_EMERG = KernLevel::Emerg;
inline constexpr KernLevel KERN_ALERT = KernLevel::Alert;
inline constexpr KernLevel KERN_CRIT = KernLevel::Crit;
inline constexpr KernLevel KERN_ERR = KernLevel::Err;
inline constexpr KernLevel KERN_WARNING = KernLevel::Warning;
inline constexpr KernLevel KERN_NOTICE = KernLevel::Notice;
inline constexpr KernLevel KERN_INFO = KernLevel::Info;
inline constexpr KernLevel KERN_DEBUG = KernLevel::Debug;
inline constexpr KernLevel KERN_DEFAULT = KernLevel::Default;
inline constexpr KernLevel KERN_CONT = KernLevel::Cont;

/// One finished (or still open) log record.
struct LogRecord {
    std::uint64_t ts_ns = 0; ///< virtual time of the record's first fragment
    int level = 4;           ///< 0 (emerg) .. 7 (debug)
    std::string text;        ///< without the trailing newline
};

class Printk {
public:
    /// Virtual nanoseconds since boot.
    using Clock = std::function<std::uint64_t()>;
    /// Receives each finished record and its console text (prefixed lines, each
    /// ending in '\n').
    using Sink = std::function<void(const LogRecord&, std::string_view console_text)>;

    /// 4.14's CONFIG_MESSAGE_LOGLEVEL_DEFAULT.
    static constexpr int kDefaultMessageLoglevel = 4;
    /// Raspbian's CONFIG_LOG_BUF_SHIFT=17.
    static constexpr std::size_t kDefaultLogBufLen = std::size_t{1} << 17;

    explicit Printk(Clock now_ns, std::size_t log_buf_len = kDefaultLogBufLen);

    /// printk(): formats like the kernel's vsnprintf for the conversions genirq uses
    /// (C printf semantics: %d %u %x %s %*d %-8s ...).
    void printk(KernLevel level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
    void vprintk(KernLevel level, const char* fmt, std::va_list ap);
    /// Logs already formatted text (may hold several lines).
    void log(KernLevel level, std::string_view text);

    /// print_oops_end_marker(): "---[ end trace %016llx ]---". The kernel seeds the
    /// id from get_random_bytes(); piemu starts at 1 so that logs are reproducible,
    /// then increments as init_oops_id() does.
    void print_oops_end_marker();

    /// Adds a sink; returns its id for remove_sink().
    int add_sink(Sink sink);
    void remove_sink(int id);

    /// The whole ring as the console prints it (the open record included).
    std::string dmesg() const;
    /// The stored records, oldest first (the open record is the last one when
    /// has_open_record()).
    const std::deque<LogRecord>& records() const { return records_; }
    bool has_open_record() const { return open_; }
    std::uint64_t now_ns() const { return now_ns_(); }

    /// "[%5lu.%06lu] " for a timestamp, as print_time() writes it.
    static std::string format_time(std::uint64_t ts_ns);
    /// A record as console text: the time prefix on every line, '\n' after each.
    static std::string format_record(const LogRecord& record);

private:
    void finish_open_record();
    void trim();

    Clock now_ns_;
    std::size_t log_buf_len_;
    std::size_t text_bytes_ = 0;
    std::deque<LogRecord> records_;
    bool open_ = false; ///< records_.back() still accepts KERN_CONT text
    std::uint64_t oops_id_ = 0;
    std::vector<std::pair<int, Sink>> sinks_;
    int next_sink_id_ = 1;
};

} // namespace piemu::kernel
