import FuzzSupport

runFuzzer(fuzzRecordForm)
