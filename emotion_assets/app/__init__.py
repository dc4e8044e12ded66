"""The web page for one recording (`emotion-assets serve`, `make app`): see docs/app.md.

runner.py is the pure core (an upload and options in; the outputs folder, tables, figure, log
lines and progress out), warehouse_drop.py copies a recording into raw/<date>/, transcript_lane.py
reads a transcript, sessions.py says whose each served file is; server.py is the thin Gradio
shell. Only server.py imports Gradio.
"""
