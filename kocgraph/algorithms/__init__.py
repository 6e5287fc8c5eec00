"""Pure kernels: arrays and scipy.sparse in, arrays out. No ShareGraph, no pandas objects in signatures."""
