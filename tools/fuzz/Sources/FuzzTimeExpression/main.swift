import FuzzSupport

runFuzzer(fuzzTimeExpression)
