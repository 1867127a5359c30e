/*
 * semihost.h - ARM semihosting (AArch32) for piemu's bare-metal test images.
 *
 * Reference: ARM "Semihosting for AArch32 and AArch64", version 2.0.
 * A call is `svc 0x123456` in ARM state with r0 = operation, r1 = parameter (a value
 * or the address of a parameter block); the result comes back in r0. Under QEMU
 * (`-semihosting`) and piemu the call is trapped by the emulator; the SVC vector is
 * never entered. Only call these from a privileged mode: from USR mode QEMU takes
 * the SVC as an ordinary exception unless `-semihosting-config userspace=on`.
 *
 * This header is included from assembly too (start.S), hence the guard below.
 */
#ifndef PIEMU_FW_SEMIHOST_H
#define PIEMU_FW_SEMIHOST_H

#define SEMIHOST_SVC_ARM 0x123456      /* SVC immediate in ARM state */

/* Operation numbers (r0). */
#define SYS_OPEN          0x01
#define SYS_WRITEC        0x03
#define SYS_WRITE0        0x04
#define SYS_WRITE         0x05
#define SYS_CLOCK         0x10
#define SYS_TIME          0x11
#define SYS_ERRNO         0x13
#define SYS_EXIT          0x18
#define SYS_EXIT_EXTENDED 0x20

/* Reason codes for SYS_EXIT / SYS_EXIT_EXTENDED. */
#define ADP_Stopped_ApplicationExit 0x20026
#define ADP_Stopped_RunTimeErrorUnknown 0x20023

#ifndef __ASSEMBLER__
#include <stdint.h>

/// Raw call: r0 = op, r1 = param; returns r0.
uint32_t semihost_call(uint32_t op, uint32_t param);

/// SYS_WRITEC: write one character to the debug console.
void semihost_writec(char c);

/// SYS_WRITE0: write a NUL-terminated string to the debug console.
void semihost_write0(const char *s);

/// SYS_WRITE: write len bytes to an open handle; returns the number of bytes NOT
/// written (0 on success).
uint32_t semihost_write(uint32_t handle, const void *buf, uint32_t len);

/// SYS_OPEN: open a host file; ":tt" is the debug console. mode is the ARM
/// semihosting mode number (0 = "r", 4 = "w", 8 = "a"). Returns a handle or -1.
int32_t semihost_open(const char *name, uint32_t mode);

/// SYS_CLOCK: centiseconds since the program started, or -1.
int32_t semihost_clock(void);

/// SYS_TIME: seconds since 1970-01-01, or -1.
int32_t semihost_time(void);

/// SYS_EXIT with ADP_Stopped_ApplicationExit (exit status 0 under QEMU).
__attribute__((noreturn)) void semihost_exit(void);

/// SYS_EXIT_EXTENDED: { reason, subcode }; with reason ADP_Stopped_ApplicationExit
/// the subcode becomes the emulator's process exit status.
__attribute__((noreturn)) void semihost_exit_extended(uint32_t reason, uint32_t subcode);

#endif /* __ASSEMBLER__ */
#endif /* PIEMU_FW_SEMIHOST_H */
