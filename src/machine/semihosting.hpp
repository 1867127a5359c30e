// ARM semihosting (ARM "Semihosting for AArch32 and AArch64", v2.0): the guest asks
// the host for a service with `svc 0x123456` (ARM) or `svc 0xab` (Thumb), operation
// number in r0, parameter (usually a pointer to an argument block) in r1, result in r0.
//
// As under QEMU, only privileged code may use it: from User mode the SVC is an
// ordinary SVC exception. Host files are not reachable: SYS_OPEN opens only ":tt"
// (the console); guests get no access to the host file system. Time (SYS_CLOCK,
// SYS_TIME, SYS_ELAPSED) is virtual time, so runs stay deterministic.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "piemu/arm_core.hpp"

namespace piemu {

class VirtualClock;

class Semihosting {
public:
    Semihosting(VirtualClock& clock, FILE* console) : clock_(clock), console_(console) {}

    /// True when `stop` is a semihosting call this core may make.
    static bool is_semihosting_call(const ArmCore& core, const StopInfo& stop);
    /// Performs the call and sets r0. Returns the exit status when the guest asked
    /// to exit (SYS_EXIT, SYS_EXIT_EXTENDED).
    std::optional<int> handle(ArmCore& core);
    /// errno of the first write to the console that failed (0: none).
    int console_error() const { return console_error_; }

private:
    enum class Stream { Closed, In, Out, Err };
    bool read_u32(const ArmCore& core, uint32_t va, uint32_t& out) const;
    VirtualClock& clock_;
    FILE* console_;
    int console_error_ = 0;
    /// Notes a failed console write's errno (the first one).
    void note(bool ok) {
        if (!ok && !console_error_)
            console_error_ = errno ? errno : EIO;
    }
    std::vector<Stream> handles_{Stream::Closed}; // handle 0 is never given out
};

} // namespace piemu
