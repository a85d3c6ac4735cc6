#ifndef CLIBFUZZER_H
#define CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, in the runtime that -sanitize=fuzzer links (compiler-rt's FuzzerDriver.cpp). SwiftPM names an
// executable's entry point <module>_main and links main to it, so the targets cannot take libFuzzer's own main:
// each main.swift hands its LLVMFuzzerTestOneInput to the driver instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
