"""`python -m bench` (or `make bench`) runs every benchmark."""

from bench import local_attention, mha, relative_logits, sequence_layers, throughput, transformer_toy

for benchmark in (mha, throughput, local_attention, relative_logits, sequence_layers, transformer_toy):
    benchmark.main()
    print()
