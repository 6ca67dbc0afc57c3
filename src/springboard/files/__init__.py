"""Uploaded files (the OpenAI Files API's store): `service` keeps them, `checks` says what
each purpose's file must hold."""
