"""Model registry and predictions arrive with the mlcore issues. mlcore never imports patients."""
