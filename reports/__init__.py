"""HTML report templates and assets (rendered from the result model)."""
