"""The learned offline back-end: per-item classifiers over static MiniLM sentence embeddings,
the pattern back-end's answers and request-aware cues, trained on the gold set's train and dev
splits and shipped as a pinned, carded scorer version (`learned-1`).

- `embeddings`: the distilled sentence-embedding table; `features`: what is read in a conversation
- `model`: a scorer version on disk; `versions`: where versions live and how a name finds one
- `train`, `build`: fitting a version and its validity card; `backend`: applying it to a reply
"""
