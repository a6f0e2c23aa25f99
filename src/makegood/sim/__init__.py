"""The synthetic world with known ground truth (:mod:`.world`) and its true outcomes for any
resolution (:mod:`.truth`): the demo's data, the benchmarks' worlds and the tests' fixtures."""
