/*
 * bench_compute - the CPU-bound workload of piemu's foundation benchmark
 * (tools/bench/run, docs/performance.md). Not a test: nothing times it in ctest.
 *
 * Each round fills a buffer from a xorshift PRNG seeded by the round number, then
 *   - CRC-32 (table driven, reflected, poly 0xEDB88320) over the buffer,
 *   - insertion sort of 256 words and heap sort of 1024 words,
 *   - a 24x24 integer matrix multiply (C = A * B, A and B taken from the buffer
 *     words 0-575 and 448-1023),
 * and folds every result into one running checksum. BENCH_ROUNDS rounds in all,
 * chosen so that piemu needs a few seconds of wall time on the project's machine.
 * No interrupts, no MMU, no caches touched: pure integer and memory work.
 *
 * Prints the checksum on the PL011 and returns 0 (semihosting SYS_EXIT via start.S),
 * so piemu, QEMU and tools/bench/raw_unicorn all stop at the same place: _exit.
 *
 * With BENCH_TICK_HZ defined (image bench_compute_timer), the virtual generic timer (CNTV,
 * local source bit 3 to core 0's IRQ) interrupts the same work BENCH_TICK_HZ times
 * per second of the emulator's counter: the handler only re-arms TVAL and counts.
 * The count depends on the emulator's time base (piemu's 900 MHz instruction clock,
 * QEMU's host or icount clock), so it is printed on a line starting with '#', which
 * tools/bench/run leaves out of the piemu/QEMU comparison; the checksum does not
 * depend on it. The virtual timer, not CNTP: raw Unicorn traps PL1 CNTP accesses
 * (CNTHCTL = 0) but runs CNTV ones (no interrupt ever comes, the tick count is 0).
 */
#include <stdint.h>

#include "uart.h"
#ifdef BENCH_TICK_HZ
#include "irq.h"

static volatile uint32_t ticks;
static uint32_t tick_period; /* counter ticks: CNTFRQ / BENCH_TICK_HZ */

static void on_tick(uint32_t spsr)
{
    (void)spsr;
    write_cntv_tval(tick_period);
    ticks++;
}

static void tick_start(void)
{
    irq_init("bench_compute_timer", on_tick, 0);
    tick_period = read_cntfrq() / BENCH_TICK_HZ;
    local_wr(LOCAL_TIMER_INT(0), LSRC_CNTV);
    write_cntv_tval(tick_period);
    write_cntv_ctl(CNT_CTL_ENABLE);
    irq_unmask();
}

static void tick_stop(void)
{
    irq_mask();
    write_cntv_ctl(0);
    local_wr(LOCAL_TIMER_INT(0), 0);
}
#endif

#ifndef BENCH_ROUNDS
#define BENCH_ROUNDS 3000
#endif

#define BUF_WORDS 1024
#define ISORT_WORDS 256
#define MAT_N 24

static uint32_t buf[BUF_WORDS];
static uint32_t work[BUF_WORDS];
static uint32_t crc_table[256];
static int32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

static void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, uint32_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

static void fill(uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 0x9E3779B9u;
    if (x == 0)
        x = 1;
    for (int i = 0; i < BUF_WORDS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = x;
    }
}

static void insertion_sort(uint32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void sift_down(uint32_t *a, int root, int n)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        uint32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heap_sort(uint32_t *a, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static uint32_t matmul(void)
{
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = (int32_t)(buf[i * MAT_N + j] & 0xFFFFu) - 0x8000;
            mat_b[i][j] = (int32_t)(buf[448 + i * MAT_N + j] >> 16) - 0x8000;
        }
    uint32_t sum = 0;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            int32_t acc = 0;
            for (int k = 0; k < MAT_N; k++)
                acc += mat_a[i][k] * mat_b[k][j];
            mat_c[i][j] = acc;
            sum = sum * 31u + (uint32_t)acc;
        }
    return sum;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u; /* FNV-1a prime */
    return h ^ (h >> 15);
}

int main(void)
{
    uint32_t check = 0x811C9DC5u;
    uint32_t crc_x = 0, isort_x = 0, hsort_x = 0, mat_x = 0;

#ifdef BENCH_TICK_HZ
    tick_start();
#endif
    crc32_init();
    for (uint32_t round = 0; round < BENCH_ROUNDS; round++) {
        fill(round);

        uint32_t crc = crc32((const uint8_t *)buf, sizeof buf);
        crc_x ^= crc;
        check = mix(check, crc);

        for (int i = 0; i < ISORT_WORDS; i++)
            work[i] = buf[(i * 7) & (BUF_WORDS - 1)];
        insertion_sort(work, ISORT_WORDS);
        uint32_t s = work[0] ^ work[ISORT_WORDS / 2] ^ work[ISORT_WORDS - 1];
        isort_x ^= s;
        check = mix(check, s);

        for (int i = 0; i < BUF_WORDS; i++)
            work[i] = buf[i];
        heap_sort(work, BUF_WORDS);
        s = work[1] ^ work[BUF_WORDS / 3] ^ work[BUF_WORDS - 2];
        hsort_x ^= s;
        check = mix(check, s);

        s = matmul();
        mat_x ^= s;
        check = mix(check, s);
    }
#ifdef BENCH_TICK_HZ
    tick_stop();
#endif

    uart_printf("bench_compute: %u rounds\n", (uint32_t)BENCH_ROUNDS);
    uart_printf("crc 0x%08x isort 0x%08x hsort 0x%08x matmul 0x%08x\n", crc_x, isort_x,
                hsort_x, mat_x);
    uart_printf("checksum 0x%08x\n", check);
#ifdef BENCH_TICK_HZ
    uart_printf("# timer interrupts %u (%u Hz of the emulator's counter)\n", ticks,
                (uint32_t)BENCH_TICK_HZ);
#endif
    return 0;
}
