"""`python -m bench` (or `make bench`) runs every benchmark."""

from bench import local_attention, mha, relative_logits

for benchmark in (mha, local_attention, relative_logits):
    benchmark.main()
    print()
