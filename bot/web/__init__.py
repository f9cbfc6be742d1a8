"""The aiohttp application: health, webhooks, agent pages and the API."""
