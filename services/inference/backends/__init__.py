"""Model backends. Each is plain synchronous code run in its model's thread pool (see gate.py);
GPU-only libraries (vLLM, CUDA builds) are imported only when a GPU backend is chosen."""
