// Shared pieces of the genirq unit tests, in the manner of the kernel's irq tests: a
// fake irq_chip that records each callback it gets, handlers that count and return
// a chosen value, a handler that parks like a guest handler until the test resumes
// it, and an Irq context with a log on a test-controlled virtual clock.
#pragma once

#include <coroutine>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernel/irq/internals.hpp"
#include "piemu/kernel/irq.hpp"

namespace genirq_test {

using namespace piemu::kernel;

/// A fake chip: every callback appends "<callback> <irq>" to `calls`; it can
/// retrigger an edge and accepts every trigger type.
inline irq_chip fake_chip(std::string name, std::vector<std::string>* calls,
                          unsigned long flags = 0) {
    auto rec = [calls](const char* what) {
        return
            [calls, what](irq_data* d) { calls->push_back(what + (" " + std::to_string(d->irq))); };
    };
    return irq_chip{.name = std::move(name),
                    .irq_ack = rec("ack"),
                    .irq_mask = rec("mask"),
                    .irq_unmask = rec("unmask"),
                    .irq_eoi = rec("eoi"),
                    .irq_retrigger =
                        [calls](irq_data* d) {
                            calls->push_back("retrigger " + std::to_string(d->irq));
                            return 1;
                        },
                    .irq_set_type =
                        [calls](irq_data* d, unsigned type) {
                            calls->push_back("set_type " + std::to_string(d->irq) + " " +
                                             std::to_string(type));
                            return IRQ_SET_MASK_OK;
                        },
                    .flags = flags};
}

/// A handler that records "handler <name>" into `calls` and returns `ret`.
inline irq_handler_t recording_handler(std::string name, std::vector<std::string>* calls,
                                       irqreturn_t ret = IRQ_HANDLED) {
    return irq_handler_t(name, [calls, name, ret](unsigned, void*) -> Task<irqreturn_t> {
        calls->push_back("handler " + name);
        co_return ret;
    });
}

/// Parks the awaiting coroutine until the test resumes it, as a call into guest
/// code parks the kernel model until the guest returns.
struct Park {
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
    void await_resume() const noexcept {}
};

class GenirqTest : public ::testing::Test {
protected:
    std::uint64_t now_ns = 0;
    Printk log{[this] { return now_ns; }};
    HostPreemptCounts preempt{4};
    Irq irq{IrqConfig{}, log, preempt};
    std::vector<std::string> calls;
    irq_chip chip = fake_chip("fake", &calls);

    /// A requestable line with `chip` and `flow` at the next free number (16 up).
    unsigned new_line(irq_flow_handler_t flow, irq_chip* c = nullptr) {
        int v = irq.irq_alloc_descs(-1, 1, 1);
        EXPECT_GE(v, 16);
        unsigned line = static_cast<unsigned>(v);
        irq.irq_set_chip_and_handler(line, c ? c : &chip, std::move(flow));
        irq.irq_clear_status_flags(line, IRQ_NOREQUEST);
        return line;
    }

    /// One interrupt on `line` through generic_handle_irq, run to completion.
    int fire(unsigned line) { return run_sync(irq.generic_handle_irq(line)); }

    /// The log's record texts, one per record, without timestamps.
    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const LogRecord& r : log.records())
            out.push_back(r.text);
        return out;
    }
    /// The messages after the boot banner of the constructor (early_irq_init).
    std::vector<std::string> new_messages() const {
        auto all = messages();
        return std::vector<std::string>(all.begin() + 1, all.end());
    }
};

} // namespace genirq_test
