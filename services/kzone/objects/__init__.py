"""The filesystem backend's presigned GET URLs, served by K-Zone itself."""
