import FuzzSupport

runFuzzer(fuzzSignedNote)
