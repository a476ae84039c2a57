"""The report: values computed from the model, templates, Markdown, document regions."""
