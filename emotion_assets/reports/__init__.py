"""Pictures and reports of one day's emotion time series (pure: no Dagster).

Per recording/track: a curves PNG, a heat-map PNG and an interactive offline HTML report under
data/reports/<date>/, plus an index page per day and a helper that embeds a PNG in Markdown.
Import from the submodule that defines a name: this package imports nothing, so loading the
code location does not pay for matplotlib, which only the report step needs.
"""
