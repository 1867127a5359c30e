/*
 * sd_exercise.h - the card test the sdhci and sdhost images share: initialise the
 * card, print CID/CSD fields both QEMU's and piemu's cards agree on, write blocks
 * with CMD24 and CMD25, read them back with CMD17 and CMD18, print a transcript.
 */
#ifndef PIEMU_FW_SD_EXERCISE_H
#define PIEMU_FW_SD_EXERCISE_H

#include "sd_hosts.h"

/// Runs the test on `host`; returns 0 when every step passed.
int sd_exercise(const struct sd_host* host);

#endif /* PIEMU_FW_SD_EXERCISE_H */
