// The per-CPU ring buffers: bounded size with the oldest records dropped, the loss
// markers at the point of loss, the merge order over CPUs, event enabling, and
// determinism of the written bytes.
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "piemu/trace.hpp"

using namespace piemu::trace;

namespace {

constexpr std::size_t kSlot = sizeof(detail::Slot);

/// softirq_raise with `vec` on `cpu` at `us` microseconds, in task "t"-100+cpu.
void raise(Recorder& rec, unsigned cpu, std::uint64_t us, std::uint32_t vec) {
    rec.record(make_context(us * 1000, cpu, static_cast<std::int32_t>(100 + cpu),
                            rec.intern_comm("t" + std::to_string(cpu)), {}),
               ev::softirq_raise{.vec = vec});
}

/// "CPU@us:vec" for events, the marker text for markers.
std::vector<std::string> summary(const Recorder& rec, const WriterOptions& o = {}) {
    std::vector<std::string> out;
    rec.for_each_line(o, [&](const TraceLine& l) {
        if (l.kind != TraceLine::Kind::event) {
            out.push_back(format_line(l));
            return;
        }
        out.push_back(std::to_string(l.cpu) + "@" + std::to_string(l.ts_ns / 1000) + ":" +
                      l.text.substr(4, l.text.find(' ') - 4));
    });
    return out;
}

/// CPU 0: two events; CPU 1: ten events into a ring of four records.
Recorder overflowing(std::uint64_t cpu0_first_us) {
    Recorder rec({.nr_cpus = 2, .buffer_size = 4 * kSlot});
    raise(rec, 0, cpu0_first_us, 0);
    for (std::uint32_t i = 0; i < 10; ++i)
        raise(rec, 1, i + 1, i);
    raise(rec, 0, 8, 1); // ties with CPU 1's record at 8 us
    return rec;
}

} // namespace

TEST(TraceRing, CapacityIsTheBufferSizeInRecords) {
    EXPECT_EQ(kSlot, 48u);
    EXPECT_EQ(Recorder({.nr_cpus = 1, .buffer_size = 10 * kSlot + 47}).capacity(), 10u);
    EXPECT_EQ(Recorder({.nr_cpus = 1, .buffer_size = 1}).capacity(), 1u); // at least one
    EXPECT_EQ(Recorder({.nr_cpus = 4}).capacity(), 1441792u / 48);        // 1408 KiB
}

TEST(TraceRing, OverflowDropsTheOldestAndCountsThem) {
    Recorder rec = overflowing(2);
    EXPECT_EQ(rec.entries(0), 2u);
    EXPECT_EQ(rec.overrun(0), 0u);
    EXPECT_EQ(rec.entries(1), 4u); // vec 6..9 remain
    EXPECT_EQ(rec.overrun(1), 6u); // vec 0..5 dropped
    Trace t = rec.snapshot();
    ASSERT_TRUE(t.entries.has_value());
    EXPECT_EQ(t.entries->in_buffer, 6u);
    EXPECT_EQ(t.entries->written, 12u);
    EXPECT_EQ(t.entries->nr_cpus, 2);
}

TEST(TraceRing, LostEventsMarkerStandsBeforeTheFirstSurvivorOfThatCpu) {
    Recorder rec = overflowing(2);
    EXPECT_EQ(summary(rec), (std::vector<std::string>{
                                "0@2:0",
                                "CPU:1 [LOST 6 EVENTS]",
                                "1@7:6",
                                "0@8:1", // ties with CPU 1 at 8 us: the lower CPU first
                                "1@8:7",
                                "1@9:8",
                                "1@10:9",
                            }));
}

TEST(TraceRing, BufferStartedAnnotationAsThe414TraceFilePrintsIt) {
    // test_cpu_buff_start(): once per CPU, only after an overrun anywhere, and not
    // for the first two entries of the file (iter->idx > 1).
    Recorder early = overflowing(2);
    EXPECT_EQ(summary(early, {.loss_marker = LossMarker::buffer_started}),
              (std::vector<std::string>{"0@2:0", "1@7:6", "0@8:1", "1@8:7", "1@9:8", "1@10:9"}));

    Recorder rec({.nr_cpus = 2, .buffer_size = 4 * kSlot});
    raise(rec, 0, 1, 0);
    raise(rec, 0, 2, 1);
    for (std::uint32_t i = 0; i < 5; ++i)
        raise(rec, 1, 10 + i, i);
    EXPECT_EQ(summary(rec, {.loss_marker = LossMarker::buffer_started}),
              (std::vector<std::string>{"0@1:0", "0@2:1", "##### CPU 1 buffer started ####",
                                        "1@11:1", "1@12:2", "1@13:3", "1@14:4"}));
}

TEST(TraceRing, NoMarkerWithoutLoss) {
    Recorder rec({.nr_cpus = 2});
    raise(rec, 1, 1, 0);
    raise(rec, 0, 2, 0);
    raise(rec, 1, 3, 0);
    raise(rec, 0, 4, 0);
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"1@1:0", "0@2:0", "1@3:0", "0@4:0"}));
    EXPECT_EQ(summary(rec, {.loss_marker = LossMarker::buffer_started}),
              (std::vector<std::string>{"1@1:0", "0@2:0", "1@3:0", "0@4:0"}));
}

TEST(TraceRing, EqualTimestampsKeepCpuThenRecordingOrder) {
    Recorder rec({.nr_cpus = 3});
    raise(rec, 2, 5, 0);
    raise(rec, 1, 5, 1);
    raise(rec, 1, 5, 2);
    raise(rec, 0, 5, 3);
    raise(rec, 2, 5, 4);
    EXPECT_EQ(summary(rec),
              (std::vector<std::string>{"0@5:3", "1@5:1", "1@5:2", "2@5:0", "2@5:4"}));
}

TEST(TraceRing, DisabledEventsAreNotRecorded) {
    auto only_entry = EventFilter::parse("irq:irq_handler_entry");
    ASSERT_FALSE(only_entry.is_error());
    Recorder rec({.nr_cpus = 1, .events = only_entry.value()});
    EXPECT_TRUE(rec.enabled(EventId::irq_handler_entry));
    EXPECT_FALSE(rec.enabled(EventId::irq_handler_exit));
    rec.record(Context{}, ev::irq_handler_entry{.irq = 1});
    rec.record(Context{}, ev::irq_handler_exit{.irq = 1});
    EXPECT_EQ(rec.entries(0), 1u);
}

TEST(TraceRing, EventListsNameSubsystemsEventsAndWildcards) {
    auto f = EventFilter::parse("irq, sched:sched_switch,piemu:*,ipi_entry");
    ASSERT_FALSE(f.is_error());
    EXPECT_TRUE(f.value().matches(EventId::softirq_exit));
    EXPECT_TRUE(f.value().matches(EventId::sched_switch));
    EXPECT_FALSE(f.value().matches(EventId::sched_wakeup));
    EXPECT_TRUE(f.value().matches(EventId::mmio));
    EXPECT_TRUE(f.value().matches(EventId::ipi_entry));
    EXPECT_FALSE(f.value().matches(EventId::ipi_exit));
    EXPECT_FALSE(f.value().matches(EventId::function));
    EXPECT_EQ(EventFilter::parse("irq:nope").error().message, "unknown trace event 'irq:nope'");
    EXPECT_EQ(EventFilter::parse("bogus:*").error().message,
              "unknown trace subsystem 'bogus' in 'bogus:*'");
    auto diff = EventFilter::parse("sched_waking", /*allow_unknown=*/true);
    ASSERT_FALSE(diff.is_error());
    EXPECT_TRUE(diff.value().matches("sched_waking"));
    EXPECT_FALSE(diff.value().matches("sched_switch"));
    EXPECT_TRUE(EventFilter::all().matches("anything_at_all"));
    EXPECT_FALSE(EventFilter::defaults().matches(EventId::mmio));
    EXPECT_FALSE(EventFilter::defaults().matches(EventId::function));
    EXPECT_TRUE(EventFilter::defaults().matches(EventId::exception_entry));
}

TEST(TraceRing, ClearEmptiesBuffersAndCounters) {
    Recorder rec = overflowing(2);
    rec.clear();
    EXPECT_EQ(rec.entries(1), 0u);
    EXPECT_EQ(rec.overrun(1), 0u);
    EXPECT_TRUE(summary(rec).empty());
    raise(rec, 1, 1, 3);
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"1@1:3"}));
}

TEST(TraceRing, IdenticalRecordingsGiveIdenticalBytes) {
    auto run = [](bool intern_in_other_order) {
        Recorder rec({.nr_cpus = 2, .buffer_size = 5 * kSlot, .events = EventFilter::all()});
        if (intern_in_other_order) { // string ids differ; the text must not
            rec.intern("zzz");
            rec.intern_comm("t1");
        }
        for (std::uint32_t i = 0; i < 8; ++i) {
            raise(rec, i % 2, i, i);
            rec.record(make_context(i * 1000 + 1, i % 2, 7, rec.intern_comm("w"), {}),
                       ev::function{.ip = rec.intern("f"), .parent_ip = rec.intern("g")});
        }
        std::ostringstream out;
        rec.write(out);
        return out.str();
    };
    std::string first = run(false);
    EXPECT_EQ(first, run(false));
    EXPECT_EQ(first, run(true));
    EXPECT_NE(first.find("CPU:0 [LOST 3 EVENTS]"), std::string::npos) << first;
}

TEST(TraceRing, ACopyOutlivesItsOriginal) {
    auto original = std::make_unique<Recorder>(RecorderConfig{.nr_cpus = 1});
    raise(*original, 0, 1, 2);
    Recorder copy = *original;
    original.reset();
    copy.intern_comm("t0"); // found in the copy's own index, not a dangling one
    EXPECT_EQ(copy.strings().size(), 2u);
    EXPECT_EQ(summary(copy), (std::vector<std::string>{"0@1:2"}));
}
