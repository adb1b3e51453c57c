"""Online log template mining: masking, the miner, the persisted store and the pipeline hook."""
