/*
 * bench_km_boot - a tiny guest that only boots the kernel model and returns: the
 * start-up cost tools/bench/run subtracts from the kernel-model workloads (as it
 * subtracts hello.elf's from the bare ones). Not a test.
 */
#include "piemu/kernel.h"

int init(void) {
    return 0;
}
