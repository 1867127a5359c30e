/*
 * semihost.c - ARM semihosting calls (see semihost.h).
 */
#include "semihost.h"

#include <stddef.h>

uint32_t semihost_call(uint32_t op, uint32_t param)
{
    register uint32_t r0 __asm__("r0") = op;
    register uint32_t r1 __asm__("r1") = param;
    /* The SVC clobbers LR_svc and SPSR_svc if a real SVC is taken (no semihosting
     * host); the emulators trap it without touching either. "memory": the host
     * reads parameter blocks and buffers. */
    __asm__ volatile("svc %[imm]"
                     : "+r"(r0)
                     : "r"(r1), [imm] "i"(SEMIHOST_SVC_ARM)
                     : "memory", "lr", "cc");
    return r0;
}

void semihost_writec(char c)
{
    semihost_call(SYS_WRITEC, (uint32_t)(uintptr_t)&c);
}

void semihost_write0(const char *s)
{
    semihost_call(SYS_WRITE0, (uint32_t)(uintptr_t)s);
}

uint32_t semihost_write(uint32_t handle, const void *buf, uint32_t len)
{
    volatile uint32_t block[3] = {handle, (uint32_t)(uintptr_t)buf, len};
    return semihost_call(SYS_WRITE, (uint32_t)(uintptr_t)block);
}

static uint32_t cstrlen(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

int32_t semihost_open(const char *name, uint32_t mode)
{
    volatile uint32_t block[3] = {(uint32_t)(uintptr_t)name, mode, cstrlen(name)};
    return (int32_t)semihost_call(SYS_OPEN, (uint32_t)(uintptr_t)block);
}

int32_t semihost_clock(void)
{
    return (int32_t)semihost_call(SYS_CLOCK, 0);
}

int32_t semihost_time(void)
{
    return (int32_t)semihost_call(SYS_TIME, 0);
}

void semihost_exit(void)
{
    semihost_call(SYS_EXIT, ADP_Stopped_ApplicationExit);
    for (;;)
        __asm__ volatile("wfi");
}

void semihost_exit_extended(uint32_t reason, uint32_t subcode)
{
    volatile uint32_t block[2] = {reason, subcode};
    semihost_call(SYS_EXIT_EXTENDED, (uint32_t)(uintptr_t)block);
    for (;;)
        __asm__ volatile("wfi");
}
