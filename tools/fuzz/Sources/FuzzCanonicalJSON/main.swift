import FuzzSupport

runFuzzer(fuzzCanonicalJSON)
