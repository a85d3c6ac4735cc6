import FuzzSupport

runFuzzer(fuzzEnvelope)
