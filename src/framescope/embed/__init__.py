"""Embed: sentences -> vectors.

- `encoders`  the embedding backends (MiniLM, wordllama, TF-IDF, a local model folder), with
              pinned weights hashes and lazy model loading;
- `cache`     the on-disk embedding cache (vectors keyed by model and text);
- `vectors`   the sentences' in-context vectors (the text sent to the encoder, context mixing).
"""
