// docs/trace-events.md stays generated from the event table: its section between
// the GENERATED markers equals trace_events_markdown(). After changing
// src/trace/events.def, regenerate it with
//   PIEMU_UPDATE_DOCS=1 ./piemu_unit_tests --gtest_filter='TraceDocs.*'
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "piemu/trace.hpp"

using namespace piemu::trace;

namespace {

const std::string kDoc = std::string(PIEMU_TEST_DATA_DIR) + "/../../docs/trace-events.md";
const std::string kBegin = "<!-- BEGIN GENERATED: trace_events_markdown() -->\n";
const std::string kEnd = "<!-- END GENERATED -->\n";

std::string read_doc() {
    std::ifstream in(kDoc, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST(TraceDocs, EventReferenceIsGeneratedFromTheTable) {
    std::string doc = read_doc();
    std::size_t begin = doc.find(kBegin);
    std::size_t end = doc.find(kEnd);
    ASSERT_NE(begin, std::string::npos) << kDoc << " lacks " << kBegin;
    ASSERT_NE(end, std::string::npos) << kDoc << " lacks " << kEnd;
    begin += kBegin.size();
    std::string generated = trace_events_markdown();
    if (std::getenv("PIEMU_UPDATE_DOCS")) {
        doc.replace(begin, end - begin, generated);
        std::ofstream(kDoc, std::ios::binary) << doc;
        GTEST_SKIP() << "rewrote " << kDoc;
    }
    EXPECT_EQ(doc.substr(begin, end - begin), generated)
        << "docs/trace-events.md is out of date: run PIEMU_UPDATE_DOCS=1 piemu_unit_tests "
           "--gtest_filter='TraceDocs.*'";
}

TEST(TraceDocs, EveryEventHasARow) {
    std::string table = trace_events_markdown();
    for (std::size_t i = 0; i < kEventCount; ++i) {
        const EventInfo& e = event_info(static_cast<EventId>(i));
        std::string row = "| `" + std::string(e.subsystem) + ":" + std::string(e.name) + "` |";
        EXPECT_NE(table.find(row), std::string::npos) << row;
    }
    // The kernel's formats, verbatim (include/trace/events/irq.h, sched.h, ipi.h).
    EXPECT_EQ(event_info(EventId::irq_handler_entry).format, "irq=%d name=%s");
    EXPECT_EQ(event_info(EventId::irq_handler_exit).format, "irq=%d ret=%s");
    EXPECT_EQ(event_info(EventId::softirq_raise).format, "vec=%u [action=%s]");
    EXPECT_EQ(event_info(EventId::sched_switch).format,
              "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s "
              "next_pid=%d next_prio=%d");
    EXPECT_EQ(event_info(EventId::sched_wakeup).format, "comm=%s pid=%d prio=%d target_cpu=%03d");
    EXPECT_EQ(event_info(EventId::ipi_raise).format, "target_mask=%s (%s)");
    EXPECT_EQ(event_info(EventId::ipi_entry).format, "(%s)");
    EXPECT_EQ(event_info(EventId::irq_handler_entry).fields, "int32_t irq; StrId name;");
    EXPECT_EQ(event_info(EventId::irq_handler_entry).args, "e.irq, str(e.name)");
    EXPECT_EQ(find_event("sched_switch"), EventId::sched_switch);
    EXPECT_EQ(find_event("sched_waking"), std::nullopt);
}
