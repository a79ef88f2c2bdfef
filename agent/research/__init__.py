"""Research: the sources a run may read (the bundled library, the reader's own documents, the
web), and how the app judges whether they cover the topic and support the article."""
