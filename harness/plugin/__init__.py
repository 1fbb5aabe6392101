"""The pytest plugin's parts: the settings a session is built from, and the session its hooks delegate to."""
