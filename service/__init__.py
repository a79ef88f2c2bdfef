"""The service layer: one turn of a session with its trace record, sessions, background runs,
and the model built for a provider. It sits on the agent and tracing, below the API, the CLI
and the evaluations."""
