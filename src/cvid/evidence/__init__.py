"""Evidence records: the model, canonical bytes and signatures, keys, and the ledger."""
