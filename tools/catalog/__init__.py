"""The product catalog: product text, embeddings, vector and lexical indexes, search."""
