// Several cores: the secondaries' boot as the Pi firmware leaves them, and the
// deterministic round-robin that runs the cores once more than one runs
// (docs/architecture.md, "Several cores").
//
// Time. Each core keeps its own virtual time (CoreRun::local, in cycles: one retired
// instruction is one cycle, as with one core). A round starts at the machine's time T
// and ends at T + quantum. Every running core, in index order, runs its own share of
// the round: from its local time until it reaches the round's end (a translation
// block may take it a little past: the next round's share is that much shorter, so no
// core drifts from the others). While a core runs, the clock reads that core's local
// time: its generic timer, the devices it reads and the trace see time move at the CPU
// clock rate, as on one core. Timer events run only between rounds, at the round's
// end: a deadline inside a round is seen at its end, at most one quantum late (one
// core: at most one translation block late). So every core sees time advance at the
// CPU's rate, not N times faster, and all orderings (which core's MMIO comes first,
// when an event fires) depend on the quantum and the guest alone.
//
// Waiting. A core in WFI or WFE runs nothing and costs nothing: its share of each round
// is idle. It runs again at a round in which its wake-up holds (WFI: an interrupt line
// is high, masked or not; WFE: its event register is set, by an SEV of any core, or an
// unmasked interrupt is pending), from the round's start. When no core can run, time
// jumps to the next timer event, as one core's WFI does.
//
// Memory. All engines map the same host RAM and only one runs at a time, so memory is
// sequentially consistent: every run is an interleaving of whole slices. DMB, DSB and
// ISB are no-ops. A core's exclusive monitor is cleared when it resumes after another
// core ran, so an LDREX/STREX pair split by a switch fails and is retried.
#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "devices/bcm2835_aux.hpp"
#include "devices/bcm2836_local_intc.hpp"
#include "devices/pl011.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/machine.hpp"

namespace piemu {

namespace {
// Mailbox 3 of core c: its read/clear register (the firmware's spin loop reads it and
// writes back what it read to clear it).
constexpr unsigned kBootMailbox = 3;
constexpr uint32_t mailbox_clear_offset(unsigned core, unsigned mailbox) {
    return uint32_t(Bcm2836LocalIntc::Reg::MailboxClear0) + 16 * core + 4 * mailbox;
}
// As idle_until_event(): a day of virtual time with every core waiting and nothing
// waking one is a hang.
constexpr uint64_t kIdleHorizonSeconds = 24 * 3600;
} // namespace

void Machine::reset_core_runs() {
    bool all = options_.smp_start == "all";
    for (size_t i = 0; i < runs_.size(); ++i) {
        runs_[i].state = (i == 0 || all) ? CoreState::Running : CoreState::Parked;
        runs_[i].local = clock_.now();
        cores_[i]->consume_event();
    }
    smp_ = all && runs_.size() > 1;
    start_pending_ = false;
    round_cut_ = false;
    current_cpu_ = 0;
}

void Machine::mailbox_written(unsigned core, unsigned mailbox) {
    if (mailbox != kBootMailbox || core >= runs_.size() || runs_[core].state != CoreState::Parked)
        return;
    if (local_intc_->mailbox(core, mailbox) == 0)
        return;
    // Like an interrupt line: stop the running core at the next block boundary.
    start_pending_ = true;
    clock_.request_attention();
}

bool Machine::start_parked_cores() {
    start_pending_ = false;
    bool started = false;
    for (unsigned i = 1; i < runs_.size(); ++i) {
        if (runs_[i].state != CoreState::Parked)
            continue;
        uint32_t entry = local_intc_ ? local_intc_->mailbox(i, kBootMailbox) : 0;
        if (entry == 0)
            continue;
        // armstub7.S's secondary loop: `wfe; ldr r4, [mbox3]; cmp r4, #0; beq 1b;
        // str r4, [mbox3]` (write back what was read: clears it), then r0 = 0,
        // r1 = the machine type, r2 = the ATAGs/DTB (what core 0 was given), `bx r4`.
        local_intc_->write(mailbox_clear_offset(i, kBootMailbox), entry, 4);
        ArmCore& c = *cores_[i];
        c.set_reg(0, 0);
        c.set_reg(1, image_.use_boot_stub ? image_.boot_r1 : 0);
        c.set_reg(2, image_.use_boot_stub ? image_.boot_r2 : 0);
        if (image_.use_boot_stub)
            c.enable_vfp(); // as piemu's boot stub leaves core 0 (firmware/boot/armstub.S)
        c.set_pc(entry & ~1u, entry & 1u);
        runs_[i] = {CoreState::Running, clock_.now()};
        spdlog::debug("cpu{}: left the boot loop for 0x{:08x}", i, entry);
        started = true;
    }
    return started;
}

void Machine::broadcast_sev(ArmCore& c) {
    if (!c.take_sev())
        return;
    for (auto& core : cores_)
        core->signal_event();
}

void Machine::broadcast_tlb_maintenance(ArmCore& c) {
    if (!c.take_tlb_broadcast())
        return;
    // The other cores are between runs (one host thread runs them in turn), so their
    // TLBs are dropped before any of them runs again (cp15_traps.cpp).
    for (auto& core : cores_)
        if (core.get() != &c)
            core->flush_tlb();
}

std::optional<RunOutcome> Machine::core_waits(ArmCore& c, bool wfe) {
    // WFE completes at once if the event register was set (and clears it).
    if (wfe && c.consume_event())
        return std::nullopt;
    if (!smp_ || debugging_)
        return idle_until_event();
    runs_[c.index()].state = wfe ? CoreState::WaitEvent : CoreState::WaitIrq;
    // An interrupt pending already, or raised by a core that ran earlier in this round
    // at a time this core has not reached yet: it waits until then, inside its share.
    uint64_t wake = core_wake_time(c.index());
    if (wake < round_end_) {
        if (wake > clock_.now())
            clock_.set_now(wake);
        runs_[c.index()].state = CoreState::Running;
    }
    return std::nullopt;
}

uint64_t Machine::core_wake_time(unsigned cpu) const {
    const ArmCore& c = *cores_[cpu];
    switch (runs_[cpu].state) {
    case CoreState::WaitIrq: // ARM ARM B1.8.13: any pending interrupt, masked or not
        return c.line_raised_at();
    case CoreState::WaitEvent: // an event, or an interrupt CPSR.I/F would take
        return c.event_register() ? 0 : c.unmasked_line_raised_at();
    case CoreState::Running:
        return 0;
    case CoreState::Parked:
        return VirtualClock::kNever;
    }
    return VirtualClock::kNever;
}

int Machine::solo_core(uint64_t start) const {
    if (start_pending_)
        return -1;
    int solo = -1;
    for (unsigned i = 0; i < runs_.size(); ++i) {
        uint64_t wake = core_wake_time(i);
        if (wake == VirtualClock::kNever)
            continue; // parked, or waiting with nothing pending
        if (solo >= 0 || wake > start)
            return -1;
        solo = int(i);
    }
    return solo;
}

bool Machine::other_core_runnable(unsigned cpu) const {
    if (start_pending_)
        return true;
    for (unsigned i = 0; i < runs_.size(); ++i)
        if (i != cpu && core_wake_time(i) <= clock_.now())
            return true;
    return false;
}

bool Machine::core_wakes(unsigned cpu, uint64_t by) {
    uint64_t wake = core_wake_time(cpu);
    if (wake > by || wake == VirtualClock::kNever)
        return false;
    if (runs_[cpu].state == CoreState::WaitEvent)
        cores_[cpu]->consume_event();
    runs_[cpu].state = CoreState::Running;
    runs_[cpu].local = std::max(runs_[cpu].local, wake);
    return true;
}

uint64_t Machine::duration_end() const {
    if (!options_.duration_ns)
        return VirtualClock::kNever;
    return clock_.ticks_to_cycles(options_.duration_ns, 1'000'000'000);
}

std::optional<RunOutcome> Machine::insn_limit_reached() {
    if (!options_.max_insns)
        return std::nullopt;
    uint64_t done = instructions();
    if (done < options_.max_insns)
        return std::nullopt;
    flush_outputs();
    return RunOutcome{RunOutcome::Kind::InsnLimit, kExitInsnLimit,
                      fmt::format("instruction limit reached ({} instructions)", done)};
}

std::optional<RunOutcome> Machine::prepare_round() {
    current_cpu_ = 0;
    if (kernel_)
        kernel_->set_current_cpu(0);
    if (auto outcome = between_slices(true))
        return outcome;
    if (!smp_)
        return std::nullopt; // a reset parked the secondaries: back to one core
    if (start_pending_)
        start_parked_cores();
    // --progress between rounds only: the clock is then the machine's time, while in a
    // core's share it is that core's (a little behind another's).
    if (progress_)
        progress_();
    if (clock_.now() >= duration_end()) {
        flush_outputs();
        return RunOutcome{RunOutcome::Kind::Duration, kExitOk, "run duration reached"};
    }
    return insn_limit_reached();
}

std::optional<RunOutcome> Machine::run_smp() {
    while (smp_) {
        if (auto outcome = prepare_round())
            return outcome;
        if (!smp_)
            break;
        const uint64_t start = clock_.now();
        uint64_t end = std::min(start + options_.quantum, duration_end());
        // One core runnable and the others asleep: no interleaving to arrange, so the
        // round lasts to the next timer event, as one core's slice does (cut short
        // if that core wakes another).
        const int solo = solo_core(start);
        solo_round_ = solo >= 0;
        solo_cut_ = false;
        if (solo_round_)
            end = std::min(std::max(clock_.next_deadline(), start + 1), duration_end());
        round_end_ = end;
        bool ran = false;
        for (unsigned i = 0; i < runs_.size() && !round_cut_; ++i) {
            CoreRun& r = runs_[i];
            if (r.state == CoreState::Parked)
                continue;
            if (r.state != CoreState::Running) {
                r.local = std::max(r.local, start);
                if (!core_wakes(i, end - 1))
                    continue; // its share of the round passes idle
            }
            ran = true;
            if (r.local >= end)
                continue; // a block took it past this round already
            if (auto outcome = run_core_slice(i, end)) {
                flush_outputs();
                return outcome;
            }
        }
        current_cpu_ = 0;
        if (kernel_)
            kernel_->set_current_cpu(0);
        if (round_cut_) {
            // A reset, power-off or host signal during the round: handled at once, at
            // the latest time any core reached.
            round_cut_ = false;
            uint64_t latest = start;
            for (auto& r : runs_)
                latest = std::max(latest, r.local);
            clock_.set_now(latest);
            continue;
        }
        if (!ran) {
            clock_.set_now(start);
            if (auto outcome = idle_all_cores())
                return outcome;
            continue;
        }
        clock_.set_now(solo_cut_ ? runs_[solo].local : end);
    }
    return std::nullopt;
}

std::optional<RunOutcome> Machine::run_core_slice(unsigned cpu, uint64_t end) {
    ArmCore& c = *cores_[cpu];
    CoreRun& r = runs_[cpu];
    current_cpu_ = cpu;
    if (kernel_)
        kernel_->set_current_cpu(cpu);
    clock_.set_now(r.local);
    // Another core ran since this one last did: its exclusive monitor is cleared (ARM
    // ARM A3.4.4: a context switch may clear it), so an LDREX/STREX pair split by the
    // switch fails and the guest retries it.
    if (std::exchange(last_slice_cpu_, cpu) != cpu)
        c.clear_exclusive_monitor();
    // A timer event armed meanwhile for earlier than a solo round's end ends the round
    // then, as it ends one core's slice; also when the core stopped running (a WFI)
    // before it got there.
    auto cut_solo_round = [&] {
        if (!solo_round_)
            return;
        uint64_t due = clock_.next_deadline();
        if (due < end) {
            end = round_end_ = std::max(due, clock_.now());
            solo_cut_ = true;
        }
    };
    while (r.state == CoreState::Running) {
        clock_.clear_attention();
        cut_solo_round();
        if (clock_.now() >= end)
            break;
        deliver_interrupts(c);
        uint64_t stop_at = end;
        // A line another core raised at a time ahead of this core's: run up to it.
        if (uint64_t raised = c.line_raised_at(); raised > clock_.now())
            stop_at = std::min(stop_at, raised);
        if (options_.max_insns) {
            if (auto outcome = insn_limit_reached())
                return outcome;
            stop_at = std::min(stop_at, clock_.now() + (options_.max_insns - instructions()));
        }
        clock_.set_stop_at(stop_at);
        StopInfo s = c.run();
        broadcast_sev(c);
        broadcast_tlb_maintenance(c);
        if (auto outcome = handle_stop(c, s))
            return outcome;
        if (pending_exit_ || stop_requested_) {
            round_cut_ = true;
            break;
        }
        if (solo_round_ && other_core_runnable(cpu)) {
            solo_cut_ = true; // the others take their turns from here
            break;
        }
    }
    cut_solo_round();
    r.local = clock_.now();
    return std::nullopt;
}

std::optional<RunOutcome> Machine::idle_all_cores() {
    // As idle_until_event() for one core: the events run (devices move on) without any
    // core executing, until one can run again.
    const uint64_t horizon = clock_.now() + kIdleHorizonSeconds * clock_.hz();
    for (;;) {
        if (stop_requested_ || pending_exit_ || start_pending_ ||
            (kernel_ && kernel_->stop_pending()))
            return std::nullopt; // prepare_round() handles them
        for (unsigned i = 0; i < runs_.size(); ++i)
            if (core_wake_time(i) <= clock_.now())
                return std::nullopt;
        uint64_t next = clock_.next_deadline();
        if (next >= duration_end()) {
            clock_.set_now(std::max(clock_.now(), duration_end()));
            return std::nullopt; // prepare_round() ends the run
        }
        bool input = (uart0_->input_attached() && !uart0_->input_exhausted()) ||
                     (uart1_ && uart1_->input_attached() && !uart1_->input_exhausted());
        if (next == VirtualClock::kNever || (next > horizon && !input))
            return RunOutcome{RunOutcome::Kind::Deadlock, kExitGuestHang,
                              fmt::format("every core waits for an interrupt or event (cpu0 at "
                                          "0x{:08x}) but nothing can raise one",
                                          cores_[0]->pc())};
        if (next > clock_.now())
            clock_.set_now(next);
        clock_.run_due();
        if (progress_)
            progress_();
    }
}

} // namespace piemu
