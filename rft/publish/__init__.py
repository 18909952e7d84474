"""`rft publish`: dataset versions and adapters to the Hugging Face Hub, with provenance cards and
version tags. `dataset` and `adapter` build the folder that is uploaded, `card` the dataset card,
`licenses` the problem sources' licenses, `scan` the refusal of anything that looks like a key,
`hub` every call to the Hub, `run` the two publishes."""
