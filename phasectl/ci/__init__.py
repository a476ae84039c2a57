"""CI integrations: GitHub Actions (step summary, outputs, annotations, the pull-request
comment) and GitLab CI (the merge-request note), over one small REST client.

``comment`` writes the body both forges post; ``thread`` finds phasectl's earlier comment
by its marker and edits it in place; ``rest`` is the only module that talks HTTP.
"""
