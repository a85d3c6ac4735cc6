import FuzzSupport

runFuzzer(fuzzJSONParser)
