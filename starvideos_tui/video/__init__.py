"""The video path: one GET to a host, the .part, verification, publishing, previews."""
