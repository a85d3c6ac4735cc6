import FuzzSupport

runFuzzer(fuzzJSONMembers)
