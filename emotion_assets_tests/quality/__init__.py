"""Tests of emotion_assets.quality (pure checks and the GX adapter)."""
