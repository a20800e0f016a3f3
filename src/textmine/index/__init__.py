"""index: the two search indexes over passages. vectors.py keeps a FAISS index of
passage embeddings under --home; lexical.py turns Swedish text into the terms that the
store's FTS5 table ranks with BM25."""
