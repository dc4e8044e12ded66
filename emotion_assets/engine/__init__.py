"""The emotion engine: emotion2vec+ frame scores for recordings of any length (no Dagster).

Import from the submodule that defines a name (`engine.core.EmotionEngine`,
`engine.config.EngineConfig`, ...): this package imports nothing, so loading the code location
(webserver, daemon, every worker) does not pay for torch, which only the model step needs.
"""
