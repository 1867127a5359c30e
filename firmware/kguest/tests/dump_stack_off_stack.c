/*
 * dump_stack() from a frame outside the task's stack: the model's backtrace ends at
 * the first frame outside it, so the report has its header and no frames (ARM's
 * unwind_frame() stops where the frame pointer leaves the THREAD_SIZE block it
 * started in). Calls nested deeper than the stack holds, each making a report, once
 * listed every level at every report (113 MB of log in one fuzzer's run). Then
 * dump_stack() from init's own stack, whose report lists its frames.
 */
#include "piemu/kernel.h"

static unsigned char other_stack[512] __attribute__((aligned(8)));

static void dump_stack_on_other_stack(void) {
    register long r7 __asm__("r7") = __NR_dump_stack;
    /* svc from SVC mode: the gate sees the sp of the call, here other_stack's top. */
    __asm__ volatile("mov r6, sp\n\t"
                     "mov sp, %[top]\n\t"
                     "svc #0\n\t"
                     "mov sp, r6"
                     :
                     : [top] "r"(other_stack + sizeof other_stack), "r"(r7)
                     : "r0", "r1", "r2", "r3", "r6", "r12", "lr", "memory", "cc");
}

int init(void) {
    printk(KERN_INFO "dump_stack() on a stack that is not init's:\n");
    dump_stack_on_other_stack();
    printk(KERN_INFO "dump_stack() on init's stack:\n");
    dump_stack();
    return 0;
}
