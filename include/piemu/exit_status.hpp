// Exit statuses of the piemu command (documented in README.md and `piemu --help`).
#pragma once

namespace piemu {

/// What `piemu run` returns. A guest's own semihosting exit code (0-255) is passed
/// through unchanged; the values below are piemu's own outcomes. A guest may of
/// course exit with one of these numbers itself: the run's last stderr line tells.
enum ExitStatus : int {
    kExitOk = 0,
    kExitBadInput = 2,             ///< command line, image, DTB or other input rejected
    kExitInternal = 70,            ///< a piemu bug (EX_SOFTWARE); please report it
    kExitOutputError = 74,         ///< an output file could not be written (EX_IOERR)
    kExitHostTimeout = 121,        ///< --timeout (host time) expired; outputs are complete
    kExitKernelPanic = 122,        ///< the kernel model panicked (Oops in a guest, bad state)
    kExitInsnLimit = 124,          ///< --max-insns reached (as timeout(1) uses 124)
    kExitGuestHang = 123,          ///< the guest waits (WFI/WFE) for an event that cannot come
    kExitUndeliverableFault = 125, ///< the guest faulted in a way no vector can take
    kExitHostSignal = 130,         ///< SIGINT/SIGTERM/SIGHUP ended the run (128 + SIGINT)
    kExitDebuggerKill = 137,       ///< gdb's `kill` ended the run (128 + SIGKILL)
};

} // namespace piemu
