"""HTML/Markdown reports assembled from results and figures."""
