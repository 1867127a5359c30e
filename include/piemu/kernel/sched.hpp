// Task states of Linux 4.14 (include/linux/sched.h): the kernel model's tasks and the
// trace's sched_switch use the same values.
#pragma once

#include <cstdint>

namespace piemu::kernel {

inline constexpr std::uint32_t TASK_RUNNING = 0x0000;
inline constexpr std::uint32_t TASK_INTERRUPTIBLE = 0x0001;
inline constexpr std::uint32_t TASK_UNINTERRUPTIBLE = 0x0002;
// Used in tsk->exit_state:
inline constexpr std::uint32_t EXIT_DEAD = 0x0010;
inline constexpr std::uint32_t EXIT_ZOMBIE = 0x0020;
// Used in tsk->state again:
inline constexpr std::uint32_t TASK_PARKED = 0x0040;
inline constexpr std::uint32_t TASK_DEAD = 0x0080; ///< 4.14's value
inline constexpr std::uint32_t TASK_NOLOAD = 0x0400;
inline constexpr std::uint32_t TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD;

} // namespace piemu::kernel
