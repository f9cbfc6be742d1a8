"""Channel adapters, one per platform: they turn platform traffic into InboundMessage."""
